"""Project routes (thin: parse, call the service, shape the response)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from console.deps import DbSession
from console.kit.errors import Invalid
from console.kit.inputs import Text
from console.projects import service
from console.projects.models import Project as ProjectRow
from console.projects.schemas import Project, ProjectCreate, ProjectPage, ProjectSort, ProjectUpdate
from console.tenancy.deps import TenantAdmin, TenantMember, TenantViewer

router = APIRouter(prefix="/tenants/{tenant}/projects", tags=["projects"])

IfMatch = Annotated[
    str | None,
    Header(description='The version you edited, as an ETag: `"3"`.', max_length=64),
]


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Invalid('If-Match: expected a project version such as "3".')
    return int(raw)


def _with_etag(response: Response, project: ProjectRow) -> None:
    response.headers["ETag"] = f'"{project.version}"'


@router.get("", response_model=ProjectPage)
async def list_projects(
    request: Request,
    ctx: TenantViewer,
    db: DbSession,
    q: Annotated[Text | None, Query(max_length=100, description="Search in key and name.")] = None,
    status_: Annotated[Literal["active", "archived"] | None, Query(alias="status")] = None,
    sort: ProjectSort = ProjectSort.NAME,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ProjectPage:
    """A page of the tenant's projects (keyset-paginated; follow `next_cursor`)."""
    return await service.list_projects(
        db,
        ctx,
        q=q or None,
        status=status_,
        sort=sort,
        limit=limit,
        cursor=cursor,
        count_bound=request.app.state.settings.count_limit,
    )


@router.post("", response_model=Project, status_code=status.HTTP_201_CREATED)
async def create_project(
    body: ProjectCreate, ctx: TenantMember, db: DbSession, response: Response
) -> Project:
    project = await service.create_project(db, ctx, body)
    _with_etag(response, project)
    return Project.model_validate(project)


@router.get("/{project_id}", response_model=Project)
async def get_project(
    project_id: uuid.UUID, ctx: TenantViewer, db: DbSession, response: Response
) -> Project:
    project = await service.get_project(db, ctx, project_id)
    _with_etag(response, project)
    return Project.model_validate(project)


@router.patch("/{project_id}", response_model=Project)
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    ctx: TenantMember,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> Project:
    """Edit name/description; needs the edited version (If-Match or `version`), else 428."""
    project = await service.update_project(db, ctx, project_id, body, parse_if_match(if_match))
    _with_etag(response, project)
    return Project.model_validate(project)


@router.post("/{project_id}/archive", response_model=Project)
async def archive_project(
    project_id: uuid.UUID,
    ctx: TenantMember,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> Project:
    project = await service.set_status(db, ctx, project_id, "archived", parse_if_match(if_match))
    _with_etag(response, project)
    return Project.model_validate(project)


@router.post("/{project_id}/restore", response_model=Project)
async def restore_project(
    project_id: uuid.UUID,
    ctx: TenantMember,
    db: DbSession,
    response: Response,
    if_match: IfMatch = None,
) -> Project:
    project = await service.set_status(db, ctx, project_id, "active", parse_if_match(if_match))
    _with_etag(response, project)
    return Project.model_validate(project)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_project(
    project_id: uuid.UUID, ctx: TenantAdmin, db: DbSession, if_match: IfMatch = None
) -> Response:
    await service.delete_project(db, ctx, project_id, parse_if_match(if_match))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
