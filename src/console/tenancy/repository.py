"""Queries for tenants, memberships and invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from console.db import is_postgres
from console.identity.models import IdentityProvider, User
from console.tenancy.context import TenantContext
from console.tenancy.models import Invitation, Membership, Tenant

# PostgreSQL: one round trip. The function (migrations 0002) writes the RLS settings, then reads
# the tenant and the caller's membership under them.
_ENTER_TENANT = text(
    "SELECT id, slug, name, status, role, issuer FROM console_enter_tenant(:slug, :user_id)"
)
_tenants, _memberships = Tenant.__table__, Membership.__table__
_providers = IdentityProvider.__table__
# Built once (Core, bound parameters): without RLS (SQLite) this is the whole lookup.
_TENANT_WITH_ROLE = (
    select(
        _tenants.c.id,
        _tenants.c.slug,
        _tenants.c.name,
        _tenants.c.status,
        _memberships.c.role,
        _providers.c.issuer,
    )
    .select_from(
        _tenants.outerjoin(
            _memberships,
            (_memberships.c.tenant_id == _tenants.c.id)
            & (_memberships.c.user_id == bindparam("user_id")),
        ).outerjoin(_providers, _providers.c.tenant_id == _tenants.c.id)
    )
    .where(_tenants.c.slug == bindparam("slug"))
)


async def enter_tenant(db: AsyncSession, slug: str, user_id: uuid.UUID) -> Row[Any] | None:
    """Scope the transaction to the tenant named by `slug` and return it with the user's role
    and its identity provider's issuer (None: no provider of its own).

    On PostgreSQL the RLS settings (transaction-local) are written before the tenant and the
    membership are read, in one statement, so every later query in this unit of work sees only
    this tenant's rows.
    """
    params = {"slug": slug, "user_id": user_id}
    query = _ENTER_TENANT if is_postgres(db) else _TENANT_WITH_ROLE
    return (await db.execute(query, params)).first()


async def tenants_of_user(db: AsyncSession, user_id: uuid.UUID) -> Sequence[Row[Any]]:
    """(tenant, role, provider issuer or None) for every membership of the user."""
    return (
        await db.execute(
            select(Tenant, Membership.role, IdentityProvider.issuer)
            .join(Membership, Membership.tenant_id == Tenant.id)
            .outerjoin(IdentityProvider, IdentityProvider.tenant_id == Tenant.id)
            .where(Membership.user_id == user_id)
            .order_by(Tenant.name, Tenant.id)
        )
    ).all()


async def tenant_by_slug(db: AsyncSession, slug: str) -> Tenant | None:
    return await db.scalar(select(Tenant).where(Tenant.slug == slug))


async def membership_of(
    db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID
) -> Membership | None:
    return await membership_in(db, ctx.tenant_id, user_id)


async def membership_in(
    db: AsyncSession, tenant_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    """For sign-in, which enters a tenant before there is a caller (hence no TenantContext)."""
    return await db.scalar(
        select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
    )


async def members(db: AsyncSession, ctx: TenantContext) -> Sequence[Row[Any]]:
    return (
        await db.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.tenant_id == ctx.tenant_id)
            .order_by(User.email)
        )
    ).all()


async def admin_count(db: AsyncSession, ctx: TenantContext) -> int:
    return (
        await db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.tenant_id == ctx.tenant_id, Membership.role == "admin")
        )
        or 0
    )


async def invitations(db: AsyncSession, ctx: TenantContext) -> Sequence[Invitation]:
    return (
        await db.scalars(
            select(Invitation)
            .where(Invitation.tenant_id == ctx.tenant_id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    ).all()


async def invitation(
    db: AsyncSession, ctx: TenantContext, invitation_id: uuid.UUID
) -> Invitation | None:
    return await db.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.tenant_id == ctx.tenant_id
        )
    )


async def open_invitation_for(
    db: AsyncSession, ctx: TenantContext, email: str, now: datetime
) -> Invitation | None:
    return await open_invitation_in(db, ctx.tenant_id, email, now)


async def open_invitation_in(
    db: AsyncSession, tenant_id: uuid.UUID, email: str, now: datetime
) -> Invitation | None:
    """The newest pending invitation of `email` (sign-in accepts it; hence a raw tenant id)."""
    return await db.scalar(
        select(Invitation)
        .where(
            Invitation.tenant_id == tenant_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at.desc())
        .limit(1)
    )
