"""Job and upload routes (thin: parse, call the service, shape the response)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import FileResponse

from console.deps import AppSettings, DbSession
from console.jobs import service, uploads
from console.jobs.dispatch import JobDispatcher
from console.jobs.schemas import (
    DownloadLink,
    ExportCreate,
    ImportCreate,
    Job,
    JobKind,
    JobPage,
    JobStatus,
    UploadCreate,
    UploadReceipt,
    UploadTicket,
)
from console.kit.errors import problem_responses
from console.tenancy.deps import TenantMember, TenantViewer


def _dispatcher(request: Request) -> JobDispatcher:
    return request.app.state.job_dispatcher


Dispatcher = Annotated[JobDispatcher, Depends(_dispatcher)]
FileKind = Annotated[
    Literal["export", "report"],
    Query(description="`export` (an export's CSV) or `report` (an import's per-row report)."),
]

router = APIRouter(prefix="/tenants/{tenant}/jobs", tags=["jobs"])
uploads_router = APIRouter(tags=["uploads"])


@router.get("", response_model=JobPage)
async def list_jobs(
    ctx: TenantViewer,
    db: DbSession,
    settings: AppSettings,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    kind: JobKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobPage:
    """The tenant's jobs, newest first (keyset-paginated; follow `next_cursor`)."""
    return await service.list_jobs(
        db, ctx, settings, status=status_, kind=kind, limit=limit, cursor=cursor
    )


@router.post("/exports", response_model=Job, status_code=status.HTTP_202_ACCEPTED)
async def create_export(
    body: ExportCreate,
    ctx: TenantMember,
    db: DbSession,
    settings: AppSettings,
    dispatcher: Dispatcher,
) -> Job:
    """Export the tenant's projects (all, or a filter) to CSV, in the background."""
    return await service.create_export(db, ctx, settings, dispatcher, body)


@router.post("/imports", response_model=Job, status_code=status.HTTP_202_ACCEPTED)
async def create_import(
    body: ImportCreate,
    ctx: TenantMember,
    db: DbSession,
    settings: AppSettings,
    dispatcher: Dispatcher,
) -> Job:
    """Import projects from a completed upload (see POST /uploads), in the background."""
    return await service.create_import(db, ctx, settings, dispatcher, body)


@router.get("/{job_id}", response_model=Job)
async def get_job(
    job_id: uuid.UUID, ctx: TenantViewer, db: DbSession, settings: AppSettings
) -> Job:
    return await service.get_job(db, ctx, settings, job_id)


@router.post("/{job_id}/cancel", response_model=Job)
async def cancel_job(
    job_id: uuid.UUID, ctx: TenantMember, db: DbSession, settings: AppSettings
) -> Job:
    """Cancel a queued job at once, or ask a running one to stop (members: their own jobs)."""
    return await service.cancel_job(db, ctx, settings, job_id)


@router.post("/{job_id}/retry", response_model=Job, status_code=status.HTTP_202_ACCEPTED)
async def retry_job(
    job_id: uuid.UUID,
    ctx: TenantMember,
    db: DbSession,
    settings: AppSettings,
    dispatcher: Dispatcher,
) -> Job:
    """Run a failed or cancelled job again, as a new job."""
    return await service.retry_job(db, ctx, settings, dispatcher, job_id)


@router.post(
    "/{job_id}/download-link", response_model=DownloadLink, responses=problem_responses(410)
)
async def download_link(
    job_id: uuid.UUID,
    ctx: TenantViewer,
    db: DbSession,
    settings: AppSettings,
    file: FileKind = "export",
) -> DownloadLink:
    """A short-lived link to the job's file, usable only by you."""
    return await service.download_link(db, ctx, settings, job_id, file)


@router.get(
    "/{job_id}/download",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The file, as an attachment.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **problem_responses(410),
    },
)
async def download(
    job_id: uuid.UUID,
    ctx: TenantViewer,
    db: DbSession,
    settings: AppSettings,
    file: FileKind,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
) -> FileResponse:
    """Download a job's file through a link from download-link (yours, unexpired)."""
    found = await service.open_download(
        db, ctx, settings, job_id, file=file, expires=expires, signature=signature
    )
    return FileResponse(
        found.path,
        media_type="text/csv; charset=utf-8",
        filename=found.filename,
        content_disposition_type="attachment",
        headers={"Cache-Control": "no-store"},
    )


@uploads_router.post(
    "/tenants/{tenant}/uploads",
    response_model=UploadTicket,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(413),
)
async def create_upload(
    body: UploadCreate, ctx: TenantMember, db: DbSession, settings: AppSettings
) -> UploadTicket:
    """Where to PUT a file's bytes (a signed, expiring, single-use URL)."""
    return await uploads.create_ticket(db, ctx, settings, body)


@uploads_router.put(
    "/uploads/{upload_id}",
    response_model=UploadReceipt,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(410, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_upload(
    upload_id: uuid.UUID,
    request: Request,
    settings: AppSettings,
    token: Annotated[str, Query(min_length=1, max_length=2048, description="From the ticket.")],
) -> UploadReceipt:
    """The file's raw bytes; the signed token in the URL alone authorizes this."""
    length = request.headers.get("content-length")
    return await uploads.receive(
        settings,
        upload_id,
        token,
        request.stream(),
        int(length) if length and length.isdigit() else None,
    )
