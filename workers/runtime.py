"""The job runtime: claim the fairest job, run its handler, finish its row in one place.

One `Runtime` per Celery app per process holds the sync engine, the jobs this process runs and
its watcher thread (cancel flags, heartbeats, the reaper; workers/watcher.py).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import ColumnElement, Engine, and_, func, literal, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from console.db import UTCDateTime, utcnow
from console.identity.models import User
from console.jobs.dispatch import send_doorbell
from console.jobs.models import Job
from console.settings import Settings
from workers import db as worker_db
from workers.context import HANDLERS, JobCancelled, JobFailed, TransientJobError

if TYPE_CHECKING:
    from celery import Celery

    from workers.watcher import Watcher

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key serialising claims (any constant unique to this purpose).
CLAIM_LOCK = 0x636F6E73
MESSAGE_LIMIT = 500
UNEXPECTED = "The job failed unexpectedly (reference {job_id})."
REQUEUED_WORKER_STOPPED = "Re-queued: the worker running it stopped"
MAX_BACKOFF_SECONDS = 300.0
RECENTLY_SERVED = timedelta(minutes=10)
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class JobLost(JobCancelled):
    """This process no longer owns the job (re-queued by the reaper, or finished elsewhere)."""


class WorkerStopping(JobCancelled):
    """The worker is shutting down: the job goes back to the queue, not counted as an attempt."""


def at(moment: datetime) -> ColumnElement[datetime]:
    """A timestamp parameter stored like the columns (naive UTC on SQLite)."""
    return literal(moment, UTCDateTime())


def claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Job.status == "queued",
        or_(Job.run_after.is_(None), Job.run_after <= at(now)),
        Job.cancel_requested_at.is_(None),
    )


def backoff_seconds(attempt: int) -> float:
    """2, 4, 8 … seconds after the 1st, 2nd, 3rd attempt, plus up to 25 % jitter."""
    base = min(2.0**attempt, MAX_BACKOFF_SECONDS)
    return base * (1 + random.uniform(0, 0.25))  # noqa: S311 - jitter, not security


def _clip(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"


@dataclass
class JobRun:
    """A claimed job as its handler sees it: the runtime's JobContext."""

    runtime: Runtime
    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    attempt: int
    checkpoint: dict[str, Any] | None
    created_by_id: uuid.UUID | None
    cancel_flag: threading.Event = field(default_factory=threading.Event)
    lost_flag: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0
    message: str = "Starting…"
    _last_write: float = 0.0

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    def tenant_session(self) -> AbstractContextManager[Session]:
        return worker_db.tenant_session(self.engine, self.tenant_id, self.created_by_id)

    def save_checkpoint(self, session: Session, checkpoint: dict[str, Any]) -> None:
        session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.attempts == self.attempt)
            .values(checkpoint=checkpoint, heartbeat_at=utcnow(), updated_at=Job.updated_at)
        )
        self.checkpoint = checkpoint

    def check_cancelled(self) -> None:
        if self.lost_flag.is_set():
            raise JobLost(f"job {self.job_id} is no longer this worker's")
        if self.cancel_flag.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if self.runtime.stopping.is_set():
            raise WorkerStopping(f"the worker is stopping; job {self.job_id} goes back")

    def progress(self, done: int, total: int | None, message: str) -> None:
        self.check_cancelled()
        if total:
            self.fraction = max(0.0, min(1.0, done / total))
        self.message = _clip(message)
        now = time.monotonic()
        if now - self._last_write < self.settings.job_progress_interval_seconds:
            return
        self._last_write = now
        moment = utcnow()
        with worker_db.system_session(self.engine) as session:
            written = session.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == "running", Job.attempts == self.attempt)
                .values(
                    progress=self.fraction,
                    message=self.message,
                    heartbeat_at=moment,
                    updated_at=moment,
                )
            ).rowcount
        if written != 1:
            self.lost_flag.set()
            self.check_cancelled()


class Runtime:
    """One per Celery app per process."""

    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.pid = os.getpid()
        self.running: dict[uuid.UUID, JobRun] = {}
        self.stopping = threading.Event()
        self._engine: Engine | None = None
        self._watcher: Watcher | None = None
        self._lock = threading.Lock()

    # -- resources -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = worker_db.create_sync_engine(
                        self.settings.database_url,
                        pool_size=max(2, self.settings.worker_concurrency + 1),
                    )
        return self._engine

    def ensure_watcher(self) -> None:
        """Start this process's watcher thread (idempotent)."""
        if self._watcher is not None and self._watcher.is_alive():
            return
        from workers.watcher import Watcher

        with self._lock:
            if self._watcher is None or not self._watcher.is_alive():
                self.stopping.clear()
                self._watcher = Watcher(self)
                self._watcher.start()

    def begin_stop(self) -> None:
        """Running handlers stop at their next checkpoint and their jobs go back to the queue."""
        self.stopping.set()

    def close(self) -> None:
        """Stop the watcher and release connections."""
        self.stopping.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's connections without closing them."""
        if self._engine is not None:
            self._engine.dispose(close=False)
            self._engine = None

    # -- doorbells -------------------------------------------------------------------------

    def send_doorbell(
        self, job_id: uuid.UUID | str | None, *, task_id: str | None = None, countdown: float = 0
    ) -> None:
        """Ring for a job (the hint is for logs); a failure is logged: the sweep re-rings."""
        try:
            task_id = task_id or str(uuid.uuid4())
            send_doorbell(self.app, job_id, task_id=task_id, countdown=countdown)
        except Exception:
            log.warning("job_doorbell_failed", job_id=str(job_id), exc_info=True)

    # -- the task body ---------------------------------------------------------------------

    def run_next(self, task_id: str | None, hint: str | None = None) -> uuid.UUID | None:
        """Claim the fairest claimable job and run it to a final state; None if none."""
        if self.stopping.is_set():
            # Shutting down: pass a job's doorbell on rather than starting work.
            if hint:
                self.send_doorbell(hint)
            return None
        self.ensure_watcher()
        run = self.claim(task_id or str(uuid.uuid4()))
        if run is None:
            log.debug("job_doorbell_idle", hint=hint)
            return None
        self.running[run.job_id] = run
        try:
            self.execute(run)
        finally:
            self.running.pop(run.job_id, None)
        return run.job_id

    def claim(self, task_id: str) -> JobRun | None:
        """Queued → running for the fairest claimable job (fewest running of its tenant first,
        then the tenant served least recently, then oldest); a conditional UPDATE, so a job is
        claimed once, never when cancelled."""
        now = utcnow()
        running = (
            select(Job.tenant_id, func.count().label("n"))
            .where(Job.status == "running")
            .group_by(Job.tenant_id)
            .subquery()
        )
        # Among tenants with as many running jobs, the one served least recently goes first:
        # slots that free up together would otherwise all pick the oldest tenant's burst.
        served = (
            select(Job.tenant_id, func.max(Job.started_at).label("last_start"))
            .where(Job.updated_at >= at(now - RECENTLY_SERVED), Job.started_at.is_not(None))
            .group_by(Job.tenant_id)
            .subquery()
        )
        with worker_db.system_session(self.engine) as session:
            # Claims are serialised (a few ms each): two slots choosing at once would both see
            # the same running counts and both take the burst's next job. SQLite's BEGIN
            # IMMEDIATE already holds the write lock; PostgreSQL takes a transaction lock.
            if session.get_bind().dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK)))
            job_id = session.execute(
                select(Job.id)
                .outerjoin(running, running.c.tenant_id == Job.tenant_id)
                .outerjoin(served, served.c.tenant_id == Job.tenant_id)
                .where(claimable(now))
                .order_by(
                    func.coalesce(running.c.n, 0),
                    func.coalesce(served.c.last_start, at(NEVER)),
                    Job.created_at,
                    Job.id,
                )
                .limit(1)
            ).scalar()
            if job_id is None:
                return None
            won = session.execute(
                update(Job)
                .where(Job.id == job_id, claimable(now))
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    started_at=func.coalesce(Job.started_at, at(now)),
                    heartbeat_at=now,
                    updated_at=now,
                    run_after=None,
                    broker_task_id=task_id,
                    message="Starting…",
                )
            ).rowcount
            if won != 1:  # cancelled between the two statements
                return None
            row = session.execute(
                select(
                    Job.tenant_id,
                    Job.kind,
                    Job.params,
                    Job.attempts,
                    Job.checkpoint,
                    Job.created_by_id,
                    Job.progress,
                ).where(Job.id == job_id)
            ).one()
        log.info("job_claimed", job_id=str(job_id), kind=row.kind, attempt=row.attempts)
        return JobRun(
            runtime=self,
            job_id=job_id,
            tenant_id=row.tenant_id,
            kind=row.kind,
            params=dict(row.params or {}),
            attempt=row.attempts,
            checkpoint=row.checkpoint,
            created_by_id=row.created_by_id,
            fraction=row.progress or 0.0,
        )

    def execute(self, run: JobRun) -> None:
        handler = HANDLERS.get(run.kind)
        if handler is None:
            self.finish_failed(run, f"This kind of job ({run.kind!r}) is not known to the worker.")
            return
        try:
            run.check_cancelled()
            result = handler(run)
        except JobLost:
            log.warning("job_lost", job_id=str(run.job_id), attempt=run.attempt)
        except WorkerStopping:
            self.requeue_stopped(run)
        except JobCancelled:
            self.finish_cancelled(run)
        except JobFailed as exc:
            self.finish_failed(run, exc.message, exc.result)
        except (TransientJobError, OperationalError) as exc:
            self.retry_or_fail(run, exc)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                self.retry_or_fail(run, exc)
            else:
                self.fail_unexpectedly(run)
        except Exception:
            self.fail_unexpectedly(run)
        else:
            self.finish(
                run,
                status="succeeded",
                progress=1.0,
                result=result if result is not None else {},
                message=run.message if run.message != "Starting…" else "Done",
                finished_at=utcnow(),
            )
            log.info("job_succeeded", job_id=str(run.job_id), kind=run.kind)

    # -- outcomes: every one goes through finish() ----------------------------------------

    def finish_failed(
        self, run: JobRun, message: str, result: dict[str, Any] | None = None
    ) -> None:
        log.info("job_failed", job_id=str(run.job_id), kind=run.kind, reason=message)
        values: dict[str, Any] = {"error": _clip(message), "message": _clip(message)}
        if result is not None:
            values["result"] = result
        self.finish(run, status="failed", finished_at=utcnow(), progress=run.fraction, **values)

    def fail_unexpectedly(self, run: JobRun) -> None:
        log.exception("job_crashed", job_id=str(run.job_id), kind=run.kind)
        self.finish_failed(run, UNEXPECTED.format(job_id=run.job_id))

    def finish_cancelled(self, run: JobRun) -> None:
        # "Cancelled by <name>", read in the UPDATE itself (one round trip fewer: cancel latency).
        canceller = (
            select(func.coalesce(func.nullif(User.name, ""), User.email))
            .where(User.id == Job.cancel_requested_by_id)
            .scalar_subquery()
        )
        log.info("job_cancelled", job_id=str(run.job_id), kind=run.kind)
        self.finish(
            run,
            status="cancelled",
            finished_at=utcnow(),
            progress=run.fraction,
            message=func.coalesce(literal("Cancelled by ") + canceller, "Cancelled"),
        )

    def retry_or_fail(self, run: JobRun, exc: Exception) -> None:
        if isinstance(exc, TransientJobError) and str(exc):
            reason = str(exc)
        elif isinstance(exc, DBAPIError):
            reason = "the database was unavailable"
        else:
            reason = "a temporary error"
        maximum = self.settings.job_max_attempts
        if run.attempt >= maximum:
            self.finish_failed(
                run, f"The job failed {run.attempt} times because of a temporary problem: {reason}."
            )
            return
        delay = backoff_seconds(run.attempt)
        task_id = str(uuid.uuid4())
        log.info("job_retrying", job_id=str(run.job_id), attempt=run.attempt, delay=delay)
        if self.finish(
            run,
            status="queued",
            run_after=utcnow() + timedelta(seconds=delay),
            heartbeat_at=None,
            broker_task_id=task_id,
            progress=run.fraction,
            message=_clip(
                f"Retrying in {delay:.0f} s (attempt {run.attempt + 1} of {maximum}): {reason}"
            ),
        ):
            self.send_doorbell(run.job_id, task_id=task_id, countdown=delay)

    def requeue_stopped(self, run: JobRun) -> None:
        task_id = str(uuid.uuid4())
        log.info("job_requeued_worker_stopping", job_id=str(run.job_id))
        if self.finish(
            run,
            status="queued",
            attempts=Job.attempts - 1,
            heartbeat_at=None,
            broker_task_id=task_id,
            message=REQUEUED_WORKER_STOPPED,
        ):
            self.send_doorbell(run.job_id, task_id=task_id)

    def finish(self, run: JobRun, **values: Any) -> bool:
        """Write the job's outcome if this run still owns it; retried while the database is
        unreachable (the reaper takes over if it never comes back). True when written."""
        for attempt in range(5):
            try:
                with worker_db.system_session(self.engine) as session:
                    written = session.execute(
                        update(Job)
                        .where(
                            Job.id == run.job_id,
                            Job.status == "running",
                            Job.attempts == run.attempt,
                        )
                        .values(**values, updated_at=utcnow())
                    ).rowcount
                if written != 1:
                    log.warning("job_finish_lost", job_id=str(run.job_id), values=list(values))
                return written == 1
            except OperationalError:
                log.warning("job_finish_retry", job_id=str(run.job_id), exc_info=True)
                time.sleep(0.5 * (attempt + 1))
        log.error("job_finish_gave_up", job_id=str(run.job_id))
        return False


# -- one runtime per app per process ----------------------------------------------------------

_runtimes: dict[int, Runtime] = {}
_registry_lock = threading.Lock()


def get_runtime(app: Celery) -> Runtime:
    """This process's runtime for `app` (created on first use)."""
    runtime = _runtimes.get(id(app))
    if runtime is None or runtime.pid != os.getpid():
        with _registry_lock:
            runtime = _runtimes.get(id(app))
            if runtime is None or runtime.pid != os.getpid():
                if runtime is not None:  # inherited through fork
                    runtime.forget_after_fork()
                from workers.tasks import load_handlers

                load_handlers()
                runtime = Runtime(app, app.console_settings)  # type: ignore[attr-defined]
                _runtimes[id(app)] = runtime
    return runtime


def drop_runtime(app: Celery) -> None:
    """Close and forget `app`'s runtime in this process (worker shutdown; tests)."""
    with _registry_lock:
        runtime = _runtimes.pop(id(app), None)
    if runtime is not None:
        runtime.close()


@contextmanager
def _ignore_errors(event: str) -> Iterator[None]:
    try:
        yield
    except Exception:
        log.warning(event, exc_info=True)


_signals_connected = False


def connect_signals() -> None:
    """Celery worker signals: watcher on ready, fresh engines after fork, clean stop."""
    global _signals_connected
    if _signals_connected:
        return
    _signals_connected = True
    from celery import signals

    @signals.worker_ready.connect(weak=False)
    def _on_ready(sender: Any = None, **_: Any) -> None:
        app = getattr(sender, "app", None)
        if app is not None and hasattr(app, "console_settings"):
            with _ignore_errors("job_watcher_start_failed"):
                get_runtime(app).ensure_watcher()

    @signals.worker_process_init.connect(weak=False)
    def _after_fork(**_: Any) -> None:
        # The parent's engines (and a held lock) must not be used in the child (notes: prefork).
        global _registry_lock
        _registry_lock = threading.Lock()
        for runtime in list(_runtimes.values()):
            runtime.forget_after_fork()
        _runtimes.clear()

    @signals.worker_shutting_down.connect(weak=False)
    def _on_shutting_down(**_: Any) -> None:
        for runtime in list(_runtimes.values()):
            runtime.begin_stop()

    @signals.worker_shutdown.connect(weak=False)
    @signals.worker_process_shutdown.connect(weak=False)
    def _on_shutdown(**_: Any) -> None:
        for runtime in list(_runtimes.values()):
            with _ignore_errors("job_runtime_close_failed"):
                runtime.close()
