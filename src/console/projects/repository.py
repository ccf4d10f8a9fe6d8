"""Project queries: every one takes the tenant context."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.kit.pagination import bounded_count, keyset_after
from console.projects.models import Project
from console.projects.schemas import ProjectSort
from console.tenancy.context import TenantContext

# The list reads table columns (Core), not ORM attributes: no entity loading on the hot path.
_c = Project.__table__.c
_SORT_COLUMNS = {
    "name": (_c.name, str),
    "key": (_c.key, str),
    "created_at": (_c.created_at, datetime),
    "updated_at": (_c.updated_at, datetime),
}
COLUMNS = (
    _c.id,
    _c.key,
    _c.name,
    _c.description,
    _c.status,
    _c.created_by_id,
    _c.created_at,
    _c.updated_at,
    _c.version,
)
FIELDS = tuple(column.key for column in COLUMNS)


def sort_spec(sort: ProjectSort) -> tuple[Any, type, bool]:
    """(column, python type of its values, descending)."""
    name = sort.value.lstrip("-")
    column, kind = _SORT_COLUMNS[name]
    return column, kind, sort.value.startswith("-")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(search: bool, status: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [_c.tenant_id == bindparam("tenant_id")]
    if status:
        where.append(_c.status == bindparam("status"))
    if search:
        pattern = bindparam("pattern")
        where.append(or_(_c.name.ilike(pattern, escape="\\"), _c.key.ilike(pattern, escape="\\")))
    return where


@cache
def _statements(
    sort: ProjectSort, search: bool, status: bool, after: bool
) -> tuple[Select[Any], Select[Any]]:
    """(page with its bounded total, the bounded count alone) for one shape of list request.

    Built once per shape with bound parameters, so a request only binds values: no statement
    construction or cache-key computation per call.
    """
    where = _filters(search, status)
    column, _, descending = sort_spec(sort)
    count = bounded_count(select(_c.id).where(*where), bindparam("count_limit", type_=Integer))
    page = select(*COLUMNS, count.scalar_subquery().label("total")).where(*where)
    if after:
        cursor = [
            bindparam("after_sort", type_=column.type),
            bindparam("after_id", type_=_c.id.type),
        ]
        page = page.where(keyset_after(column, _c.id, descending, cursor))
    order = (column.desc(), _c.id.desc()) if descending else (column.asc(), _c.id.asc())
    page = page.order_by(*order).limit(bindparam("limit", type_=Integer))
    return page, count


async def page(
    db: AsyncSession,
    ctx: TenantContext,
    *,
    q: str | None,
    status: str | None,
    sort: ProjectSort,
    limit: int,
    after: list[Any] | None,
    count_bound: int,
) -> tuple[list[dict[str, Any]], int]:
    """Up to limit + 1 rows (as dicts of FIELDS) after the cursor, and the bounded total, in one
    round trip."""
    page_stmt, count_stmt = _statements(sort, bool(q), bool(status), after is not None)
    params: dict[str, Any] = {
        "tenant_id": ctx.tenant_id,
        "count_limit": count_bound,
        "limit": limit + 1,
    }
    if q:
        params["pattern"] = f"%{_escape_like(q)}%"
    if status:
        params["status"] = status
    if after is not None:
        params["after_sort"], params["after_id"] = after
    rows = (await db.execute(page_stmt, params)).all()
    if rows:
        # Each row is FIELDS then the total; zip stops before the total.
        return [dict(zip(FIELDS, row, strict=False)) for row in rows], rows[0][-1]
    counted = await db.scalar(count_stmt, params)
    return [], counted or 0


async def get(db: AsyncSession, ctx: TenantContext, project_id: uuid.UUID) -> Project | None:
    return await db.scalar(
        select(Project).where(Project.id == project_id, Project.tenant_id == ctx.tenant_id)
    )


async def key_taken(db: AsyncSession, ctx: TenantContext, key: str) -> bool:
    found = await db.scalar(
        select(Project.id).where(Project.tenant_id == ctx.tenant_id, Project.key == key)
    )
    return found is not None
