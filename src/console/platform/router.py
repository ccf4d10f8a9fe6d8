"""Operator routes: every tenant, with counts; create, suspend, resume."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from console.deps import DbSession
from console.identity import providers
from console.identity.deps import PlatformOperator
from console.identity.signin_schemas import IdentityProviderConfig, IdentityProviderUpdate
from console.kit.inputs import Text
from console.platform import health, schemas, service

router = APIRouter(prefix="/platform", tags=["platform"])


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/tenants", response_model=list[schemas.PlatformTenant])
async def list_tenants(
    operator: PlatformOperator,
    db: DbSession,
    response: Response,
    q: Annotated[Text | None, Query(max_length=100)] = None,
    status_: Annotated[Literal["active", "suspended"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[schemas.PlatformTenant]:
    """All tenants with member and project counts (total in X-Total-Count)."""
    tenants, total = await service.list_tenants(db, q=q, status=status_, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return tenants


@router.post("/tenants", response_model=schemas.PlatformTenant, status_code=status.HTTP_201_CREATED)
async def create_tenant(
    body: schemas.PlatformTenantCreate, request: Request, operator: PlatformOperator, db: DbSession
) -> schemas.PlatformTenant:
    """Create a tenant with its first admin and (optionally) its identity provider."""
    settings = request.app.state.settings
    return await service.create_tenant(
        db,
        operator,
        body,
        ip=_ip(request),
        box=request.app.state.signin_deps.box,
        default_provider=providers.default_tenant_provider(settings),
    )


@router.get("/health", response_model=schemas.PlatformHealth)
async def platform_health(
    request: Request, operator: PlatformOperator, db: DbSession
) -> schemas.PlatformHealth:
    """Database, broker, workers (who answered a ping), queue depth and this process's
    dashboard sessions. A failing part is reported (status "degraded"), not raised."""
    state = request.app.state
    return await health.platform_health(db, state.db, state.settings)


@router.get("/tenants/{tenant_id}", response_model=schemas.PlatformTenant)
async def get_tenant(
    tenant_id: uuid.UUID, operator: PlatformOperator, db: DbSession
) -> schemas.PlatformTenant:
    return await service.get_tenant(db, tenant_id)


@router.post("/tenants/{tenant_id}/suspend", response_model=schemas.PlatformTenant)
async def suspend_tenant(
    tenant_id: uuid.UUID,
    request: Request,
    operator: PlatformOperator,
    db: DbSession,
    body: schemas.SuspendRequest | None = None,
) -> schemas.PlatformTenant:
    """Suspend a tenant: its API answers 403 until resumed."""
    reason = body.reason if body else ""
    return await service.set_suspended(db, operator, tenant_id, True, reason, ip=_ip(request))


@router.put("/tenants/{tenant_id}/identity-provider", response_model=IdentityProviderConfig)
async def set_tenant_identity_provider(
    tenant_id: uuid.UUID,
    body: IdentityProviderUpdate,
    request: Request,
    operator: PlatformOperator,
    db: DbSession,
) -> IdentityProviderConfig:
    """Set how a tenant's users sign in (a new tenant, or admins locked out of theirs)."""
    return await service.set_provider(
        db, operator, tenant_id, request.app.state.signin_deps.box, body, ip=_ip(request)
    )


@router.post("/tenants/{tenant_id}/resume", response_model=schemas.PlatformTenant)
async def resume_tenant(
    tenant_id: uuid.UUID, request: Request, operator: PlatformOperator, db: DbSession
) -> schemas.PlatformTenant:
    return await service.set_suspended(db, operator, tenant_id, False, ip=_ip(request))
