"""Project rules: unique keys, optimistic concurrency, archive/restore, audited changes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from console.audit.service import record
from console.kit.errors import Conflict, NotFound, PreconditionRequired, VersionConflict
from console.kit.pagination import cut_page, decode_cursor
from console.projects import repository as repo
from console.projects.models import Project
from console.projects.schemas import ProjectCreate, ProjectPage, ProjectSort, ProjectUpdate
from console.tenancy.context import TenantContext


async def list_projects(
    db: AsyncSession,
    ctx: TenantContext,
    *,
    q: str | None,
    status: str | None,
    sort: ProjectSort,
    limit: int,
    cursor: str | None,
    count_bound: int,
) -> ProjectPage:
    column, kind, _ = repo.sort_spec(sort)
    after = decode_cursor(cursor, (kind, uuid.UUID)) if cursor else None
    rows, total = await repo.page(
        db,
        ctx,
        q=q,
        status=status,
        sort=sort,
        limit=limit,
        after=after,
        count_bound=count_bound,
    )
    rows, next_cursor = cut_page(rows, limit, lambda last: [last[column.key], last["id"]])
    # Rows are validated into the response model once, here; the router returns it as is.
    return ProjectPage.model_validate(
        {
            "items": rows,
            "total": min(total, count_bound),
            "total_exact": total <= count_bound,
            "next_cursor": next_cursor,
        }
    )


async def get_project(db: AsyncSession, ctx: TenantContext, project_id: uuid.UUID) -> Project:
    project = await repo.get(db, ctx, project_id)
    if project is None:
        raise NotFound("No such project in this tenant.")
    return project


async def create_project(db: AsyncSession, ctx: TenantContext, data: ProjectCreate) -> Project:
    if await repo.key_taken(db, ctx, data.key):
        raise Conflict(f"A project with key {data.key} already exists in this tenant.", field="key")
    project = Project(
        tenant_id=ctx.tenant_id,
        key=data.key,
        name=data.name,
        description=data.description,
        created_by_id=ctx.user_id,
    )
    db.add(project)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(
            f"A project with key {data.key} already exists in this tenant.", field="key"
        ) from exc
    record(
        db,
        ctx,
        "project.created",
        "project",
        project.id,
        {"key": project.key, "name": project.name},
    )
    return project


def _check_version(project: Project, expected: int | None, *, required: bool) -> None:
    if expected is None:
        if required:
            raise PreconditionRequired(
                "Send the version you edited (If-Match header or `version`), so a concurrent "
                "change is not overwritten.",
                current_version=project.version,
            )
        return
    if expected != project.version:
        raise VersionConflict(
            f"This project was changed to version {project.version} after you loaded "
            f"version {expected}; reload it and apply your change again.",
            current_version=project.version,
        )


async def update_project(
    db: AsyncSession,
    ctx: TenantContext,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    if_match: int | None,
) -> Project:
    project = await get_project(db, ctx, project_id)
    _check_version(project, if_match if if_match is not None else data.version, required=True)
    changes: dict[str, Any] = {}
    for field in ("name", "description"):
        value = getattr(data, field)
        if value is not None and value != getattr(project, field):
            changes[field] = {"from": getattr(project, field), "to": value}
            setattr(project, field, value)
    if changes:
        await _flush(db)
        record(
            db,
            ctx,
            "project.updated",
            "project",
            project.id,
            {"key": project.key, "changes": changes},
        )
    return project


async def set_status(
    db: AsyncSession, ctx: TenantContext, project_id: uuid.UUID, status: str, if_match: int | None
) -> Project:
    project = await get_project(db, ctx, project_id)
    _check_version(project, if_match, required=False)
    if project.status != status:
        project.status = status
        await _flush(db)
        action = "project.archived" if status == "archived" else "project.restored"
        record(db, ctx, action, "project", project.id, {"key": project.key})
    return project


async def delete_project(
    db: AsyncSession, ctx: TenantContext, project_id: uuid.UUID, if_match: int | None
) -> None:
    project = await get_project(db, ctx, project_id)
    _check_version(project, if_match, required=False)
    await db.delete(project)
    await _flush(db)
    record(
        db,
        ctx,
        "project.deleted",
        "project",
        project.id,
        {"key": project.key, "name": project.name},
    )


async def _flush(db: AsyncSession) -> None:
    """Write pending changes; a concurrent writer that got there first is a 409."""
    try:
        await db.flush()
    except StaleDataError as exc:
        raise VersionConflict(
            "This project was changed by someone else at the same moment; reload it."
        ) from exc
