"""Audit queries: newest first, keyset-paginated, filtered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.models import AuditEvent
from console.audit.schemas import AuditFilters
from console.kit.pagination import keyset_after
from console.tenancy.context import TenantContext


async def page(
    db: AsyncSession,
    ctx: TenantContext,
    filters: AuditFilters,
    *,
    limit: int,
    after: list[Any] | None,
) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.tenant_id == ctx.tenant_id)
    if filters.actor_id:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if action := filters.action:
        # "project." matches every project action; anything else is exact.
        stmt = stmt.where(
            AuditEvent.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if filters.target_type:
        stmt = stmt.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        stmt = stmt.where(AuditEvent.target_id == filters.target_id)
    if filters.since:
        stmt = stmt.where(AuditEvent.created_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.created_at < filters.until)
    if after:
        stmt = stmt.where(keyset_after(AuditEvent.created_at, AuditEvent.id, True, after))
    stmt = stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    return (await db.scalars(stmt)).all()
