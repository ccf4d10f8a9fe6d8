"""Audit API shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEvent(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    actor_id: uuid.UUID | None
    actor_label: str
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    ip: str | None
    request_id: str | None
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AuditFilters:
    """What an audit listing is narrowed to (None: not narrowed)."""

    actor_id: uuid.UUID | None = None
    action: str | None = None  # exact, or a prefix ending in "."
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
