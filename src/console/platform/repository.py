"""Cross-tenant queries for operators (system scope)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.projects.models import Project
from console.tenancy.models import Membership, Tenant


async def tenants_with_counts(
    db: AsyncSession, *, q: str | None, status: str | None, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    members = select(func.count()).where(Membership.tenant_id == Tenant.id).scalar_subquery()
    projects = select(func.count()).where(Project.tenant_id == Tenant.id).scalar_subquery()
    where = []
    if q:
        pattern = f"%{q}%"
        where.append(or_(Tenant.slug.ilike(pattern), Tenant.name.ilike(pattern)))
    if status:
        where.append(Tenant.status == status)
    rows = (
        await db.execute(
            select(Tenant, members.label("member_count"), projects.label("project_count"))
            .where(*where)
            .order_by(Tenant.slug)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    total = await db.scalar(select(func.count()).select_from(Tenant).where(*where)) or 0
    return rows, total


async def counts_of(db: AsyncSession, tenant_id: uuid.UUID) -> tuple[int, int]:
    members = await db.scalar(
        select(func.count()).select_from(Membership).where(Membership.tenant_id == tenant_id)
    )
    projects = await db.scalar(
        select(func.count()).select_from(Project).where(Project.tenant_id == tenant_id)
    )
    return members or 0, projects or 0
