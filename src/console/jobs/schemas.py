"""Job API shapes (also what the dashboard's live views render)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from console.kit.inputs import Text

JobKind = Literal["export", "import"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running"})


class JobActor(BaseModel):
    id: uuid.UUID
    email: str
    name: str


class Job(BaseModel):
    """A job as its row says (the row is the truth; Celery's own state is never read)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    progress: float = Field(description="0..1")
    message: str = Field(description='Human progress, e.g. "1,200 of 10,000 rows".')
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None = Field(description="Why it failed, readable by the user.")
    created_by: JobActor | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    cancelled_by: JobActor | None
    attempts: int
    retry_of: uuid.UUID | None = None
    can_cancel: bool
    can_retry: bool
    can_download: bool


class JobPage(BaseModel):
    items: list[Job]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ExportCreate(BaseModel):
    """Export the tenant's projects: all, or the projects list's current filter."""

    model_config = ConfigDict(extra="forbid")

    q: Text | None = Field(default=None, max_length=100)
    status: Literal["active", "archived"] | None = None


class ImportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upload_id: uuid.UUID


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: Text = Field(max_length=255)
    size: int = Field(ge=0, description="Bytes the client will send (checked again on receipt).")


class UploadTicket(BaseModel):
    """Where to PUT the file's raw bytes: a signed, expiring, single-use URL."""

    upload_id: uuid.UUID
    upload_url: str
    expires_at: datetime
    max_bytes: int


class UploadReceipt(BaseModel):
    upload_id: uuid.UUID
    size: int
    sha256: str


class DownloadLink(BaseModel):
    url: str
    expires_at: datetime
    filename: str
