"""Platform (operator) API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from console.identity.signin_schemas import IdentityProviderUpdate
from console.kit.inputs import NoNul
from console.tenancy.schemas import SLUG_PATTERN


class PlatformTenant(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    status: Literal["active", "suspended"]
    suspended_reason: str | None
    created_at: datetime
    member_count: int
    project_count: int


class PlatformTenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=63)]
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
    ]
    admin_email: EmailStr = Field(description="The first admin; created if unknown.")
    identity_provider: IdentityProviderUpdate | None = Field(
        default=None,
        description="How the tenant's users sign in (its admins can change it later). "
        "Without one, only the development provider (dev) or an operator can set it up.",
    )


class SuspendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoNul] = ""


class ComponentHealth(BaseModel):
    ok: bool
    latency_ms: float | None = Field(description="How long the check took (None if not run).")
    detail: str | None = None


class WorkersHealth(BaseModel):
    ok: bool = Field(description="At least one worker answered the ping.")
    count: int = Field(description="Workers that answered within the ping timeout.")
    names: list[str]
    detail: str | None = None


class QueueHealth(BaseModel):
    ok: bool = Field(description="The jobs table could be read.")
    queued: int | None = Field(description="Job rows waiting to run (the rows are the truth).")
    running: int | None
    oldest_queued_age_seconds: float | None
    broker_queue_length: int | None = Field(
        description="Doorbells waiting in the broker's queue (Redis only; None elsewhere)."
    )


class SessionsHealth(BaseModel):
    total: int = Field(description="Dashboard (Flet) sessions held by this web process.")
    signed_in: int


class PlatformHealth(BaseModel):
    status: Literal["ok", "degraded"]
    checked_at: datetime
    process: str = Field(description="The web process that answered (host:pid).")
    database: ComponentHealth
    broker: ComponentHealth
    workers: WorkersHealth
    queue: QueueHealth
    sessions: SessionsHealth
