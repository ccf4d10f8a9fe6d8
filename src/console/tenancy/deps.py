"""The one tenant chokepoint: URL tenant + caller → TenantContext (and RLS scope)."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Path, Request

from console.deps import DbSession
from console.identity.deps import CurrentUser
from console.kit.errors import Forbidden, NotFound, SignInRequired, TenantSuspended
from console.tenancy import repository as repo
from console.tenancy.context import TenantContext
from console.tenancy.roles import Role
from console.tenancy.schemas import SLUG_PATTERN

TenantSlug = Annotated[
    str, Path(description="The tenant's slug.", pattern=SLUG_PATTERN, max_length=63)
]


async def tenant_scope(
    tenant: TenantSlug, request: Request, principal: CurrentUser, db: DbSession
) -> TenantContext:
    """Resolve the URL's tenant for the caller; non-members (operators too) get a 404."""
    row = await repo.enter_tenant(db, tenant, principal.user_id)
    missing = NotFound(f"No tenant '{tenant}' that you belong to.")
    if row is None or row.role is None:
        raise missing
    role = Role(row.role)
    if principal.via == "token":
        if principal.token_tenant_id != row.id or principal.token_role is None:
            raise missing
        role = Role.lowest(role, principal.token_role)
    if row.status == "suspended":
        raise TenantSuspended(
            f"Tenant '{row.slug}' is suspended; its data cannot be used until a platform "
            "operator resumes it."
        )
    if not principal.opens(row.issuer):
        raise SignInRequired(
            f"{row.name} signs its users in through its own provider; sign in there.",
            tenant=row.slug,
        )
    structlog.contextvars.bind_contextvars(tenant=row.slug)
    return TenantContext(
        tenant_id=row.id,
        tenant_slug=row.slug,
        tenant_name=row.name,
        role=role,
        principal=principal,
        ip=request.client.host if request.client else None,
    )


def _requiring(role: Role):
    async def require(ctx: Annotated[TenantContext, Depends(tenant_scope)]) -> TenantContext:
        if not ctx.role.allows(role):
            raise Forbidden(f"This needs the {role.value} role; yours is {ctx.role.value}.")
        return ctx

    return require


TenantViewer = Annotated[TenantContext, Depends(tenant_scope)]
TenantMember = Annotated[TenantContext, Depends(_requiring(Role.MEMBER))]
TenantAdmin = Annotated[TenantContext, Depends(_requiring(Role.ADMIN))]
