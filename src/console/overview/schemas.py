"""Overview API shapes."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class ProjectCounts(BaseModel):
    active: int
    archived: int
    total: int


class JobCounts(BaseModel):
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class WeekCount(BaseModel):
    week_start: date = Field(description="The Monday (UTC) the ISO week starts on.")
    count: int


class Overview(BaseModel):
    projects: ProjectCounts
    members: int
    pending_invitations: int = Field(description="Neither accepted, revoked nor expired.")
    jobs: JobCounts
    projects_per_week: list[WeekCount] = Field(
        description="Projects created per ISO week (UTC), oldest first, the current week last; "
        "weeks without any are 0."
    )
