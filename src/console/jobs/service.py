"""Job rules: create (enqueued after commit), cancel, retry, list, download links; audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from console.audit.service import record
from console.db import after_commit, utcnow
from console.identity.models import User
from console.jobs import repository as repo
from console.jobs.dispatch import JobDispatcher
from console.jobs.files import export_path, report_path
from console.jobs.links import download_signer
from console.jobs.models import Job as JobModel
from console.jobs.schemas import (
    ACTIVE_STATUSES,
    DownloadLink,
    ExportCreate,
    ImportCreate,
    Job,
    JobActor,
    JobPage,
)
from console.jobs.uploads import API_PREFIX, completed_upload
from console.kit.errors import Conflict, Forbidden, Gone, NotFound
from console.kit.pagination import cut_page, decode_cursor
from console.settings import Settings
from console.tenancy.context import TenantContext
from console.tenancy.roles import Role

RETRYABLE = frozenset({"failed", "cancelled"})
FileKind = str  # "export" | "report"
EXPORT_EXPIRED = "This export has expired; run it again."


# ---- reading -----------------------------------------------------------------------------------


def _actor(user: User | None) -> JobActor | None:
    return None if user is None else JobActor(id=user.id, email=user.email, name=user.name)


def may_cancel(ctx: TenantContext, job: JobModel) -> bool:
    """Admins cancel any job; members only the jobs they started."""
    if ctx.role.allows(Role.ADMIN):
        return True
    return ctx.role.allows(Role.MEMBER) and job.created_by_id == ctx.user_id


def export_expires_at(job: JobModel, settings: Settings) -> datetime | None:
    result = job.result or {}
    raw = result.get("expires_at")
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is not None:
                return parsed
        except ValueError:
            pass
    if job.finished_at is None:
        return None
    return job.finished_at + timedelta(hours=settings.export_retention_hours)


def _file_state(job: JobModel, file: FileKind, settings: Settings) -> str:
    """ "ready", "none" (no such file for this job, or not yet) or "expired"; no disk access."""
    if file == "export":
        if job.kind != "export" or job.status != "succeeded":
            return "none"
        expires = export_expires_at(job, settings)
        return "expired" if expires is not None and expires <= utcnow() else "ready"
    if job.kind != "import" or job.status not in ("succeeded", "failed") or not job.result:
        return "none"
    return "ready" if job.result.get("report_filename") else "none"


def to_schema(
    ctx: TenantContext,
    settings: Settings,
    job: JobModel,
    creator: User | None,
    canceller: User | None,
) -> Job:
    retry_of = job.params.get("retry_of") if job.params else None
    downloadable = _file_state(job, "export" if job.kind == "export" else "report", settings)
    return Job(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]
        status=job.status,  # type: ignore[arg-type]
        progress=job.progress,
        message=job.message,
        params=job.params or {},
        result=job.result,
        error=job.error,
        created_by=_actor(creator),
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cancel_requested_at=job.cancel_requested_at,
        cancelled_by=_actor(canceller),
        attempts=job.attempts,
        retry_of=uuid.UUID(retry_of) if isinstance(retry_of, str) else None,
        can_cancel=job.status in ACTIVE_STATUSES
        and job.cancel_requested_at is None
        and may_cancel(ctx, job),
        can_retry=job.status in RETRYABLE and ctx.role.allows(Role.MEMBER),
        can_download=downloadable == "ready",
    )


async def list_jobs(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    *,
    status: str | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> JobPage:
    """A page of the tenant's jobs, newest first."""
    after = decode_cursor(cursor, (datetime, uuid.UUID)) if cursor else None
    rows = await repo.page(db, ctx, status=status, kind=kind, limit=limit, after=after)
    rows, next_cursor = cut_page(rows, limit, lambda row: [row[0].created_at, row[0].id])
    return JobPage(items=[to_schema(ctx, settings, *row) for row in rows], next_cursor=next_cursor)


async def _get_row(db: AsyncSession, ctx: TenantContext, job_id: uuid.UUID) -> repo.JobRow:
    row = await repo.get(db, ctx, job_id)
    if row is None:
        raise NotFound("No such job in this tenant.")
    return row


async def get_job(
    db: AsyncSession, ctx: TenantContext, settings: Settings, job_id: uuid.UUID
) -> Job:
    return to_schema(ctx, settings, *await _get_row(db, ctx, job_id))


# ---- creating ----------------------------------------------------------------------------------


async def _enqueue(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    dispatcher: JobDispatcher,
    kind: str,
    params: dict[str, Any],
) -> JobModel:
    """A queued row whose doorbell is sent only once the request's transaction committed."""
    job = JobModel(
        tenant_id=ctx.tenant_id,
        kind=kind,
        status="queued",
        progress=0.0,
        message="Waiting for a worker…",
        params=params,
        created_by_id=ctx.user_id,
        broker_task_id=str(uuid.uuid4()),
    )
    db.add(job)
    await db.flush()
    job_id, task_id = job.id, job.broker_task_id or ""

    async def ring() -> None:
        await dispatcher.dispatch(job_id, task_id=task_id)

    after_commit(db, ring)
    return job


async def _creator(db: AsyncSession, ctx: TenantContext) -> User | None:
    return await db.get(User, ctx.user_id)


async def create_export(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    dispatcher: JobDispatcher,
    data: ExportCreate,
) -> Job:
    params = data.model_dump(exclude_none=True)
    job = await _enqueue(db, ctx, settings, dispatcher, "export", params)
    record(db, ctx, "job.export_requested", "job", job.id, {"params": params})
    return to_schema(ctx, settings, job, await _creator(db, ctx), None)


async def create_import(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    dispatcher: JobDispatcher,
    data: ImportCreate,
) -> Job:
    upload = completed_upload(settings, ctx, data.upload_id)
    params: dict[str, Any] = {"upload_id": str(data.upload_id)}
    for key in ("filename", "size", "sha256"):
        if key in upload:
            params[key] = upload[key]
    job = await _enqueue(db, ctx, settings, dispatcher, "import", params)
    record(db, ctx, "job.import_requested", "job", job.id, {"params": params})
    return to_schema(ctx, settings, job, await _creator(db, ctx), None)


# ---- cancel and retry --------------------------------------------------------------------------


async def cancel_job(
    db: AsyncSession, ctx: TenantContext, settings: Settings, job_id: uuid.UUID
) -> Job:
    """Queued → cancelled at once; running → flagged (its worker stops and records it);
    finished → 409. Members cancel only their own jobs."""
    job, _, _ = await _get_row(db, ctx, job_id)
    if not may_cancel(ctx, job):
        raise Forbidden("Members may cancel only the jobs they started; ask an admin.")
    now = utcnow()
    name = ctx.principal.name or ctx.principal.email
    changed = await repo.cancel_queued(db, ctx, job_id, now=now, message=f"Cancelled by {name}")
    if not changed:
        # Not queued (any more): a worker may have claimed it since we read it.
        changed = await repo.request_cancel(db, ctx, job_id, now=now)
    await db.refresh(job)
    if not changed and job.status not in ACTIVE_STATUSES:
        raise Conflict(
            f"This job already finished ({job.status}); there is nothing to cancel.",
            job_status=job.status,
        )
    if changed:
        record(db, ctx, "job.cancel_requested", "job", job.id, {"status": job.status})
    return to_schema(ctx, settings, *await _get_row(db, ctx, job_id))


async def retry_job(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    dispatcher: JobDispatcher,
    job_id: uuid.UUID,
) -> Job:
    """A failed or cancelled job runs again as a new row (the old one stays as history)."""
    old, _, _ = await _get_row(db, ctx, job_id)
    if old.status not in RETRYABLE:
        raise Conflict(
            f"Only failed or cancelled jobs can be retried; this one is {old.status}.",
            job_status=old.status,
        )
    params = {**(old.params or {}), "retry_of": str(old.id)}
    job = await _enqueue(db, ctx, settings, dispatcher, old.kind, params)
    record(db, ctx, "job.retried", "job", job.id, {"retry_of": str(old.id), "kind": old.kind})
    return to_schema(ctx, settings, job, await _creator(db, ctx), None)


# ---- downloads ---------------------------------------------------------------------------------


def _filename(job: JobModel, file: FileKind) -> str:
    result = job.result or {}
    name = result.get("filename") if file == "export" else result.get("report_filename")
    if isinstance(name, str) and name and "/" not in name and "\\" not in name:
        return name
    return f"{job.kind}-{'report-' if file == 'report' else ''}{job.id}.csv"


def _path(settings: Settings, job: JobModel, file: FileKind) -> Path:
    maker = export_path if file == "export" else report_path
    return maker(settings, job.tenant_id, job.id)


def _available_file(settings: Settings, job: JobModel, file: FileKind) -> Path:
    """The job's file, or why it cannot be had (409 not yet / none, 410 expired)."""
    state = _file_state(job, file, settings)
    if state == "none":
        what = "an export file" if file == "export" else "a report"
        raise Conflict(f"This job has no {what} to download (yet).")
    path = _path(settings, job, file)
    if state == "expired" or not path.is_file():
        if file == "export":
            raise Gone(EXPORT_EXPIRED)
        raise Gone("This report is no longer available.")
    return path


def _link_parts(ctx: TenantContext, job_id: uuid.UUID, file: FileKind, expires: int) -> tuple:
    return (ctx.tenant_id, job_id, file, ctx.user_id, expires)


async def download_link(
    db: AsyncSession, ctx: TenantContext, settings: Settings, job_id: uuid.UUID, file: FileKind
) -> DownloadLink:
    """A link to the job's file for this user only, valid for download_link_seconds."""
    job, _, _ = await _get_row(db, ctx, job_id)
    _available_file(settings, job, file)
    expires_at = (utcnow() + timedelta(seconds=settings.download_link_seconds)).replace(
        microsecond=0
    )
    expires = int(expires_at.timestamp())
    signature = download_signer(settings.secret_key.get_secret_value()).sign(
        *_link_parts(ctx, job_id, file, expires)
    )
    url = (
        f"{API_PREFIX}/tenants/{ctx.tenant_slug}/jobs/{job_id}/download"
        f"?file={file}&expires={expires}&signature={signature}"
    )
    return DownloadLink(url=url, expires_at=expires_at, filename=_filename(job, file))


@dataclass(frozen=True, slots=True)
class Download:
    path: Path
    filename: str


async def open_download(
    db: AsyncSession,
    ctx: TenantContext,
    settings: Settings,
    job_id: uuid.UUID,
    *,
    file: FileKind,
    expires: int,
    signature: str,
) -> Download:
    """The file a signed link names, for the member it was made for."""
    job, _, _ = await _get_row(db, ctx, job_id)
    signer = download_signer(settings.secret_key.get_secret_value())
    if not signer.verify(signature, *_link_parts(ctx, job_id, file, expires)):
        raise Forbidden("This download link is not valid for you; ask for a new one.")
    if utcnow().timestamp() > expires:
        raise Gone("This download link has expired; ask for a new one.")
    path = _available_file(settings, job, file)
    record(db, ctx, "job.downloaded", "job", job.id, {"file": file})
    return Download(path=path, filename=_filename(job, file))
