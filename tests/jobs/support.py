"""Running job handlers without Celery: a synchronous JobContext against the test database.

`FakeJobContext` implements workers.context.JobContext with the worker's own sync engine and
sessions (workers/db.py: psycopg / sqlite3, tenant scope set for row-level security), so handlers
run exactly the SQL they run in a worker. Hooks simulate a cancel request or a crash.

Fixtures here (`sync_engine`, `job_settings`) are imported by the handler test modules.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from console.db import Database, utcnow
from console.jobs.models import Job
from console.projects.models import Project
from console.settings import Settings
from tests.backends import DatabaseUnderTest
from tests.conftest import make_settings
from workers import db as worker_db
from workers.context import HANDLERS, JobCancelled


class SimulatedCrash(Exception):
    """Raised by a hook to stop a handler the way a dying worker would (no cleanup code runs
    in the handler's favour: whatever committed stays committed)."""


@dataclass
class Progress:
    done: int
    total: int | None
    message: str


@dataclass
class FakeJobContext:
    """The runtime's JobContext, synchronous, with hooks for cancel and crash."""

    engine: Engine
    settings: Settings
    tenant_id: uuid.UUID
    job_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    checkpoint: dict[str, Any] | None = None
    attempt: int = 1
    # Called on every progress() after it was recorded (may raise SimulatedCrash, or call
    # request_cancel()).
    on_progress: Callable[[FakeJobContext, Progress], None] | None = None
    progress_log: list[Progress] = field(default_factory=list)
    cancel_requested: bool = False
    cancel_checks: int = 0
    checkpoints_saved: int = 0

    def tenant_session(self) -> AbstractContextManager[Session]:
        return worker_db.tenant_session(self.engine, self.tenant_id)

    def save_checkpoint(self, session: Session, checkpoint: dict[str, Any]) -> None:
        session.execute(update(Job).where(Job.id == self.job_id).values(checkpoint=checkpoint))
        self.checkpoint = checkpoint
        self.checkpoints_saved += 1

    def progress(self, done: int, total: int | None, message: str) -> None:
        entry = Progress(done, total, message)
        self.progress_log.append(entry)
        if self.on_progress is not None:
            self.on_progress(self, entry)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        self.cancel_checks += 1
        if self.cancel_requested:
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def request_cancel(self) -> None:
        self.cancel_requested = True

    def run(self) -> dict[str, Any]:
        handler = HANDLERS.get(self.kind)
        assert handler is not None, f"no handler for {self.kind!r}"
        return handler(self)


# -- fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture(scope="session", name="sync_engine")
def sync_engine_fixture(test_database: DatabaseUnderTest) -> Iterator[Engine]:
    """The worker's engine on the test database, as the app's (RLS-bound) role."""
    engine = worker_db.create_sync_engine(test_database.app_url)
    yield engine
    engine.dispose()


@pytest.fixture(name="job_settings")
def job_settings_fixture(test_database: DatabaseUnderTest, tmp_path: Path) -> Settings:
    return make_settings(test_database, tmp_path, files_dir=tmp_path / "files")


async def make_job(
    db: Database,
    tenant_id: uuid.UUID,
    kind: str,
    params: dict[str, Any],
    created_by: uuid.UUID | None = None,
) -> uuid.UUID:
    """A job row as a worker holds it while running (status running, a heartbeat far ahead so no
    maintenance pass re-queues it and no worker claims it)."""
    async with db.system_session() as s:
        job = Job(
            tenant_id=tenant_id,
            kind=kind,
            status="running",
            params=params,
            created_by_id=created_by,
            attempts=1,
            started_at=utcnow(),
            heartbeat_at=utcnow() + timedelta(days=1),
        )
        s.add(job)
    return job.id


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def saved_checkpoint(engine: Engine, job_id: uuid.UUID) -> dict[str, Any] | None:
    with worker_db.system_session(engine) as session:
        return session.scalar(select(Job.checkpoint).where(Job.id == job_id))


def project_rows(engine: Engine, tenant_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """key → the project's columns, read in system scope (sees through RLS)."""
    c = Project.__table__.c
    with worker_db.system_session(engine) as session:
        rows = session.execute(select(Project.__table__).where(c.tenant_id == tenant_id))
        return {row.key: dict(row._mapping) for row in rows}


def project_count(engine: Engine, tenant_id: uuid.UUID | None = None) -> int:
    statement = select(func.count()).select_from(Project.__table__)
    if tenant_id is not None:
        statement = statement.where(Project.__table__.c.tenant_id == tenant_id)
    with worker_db.system_session(engine) as session:
        return session.scalar(statement) or 0
