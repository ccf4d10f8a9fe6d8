"""Writing audit events, always in the same transaction as the change they describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit import repository
from console.audit.models import AuditEvent
from console.audit.schemas import AuditEvent as AuditEventOut
from console.audit.schemas import AuditFilters, AuditPage
from console.identity.principal import Principal
from console.kit.pagination import cut_page, decode_cursor
from console.kit.requestctx import current_request_id
from console.tenancy.context import TenantContext


def record_event(
    db: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    actor: Principal | None,
    action: str,
    target_type: str = "",
    target_id: uuid.UUID | str = "",
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        tenant_id=tenant_id,
        actor_id=actor.user_id if actor else None,
        actor_label=actor_label or (actor.label if actor else "system"),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=data or {},
        ip=ip,
        request_id=current_request_id(),
    )
    db.add(event)
    return event


def record(
    db: AsyncSession,
    ctx: TenantContext,
    action: str,
    target_type: str = "",
    target_id: uuid.UUID | str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event inside the caller's tenant."""
    return record_event(
        db,
        tenant_id=ctx.tenant_id,
        actor=ctx.principal,
        action=action,
        target_type=target_type,
        target_id=target_id,
        data=data,
        ip=ctx.ip,
    )


async def list_events(
    db: AsyncSession, ctx: TenantContext, filters: AuditFilters, *, limit: int, cursor: str | None
) -> AuditPage:
    """A page of the tenant's audit log, newest first."""
    after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    events = list(await repository.page(db, ctx, filters, limit=limit, after=after))
    events, next_cursor = cut_page(events, limit, lambda e: [e.created_at, e.id])
    return AuditPage(
        items=[AuditEventOut.model_validate(e) for e in events], next_cursor=next_cursor
    )
