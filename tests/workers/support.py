"""Run jobs for real in tests: a real Celery worker, the broker CONSOLE_TEST_BROKER picks.

Never `task_always_eager`: the worker consumes doorbells from a real broker and runs the real
runtime (claim, watcher, finish). Typical use, from any test module::

    from tests.workers.support import running_worker, worker_settings, enqueue_job, wait_for_job

    settings = worker_settings(test_database, tmp_path)   # CONSOLE_TEST_BROKER: filesystem|redis
    with running_worker(settings) as worker:                # an in-process worker thread
        job_id = enqueue_job(settings, tenant.id, "export", {"filter": {}})
        row = wait_for_job(settings, job_id, {"succeeded"})

An API end-to-end test starts the worker with the app's own settings, so the web side's doorbells
and the worker meet on the same broker and database: `with running_worker(app.state.settings):`.
Pick that app's broker with `fresh_broker_url(tmp)` when building its settings (Redis when
CONSOLE_TEST_BROKER=redis). One in-process worker at a time (Celery's stop switch is
process-wide); for a second, separate worker use `start_worker_process(settings)` (a
`console worker` subprocess that gets its settings through CONSOLE_* variables).

tests/workers/conftest.py wraps these as fixtures: `worker_settings` and `running_worker`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import Engine, Row, insert, select, update

from console.db import utcnow
from console.jobs.models import Job
from console.settings import Settings
from tests.backends import DatabaseUnderTest
from tests.conftest import make_settings
from workers import db as worker_db
from workers.app import TASK_NAME, create_celery_app, split_key_prefix
from workers.embedded import EmbeddedWorker, start_embedded_worker

BROKER = os.environ.get("CONSOLE_TEST_BROKER", "filesystem")
REQUIRE_REDIS = os.environ.get("CONSOLE_TEST_REQUIRE_REDIS") == "1"
REDIS_TEST_URL = os.environ.get("CONSOLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parents[2]
FINAL = frozenset({"succeeded", "failed", "cancelled"})

_engines: dict[str, Engine] = {}
_apps: dict[str, Celery] = {}


def redis_unreachable(url: str = REDIS_TEST_URL) -> str | None:
    """None when Redis answers, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis at {url} unreachable: {exc!r}"


def require_broker(broker: str = BROKER) -> None:
    """Skip (or fail, with CONSOLE_TEST_REQUIRE_REDIS=1) when the broker is not there."""
    if broker == "redis":
        reason = redis_unreachable()
        if reason:
            if REQUIRE_REDIS:
                pytest.fail(reason)
            pytest.skip(reason)
    elif broker != "filesystem":
        raise ValueError(f"CONSOLE_TEST_BROKER must be filesystem or redis, not {broker!r}")


def fresh_broker_url(tmp: Path, broker: str = BROKER) -> str:
    """A broker of the session's own: a folder under `tmp`, or Redis db 14 under a key prefix
    unique to this call (parallel runs never take each other's doorbells)."""
    require_broker(broker)
    if broker == "redis":
        return f"{REDIS_TEST_URL}?global_keyprefix=console-test-{uuid.uuid4().hex[:12]}:"
    return f"filesystem://{tmp / 'broker'}"


def worker_settings(
    db: DatabaseUnderTest, tmp: Path, *, broker: str = BROKER, **overrides: Any
) -> Settings:
    """Settings for the test database and a fresh broker; short lease for fast recovery."""
    values: dict[str, Any] = {
        "broker_url": fresh_broker_url(tmp, broker),
        "files_dir": tmp / "files",
        "job_lease_seconds": 3,
        "worker_concurrency": 2,
        "worker_pool": "threads",
        **overrides,
    }
    return make_settings(db, tmp, **values)


def flush_broker(settings: Settings) -> None:
    """Delete a Redis test broker's keys (its key prefix); filesystem brokers live in tmp."""
    if not settings.broker_url.startswith("redis"):
        return
    import redis

    url, prefix = split_key_prefix(settings.broker_url)
    client = redis.Redis.from_url(url)
    if prefix:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        client.flushdb()


@contextmanager
def running_worker(
    settings: Settings, *, concurrency: int | None = None
) -> Iterator[EmbeddedWorker]:
    """A real worker thread for `settings` (threads pool) for the duration of the block."""
    worker = start_embedded_worker(settings, concurrency=concurrency)
    try:
        yield worker
    finally:
        worker.stop()


def settings_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """The CONSOLE_* variables that give a subprocess these settings."""
    env = {**os.environ}
    names = (
        "database_url",
        "migrations_database_url",
        "broker_url",
        "files_dir",
        "job_lease_seconds",
        "job_max_attempts",
        "job_progress_interval_seconds",
        "job_cancel_poll_seconds",
        "worker_concurrency",
        "worker_pool",
        "log_level",
        "environment",
        "public_base_url",
    )
    for name in names:
        value = getattr(settings, name)
        if value is not None:
            env[f"CONSOLE_{name.upper()}"] = str(getattr(value, "value", value))
    for name, value in extra.items():
        env[f"CONSOLE_{name.upper()}"] = str(value)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start_worker_process(
    settings: Settings,
    *,
    preload: Iterable[str] = ("tests.workers.handlers",),
    log_path: Path | None = None,
    **extra: Any,
) -> subprocess.Popen[bytes]:
    """`console worker` in a subprocess (settings through CONSOLE_* variables; `extra`
    overrides, e.g. worker_pool="prefork"); `preload` modules are imported first (test-only
    handlers). Stop it with `stop_process`."""
    imports = "".join(f"import {name}; " for name in preload)
    code = f"{imports}import sys; sys.argv = ['console', 'worker']; from console.cli import main; main()"
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=settings_env(settings, **extra),
        cwd=ROOT,
        stdout=out,
        stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Terminate a worker subprocess we started (its process group: prefork children too)."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(5)


def engine_for(settings: Settings) -> Engine:
    engine = _engines.get(settings.database_url)
    if engine is None:
        engine = _engines[settings.database_url] = worker_db.create_sync_engine(
            settings.database_url
        )
    return engine


def celery_app_for(settings: Settings) -> Celery:
    """A sender app for this broker (doorbells from the test's side)."""
    app = _apps.get(settings.broker_url)
    if app is None:
        app = _apps[settings.broker_url] = create_celery_app(settings)
    return app


def ring(settings: Settings, job_id: uuid.UUID | None, *, task_id: str | None = None) -> str:
    """Send one doorbell (what the web side does after its commit)."""
    task_id = task_id or str(uuid.uuid4())
    celery_app_for(settings).send_task(
        TASK_NAME, kwargs={"job_id": str(job_id) if job_id else None}, task_id=task_id
    )
    return task_id


def insert_job(
    settings: Settings,
    tenant_id: uuid.UUID,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    created_by_id: uuid.UUID | None = None,
    **values: Any,
) -> tuple[uuid.UUID, str]:
    """A queued job row (as the API's service creates it); returns (id, broker task id)."""
    job_id, task_id = uuid.uuid4(), str(uuid.uuid4())
    now = utcnow()
    row: dict[str, Any] = {
        "id": job_id,
        "tenant_id": tenant_id,
        "kind": kind,
        "status": "queued",
        "progress": 0.0,
        "message": "Queued",
        "params": params or {},
        "created_by_id": created_by_id,
        "attempts": 0,
        "broker_task_id": task_id,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    with worker_db.system_session(engine_for(settings)) as session:
        session.execute(insert(Job).values(**row))
    return job_id, task_id


def enqueue_job(
    settings: Settings,
    tenant_id: uuid.UUID,
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    created_by_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Insert a queued job, then ring its doorbell (after the commit, like the API)."""
    job_id, task_id = insert_job(settings, tenant_id, kind, params, created_by_id=created_by_id)
    ring(settings, job_id, task_id=task_id)
    return job_id


def job_row(settings: Settings, job_id: uuid.UUID) -> Row[Any]:
    with worker_db.system_session(engine_for(settings)) as session:
        return session.execute(select(Job.__table__).where(Job.id == job_id)).one()


def wait_for_job(
    settings: Settings,
    job_id: uuid.UUID,
    statuses: Iterable[str] = FINAL,
    *,
    timeout: float = 20.0,
    poll: float = 0.01,
    progress_above: float | None = None,
) -> Row[Any]:
    """Poll the row until its status is one of `statuses` (and progress > `progress_above`)."""
    wanted = set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        row = job_row(settings, job_id)
        if row.status in wanted and (progress_above is None or row.progress > progress_above):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} still {row.status} ({row.message!r}) after {timeout} s; "
                f"wanted {sorted(wanted)}"
            )
        time.sleep(poll)


def request_cancel(settings: Settings, job_id: uuid.UUID, by: uuid.UUID | None = None) -> str:
    """What the API's cancel does: a queued job is cancelled at once; a running one gets the
    flag. Returns the status the row was in."""
    now = utcnow()
    with worker_db.system_session(engine_for(settings)) as session:
        queued = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(
                status="cancelled",
                finished_at=now,
                cancel_requested_at=now,
                cancel_requested_by_id=by,
                message="Cancelled",
                updated_at=now,
            )
        ).rowcount
        if queued:
            return "queued"
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(cancel_requested_at=now, cancel_requested_by_id=by, updated_at=now)
        )
    return "running"


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
