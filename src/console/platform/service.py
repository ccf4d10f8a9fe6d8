"""Platform rules: create tenants with a first admin, suspend and resume them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record_event
from console.db import set_scope, utcnow
from console.identity import provider_service
from console.identity import repository as identity_repo
from console.identity.models import User
from console.identity.principal import Principal
from console.identity.signin_schemas import IdentityProviderConfig, IdentityProviderUpdate
from console.kit.crypto import SecretBox
from console.kit.errors import Conflict, NotFound
from console.platform import repository as repo
from console.platform import schemas
from console.tenancy import repository as tenancy_repo
from console.tenancy.models import Membership, Tenant
from console.tenancy.roles import Role


async def _view(db: AsyncSession, tenant: Tenant) -> schemas.PlatformTenant:
    members, projects = await repo.counts_of(db, tenant.id)
    return schemas.PlatformTenant(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,  # type: ignore[arg-type]
        suspended_reason=tenant.suspended_reason,
        created_at=tenant.created_at,
        member_count=members,
        project_count=projects,
    )


async def list_tenants(
    db: AsyncSession, *, q: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[schemas.PlatformTenant], int]:
    await set_scope(db, system=True)
    rows, total = await repo.tenants_with_counts(db, q=q, status=status, limit=limit, offset=offset)
    return [
        schemas.PlatformTenant(
            id=t.id,
            slug=t.slug,
            name=t.name,
            status=t.status,
            suspended_reason=t.suspended_reason,
            created_at=t.created_at,
            member_count=m,
            project_count=p,
        )
        for t, m, p in rows
    ], total


async def get_tenant(db: AsyncSession, tenant_id: uuid.UUID) -> schemas.PlatformTenant:
    await set_scope(db, system=True)
    tenant = await db.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    return await _view(db, tenant)


async def create_tenant(
    db: AsyncSession,
    actor: Principal | None,
    data: schemas.PlatformTenantCreate,
    ip: str | None = None,
    *,
    box: SecretBox | None = None,
    default_provider: IdentityProviderUpdate | None = None,
) -> schemas.PlatformTenant:
    """A tenant with its first admin (a user created by email if unknown) and, when given (or
    a default exists, e.g. the development provider), its identity provider."""
    await set_scope(db, system=True)
    if await tenancy_repo.tenant_by_slug(db, data.slug):
        raise Conflict(f"The slug '{data.slug}' is taken.", field="slug")
    email = str(data.admin_email).lower()
    user = await identity_repo.user_by_email(db, email)
    if user is None:
        user = User(email=email, name="")
        db.add(user)
    tenant = Tenant(slug=data.slug, name=data.name)
    db.add(tenant)
    await db.flush()
    db.add(Membership(tenant_id=tenant.id, user_id=user.id, role=Role.ADMIN.value))
    record_event(
        db,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.created",
        target_type="tenant",
        target_id=tenant.id,
        data={"slug": tenant.slug, "admin_email": email},
        ip=ip,
    )
    provider = data.identity_provider or default_provider
    if provider is not None and box is not None:
        await _set_provider(db, actor, tenant.id, box, provider, ip)
    await db.flush()
    return await _view(db, tenant)


async def set_provider(
    db: AsyncSession,
    actor: Principal | None,
    tenant_id: uuid.UUID,
    box: SecretBox,
    data: IdentityProviderUpdate,
    ip: str | None = None,
) -> IdentityProviderConfig:
    """Operators set a tenant's provider (a new tenant, or admins locked out of theirs)."""
    await set_scope(db, system=True)
    if await db.get(Tenant, tenant_id) is None:
        raise NotFound("No such tenant.")
    return await _set_provider(db, actor, tenant_id, box, data, ip)


async def _set_provider(
    db: AsyncSession,
    actor: Principal | None,
    tenant_id: uuid.UUID,
    box: SecretBox,
    data: IdentityProviderUpdate,
    ip: str | None,
) -> IdentityProviderConfig:
    row, audit = await provider_service.apply_update(db, tenant_id, box, data)
    record_event(
        db,
        tenant_id=tenant_id,
        actor=actor,
        action="identity_provider.updated",
        target_type="identity_provider",
        target_id=row.id,
        data=audit,
        ip=ip,
    )
    return provider_service.view(row)


async def set_suspended(
    db: AsyncSession,
    actor: Principal | None,
    tenant_id: uuid.UUID,
    suspended: bool,
    reason: str = "",
    ip: str | None = None,
) -> schemas.PlatformTenant:
    await set_scope(db, system=True)
    tenant = await db.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    wanted = "suspended" if suspended else "active"
    if tenant.status != wanted:
        tenant.status = wanted
        tenant.suspended_at = utcnow() if suspended else None
        tenant.suspended_reason = (reason or None) if suspended else None
        record_event(
            db,
            tenant_id=tenant.id,
            actor=actor,
            action="tenant.suspended" if suspended else "tenant.resumed",
            target_type="tenant",
            target_id=tenant.id,
            data={"reason": reason} if suspended else {},
            ip=ip,
        )
        await db.flush()
    return await _view(db, tenant)
