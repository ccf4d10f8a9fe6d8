"""What a job handler gets from the runtime, and the exceptions it may raise."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from console.settings import Settings


class JobCancelled(Exception):
    """Raised at a cancellation checkpoint; the runtime records the job as cancelled."""


class JobFailed(Exception):
    """The job cannot succeed; `message` is shown to the user as is (no retry)."""

    def __init__(self, message: str, *, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


class TransientJobError(Exception):
    """Worth another attempt later (with backoff), e.g. a dropped database connection."""


class JobContext(Protocol):
    """The handler's view of its job; implemented by the runtime (and by tests)."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    attempt: int  # 1 on the first run
    checkpoint: dict[str, Any] | None  # the last one saved (a previous attempt's, on resume)
    settings: Settings
    engine: Engine  # sync engine; the app's role, so row-level security applies

    def tenant_session(self) -> AbstractContextManager[Session]:
        """A transaction scoped to the job's tenant (RLS); commits on exit, rolls back on error."""
        ...

    def save_checkpoint(self, session: Session, checkpoint: dict[str, Any]) -> None:
        """Record progress in `session`'s transaction, so effects and checkpoint commit together."""
        ...

    def progress(self, done: int, total: int | None, message: str) -> None:
        """Report progress (writes are rate-limited); raises JobCancelled if cancel was asked."""
        ...

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancel was requested (an in-memory flag: call it often)."""
        ...


Handler = Callable[[JobContext], dict[str, Any]]


@dataclass
class HandlerRegistry:
    """Job kind → handler; the runtime looks handlers up here."""

    handlers: dict[str, Handler] = field(default_factory=dict)

    def register(self, kind: str) -> Callable[[Handler], Handler]:
        def add(handler: Handler) -> Handler:
            self.handlers[kind] = handler
            return handler

        return add

    def __iter__(self) -> Iterator[str]:
        return iter(self.handlers)

    def get(self, kind: str) -> Handler | None:
        return self.handlers.get(kind)


HANDLERS = HandlerRegistry()
