"""Test doubles and builders for jobs: a dispatcher that records doorbells, job rows in any
state, and export/report files on disk."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from console.db import Database, utcnow
from console.jobs.files import atomic_write, export_path, report_path
from console.jobs.models import Job
from console.settings import Settings


@dataclass(frozen=True)
class Doorbell:
    job_id: uuid.UUID
    task_id: str
    countdown: float


@dataclass
class RecordingDispatcher:
    """Stands in for Celery: remembers each doorbell (sent only after a commit)."""

    sent: list[Doorbell] = field(default_factory=list)

    async def dispatch(self, job_id: uuid.UUID, *, task_id: str, countdown: float = 0) -> None:
        self.sent.append(Doorbell(job_id, task_id, countdown))

    def for_job(self, job_id: uuid.UUID | str) -> list[Doorbell]:
        return [d for d in self.sent if d.job_id == uuid.UUID(str(job_id))]


async def make_job(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    kind: str = "export",
    status: str = "queued",
    created_by: uuid.UUID | None = None,
    params: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    finished_at: datetime | None = None,
) -> Job:
    """A job row as a worker would have left it in `status`."""
    now = utcnow()
    finished = status in ("succeeded", "failed", "cancelled")
    async with db.system_session() as s:
        job = Job(
            tenant_id=tenant_id,
            kind=kind,
            status=status,
            progress=1.0 if status == "succeeded" else 0.0,
            message="",
            params=params or {},
            result=result,
            error=error if error is not None else ("It broke." if status == "failed" else None),
            created_by_id=created_by,
            started_at=now if status != "queued" else None,
            heartbeat_at=now if status == "running" else None,
            finished_at=finished_at or (now if finished else None),
            attempts=0 if status == "queued" else 1,
            broker_task_id=str(uuid.uuid4()),
        )
        s.add(job)
    return job


async def finished_export(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    *,
    created_by: uuid.UUID | None = None,
    content: str = "key,name\r\nP1,One\r\n",
    expires_in: timedelta = timedelta(hours=1),
    filename: str = "projects.csv",
) -> Job:
    """A succeeded export with its file written where the worker writes it."""
    expires_at = utcnow() + expires_in
    job = await make_job(
        db,
        tenant_id,
        kind="export",
        status="succeeded",
        created_by=created_by,
        result={"filename": filename, "rows": 1, "expires_at": expires_at.isoformat()},
    )
    with atomic_write(export_path(settings, tenant_id, job.id), "w", newline="") as handle:
        handle.write(content)
    return job


async def finished_import(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    *,
    created_by: uuid.UUID | None = None,
    report: str = "line,key,error\r\n3,BAD,name is required\r\n",
) -> Job:
    """A succeeded import with its per-row report on disk."""
    job = await make_job(
        db,
        tenant_id,
        kind="import",
        status="succeeded",
        created_by=created_by,
        params={"upload_id": str(uuid.uuid4())},
        result={"created": 1, "updated": 0, "errors": 1, "report_filename": "report.csv"},
    )
    with atomic_write(report_path(settings, tenant_id, job.id), "w", newline="") as handle:
        handle.write(report)
    return job
