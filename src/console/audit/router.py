"""The audit log (admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from console.audit import service
from console.audit.schemas import AuditFilters, AuditPage
from console.deps import DbSession
from console.kit.inputs import Text, UTCDateTime
from console.tenancy.deps import TenantAdmin

router = APIRouter(tags=["audit"])


def audit_filters(
    actor_id: uuid.UUID | None = None,
    action: Annotated[
        Text | None, Query(max_length=64, description='Exact, or a prefix ending in "."')
    ] = None,
    target_type: Annotated[Text | None, Query(max_length=32)] = None,
    target_id: Annotated[Text | None, Query(max_length=64)] = None,
    since: UTCDateTime | None = None,
    until: UTCDateTime | None = None,
) -> AuditFilters:
    return AuditFilters(actor_id, action, target_type, target_id, since, until)


@router.get("/tenants/{tenant}/audit", response_model=AuditPage)
async def list_audit_events(
    ctx: TenantAdmin,
    db: DbSession,
    filters: Annotated[AuditFilters, Depends(audit_filters)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AuditPage:
    """Who did what in this tenant, newest first."""
    return await service.list_events(db, ctx, filters, limit=limit, cursor=cursor)
