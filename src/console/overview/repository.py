"""Aggregate queries for the overview: a handful of counts, each taking the tenant context."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.jobs.models import Job
from console.projects.models import Project
from console.tenancy.context import TenantContext
from console.tenancy.models import Invitation, Membership

_projects, _jobs = Project.__table__.c, Job.__table__.c
_members, _invitations = Membership.__table__.c, Invitation.__table__.c


def _counted(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@cache
def _project_counts(weeks: int) -> Select[Any]:
    """(active, archived, total, then one count per week) in one row.

    Weeks are bounded by parameters (edge_0 < edge_1 < ... < edge_weeks): plain comparisons,
    the same SQL on SQLite and PostgreSQL, where date functions differ.
    """
    created = _projects.created_at
    edges = [bindparam(f"edge_{i}", type_=created.type) for i in range(weeks + 1)]
    per_week = [
        _counted((created >= edges[i]) & (created < edges[i + 1])).label(f"week_{i}")
        for i in range(weeks)
    ]
    return select(
        _counted(_projects.status == "active").label("active"),
        _counted(_projects.status == "archived").label("archived"),
        func.count().label("total"),
        *per_week,
    ).where(_projects.tenant_id == bindparam("tenant_id"))


async def project_counts(
    db: AsyncSession, ctx: TenantContext, edges: list[datetime]
) -> tuple[int, int, int, list[int]]:
    """(active, archived, total, projects created between consecutive `edges`)."""
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id}
    params |= {f"edge_{i}": edge for i, edge in enumerate(edges)}
    row = (await db.execute(_project_counts(len(edges) - 1), params)).one()
    active, archived, total, *weeks = (int(value) for value in row)
    return active, archived, total, weeks


async def job_counts(db: AsyncSession, ctx: TenantContext) -> dict[str, int]:
    """How many of the tenant's jobs are in each status (statuses without any are absent)."""
    rows = await db.execute(
        select(_jobs.status, func.count())
        .where(_jobs.tenant_id == ctx.tenant_id)
        .group_by(_jobs.status)
    )
    return {status: int(count) for status, count in rows.all()}


async def people_counts(db: AsyncSession, ctx: TenantContext, now: datetime) -> tuple[int, int]:
    """(members, pending invitations) in one round trip."""
    members = (
        select(func.count())
        .select_from(Membership)
        .where(_members.tenant_id == ctx.tenant_id)
        .scalar_subquery()
    )
    pending = (
        select(func.count())
        .select_from(Invitation)
        .where(
            _invitations.tenant_id == ctx.tenant_id,
            _invitations.accepted_at.is_(None),
            _invitations.revoked_at.is_(None),
            _invitations.expires_at > bindparam("now", now, type_=_invitations.expires_at.type),
        )
        .scalar_subquery()
    )
    row = (await db.execute(select(members.label("m"), pending.label("p")))).one()
    return int(row.m), int(row.p)
