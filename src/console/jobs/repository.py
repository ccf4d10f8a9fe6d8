"""Job queries: every one takes the tenant context."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from console.identity.models import User
from console.jobs.models import Job
from console.kit.pagination import keyset_after
from console.tenancy.context import TenantContext

Creator = aliased(User, name="creator")
Canceller = aliased(User, name="canceller")

JobRow = tuple[Job, User | None, User | None]  # the job, who started it, who cancelled it


def _with_actors() -> Select[Any]:
    return (
        select(Job, Creator, Canceller)
        .outerjoin(Creator, Creator.id == Job.created_by_id)
        .outerjoin(Canceller, Canceller.id == Job.cancel_requested_by_id)
    )


async def page(
    db: AsyncSession,
    ctx: TenantContext,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    after: list[Any] | None,
) -> list[JobRow]:
    """Up to limit + 1 jobs after the cursor, newest first."""
    query = _with_actors().where(Job.tenant_id == ctx.tenant_id)
    if status:
        query = query.where(Job.status == status)
    if kind:
        query = query.where(Job.kind == kind)
    if after is not None:
        query = query.where(keyset_after(Job.created_at, Job.id, True, after))
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    return [tuple(row) for row in (await db.execute(query)).all()]  # type: ignore[misc]


async def get(db: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> JobRow | None:
    row = (
        await db.execute(_with_actors().where(Job.id == job_id, Job.tenant_id == ctx.tenant_id))
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def get_plain(db: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> Job | None:
    return await db.scalar(select(Job).where(Job.id == job_id, Job.tenant_id == ctx.tenant_id))


async def cancel_queued(
    db: AsyncSession, ctx: TenantContext, job_id: uuid.UUID, *, now: datetime, message: str
) -> bool:
    """queued → cancelled, only if still queued (a worker may be claiming it right now)."""
    result = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.tenant_id == ctx.tenant_id, Job.status == "queued")
        .values(
            status="cancelled",
            finished_at=now,
            cancel_requested_at=now,
            cancel_requested_by_id=ctx.user_id,
            message=message,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def request_cancel(
    db: AsyncSession, ctx: TenantContext, job_id: uuid.UUID, *, now: datetime
) -> bool:
    """Flag a running job; its worker sees the flag and stops at its next checkpoint."""
    result = await db.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.tenant_id == ctx.tenant_id,
            Job.status == "running",
            Job.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=now, cancel_requested_by_id=ctx.user_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
