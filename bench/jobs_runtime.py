"""Job runtime measurements for bench/jobs.py: cancel latency and recovery from worker death.

Functions, not a CLI. Each starts real `console worker` subprocesses (settings through CONSOLE_*
variables) on the given database and a broker of its own, and reads the job rows as the API
would. Importing this module registers the chunked handler "bench.chunks" (the workers import it
too, via `-c "import bench.jobs_runtime; ..."`).

    from bench.jobs_runtime import measure_cancel_latency, measure_worker_death
    measure_cancel_latency(settings, "redis", "prefork", 20)
    measure_worker_death(settings, lease=5)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from console.db import utcnow
from console.jobs.models import Job
from console.settings import Settings
from console.tenancy.models import Tenant
from workers import db as worker_db
from workers.app import TASK_NAME, create_celery_app, split_key_prefix
from workers.context import HANDLERS, JobContext

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("CONSOLE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
KIND = "bench.chunks"


@HANDLERS.register(KIND)
def chunks(ctx: JobContext) -> dict[str, Any]:
    """`chunks` chunks of `chunk_ms` ms of work (a sleep), checking for cancel between them."""
    total = int(ctx.params.get("chunks", 1000))
    pause = float(ctx.params.get("chunk_ms", 20)) / 1000
    start = int((ctx.checkpoint or {}).get("done", 0))
    for done in range(start + 1, total + 1):
        ctx.check_cancelled()
        time.sleep(pause)
        ctx.progress(done, total, f"{done:,} of {total:,} chunks")
    return {"chunks": total}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """PR_SET_PDEATHSIG: a worker whose bench process died (even by kill -9) is killed too."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)


class Harness:
    """A broker of its own, a tenant, and worker subprocesses for one measurement.

    `key_prefix` starts the Redis keys' prefix (a run-wide one lets the caller sweep them all);
    close() stops the workers and removes the broker's keys or folder, and the temp folder.
    """

    def __init__(
        self,
        settings: Settings,
        broker: str,
        *,
        key_prefix: str = "console-bench-",
        **overrides: Any,
    ) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="console-bench-jobs-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.engine: Any = None
        self.celery: Any = None
        try:
            if broker == "redis":
                prefix = f"{key_prefix}{uuid.uuid4().hex[:8]}:"
                broker_url = f"{REDIS_URL}?global_keyprefix={prefix}"
            elif broker == "filesystem":
                broker_url = f"filesystem://{self.folder / 'broker'}"
            else:
                raise ValueError(f"broker must be filesystem or redis, not {broker!r}")
            self.settings = settings.model_copy(update={"broker_url": broker_url, **overrides})
            self.engine = worker_db.create_sync_engine(self.settings.database_url)
            self.celery = create_celery_app(self.settings)
            self.tenant_id = uuid.uuid4()
            with worker_db.system_session(self.engine) as session:
                slug = f"bench-jobs-{self.tenant_id.hex[:10]}"
                session.execute(insert(Tenant).values(id=self.tenant_id, slug=slug, name=slug))
        except BaseException:
            self.close()
            raise

    def log_tail(self, lines: int = 30) -> str:
        """The end of the workers' shared log (for error messages)."""
        try:
            text = (self.folder / "worker.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start_worker(self, **overrides: Any) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        values = {
            "database_url": self.settings.database_url,
            "broker_url": self.settings.broker_url,
            "job_lease_seconds": self.settings.job_lease_seconds,
            "job_cancel_poll_seconds": self.settings.job_cancel_poll_seconds,
            "job_progress_interval_seconds": self.settings.job_progress_interval_seconds,
            "worker_pool": self.settings.worker_pool,
            "worker_concurrency": self.settings.worker_concurrency,
            "log_level": "WARNING",
            **overrides,
        }
        env.update({f"CONSOLE_{k.upper()}": str(v) for k, v in values.items()})
        code = (
            "import bench.jobs_runtime, sys; sys.argv = ['console', 'worker']; "
            "from console.cli import main; main()"
        )
        with open(self.folder / "worker.log", "ab") as log:  # the child keeps its own copy
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                [sys.executable, "-c", code],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 takes the children too
                preexec_fn=_die_with_parent,  # the spawning thread must outlive the worker
            )
        self.processes.append(process)
        return process

    def add_tenant(self) -> uuid.UUID:
        """Another tenant (fairness runs need two)."""
        tenant_id = uuid.uuid4()
        with worker_db.system_session(self.engine) as session:
            slug = f"bench-jobs-{tenant_id.hex[:10]}"
            session.execute(insert(Tenant).values(id=tenant_id, slug=slug, name=slug))
        return tenant_id

    def enqueue(self, params: dict[str, Any], tenant_id: uuid.UUID | None = None) -> uuid.UUID:
        job_id, task_id, now = uuid.uuid4(), str(uuid.uuid4()), utcnow()
        with worker_db.system_session(self.engine) as session:
            session.execute(
                insert(Job).values(
                    id=job_id,
                    tenant_id=tenant_id or self.tenant_id,
                    kind=KIND,
                    status="queued",
                    progress=0.0,
                    message="Queued",
                    params=params,
                    attempts=0,
                    broker_task_id=task_id,
                    created_at=now,
                    updated_at=now,
                )
            )
        self.celery.send_task(TASK_NAME, kwargs={"job_id": str(job_id)}, task_id=task_id)
        return job_id

    def row(self, job_id: uuid.UUID) -> Any:
        with worker_db.system_session(self.engine) as session:
            return session.execute(
                select(Job.status, Job.progress, Job.attempts).where(Job.id == job_id)
            ).one()

    def wait(self, job_id: uuid.UUID, test: Any, timeout: float, poll: float = 0.005) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            row = self.row(job_id)
            if test(row):
                return row
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id}: {row}")
            time.sleep(poll)

    def cancel(self, job_id: uuid.UUID) -> None:
        now = utcnow()
        with worker_db.system_session(self.engine) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(cancel_requested_at=now, updated_at=now)
            )

    def close(self) -> None:
        """Everything this harness made goes, each step even when another one failed: the
        workers (their whole process groups), the unfinished jobs, the Redis keys, the folder."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(20)
            # The group too: a prefork child may outlive its parent for a moment.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        if self.engine is not None and hasattr(self, "tenant_id"):
            with contextlib.suppress(Exception), worker_db.system_session(self.engine) as session:
                session.execute(
                    update(Job)
                    .where(Job.tenant_id == self.tenant_id, Job.status.in_(("queued", "running")))
                    .values(status="cancelled", finished_at=utcnow())
                )
        if self.engine is not None:
            self.engine.dispose()
        if self.celery is not None:
            with contextlib.suppress(Exception):
                self.celery.close()  # the producer's broker connections
        if hasattr(self, "settings"):
            url, prefix = split_key_prefix(self.settings.broker_url)
            if prefix:
                delete_redis_keys(url, prefix)
        shutil.rmtree(self.folder, ignore_errors=True)


def delete_redis_keys(url: str, prefix: str) -> int:
    """Delete every key starting with `prefix` in the Redis database of `url`; how many."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        deleted = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch.clear()
        if batch:
            deleted += client.delete(*batch)
        return deleted
    finally:
        client.close()


def _ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {
        "p50_ms": round(statistics.median(values) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
        "samples_ms": [round(v * 1000) for v in values],
    }


def measure_cancel_latency(
    settings: Settings, broker: str, pool: str, n: int, *, key_prefix: str = "console-bench-"
) -> dict[str, Any]:
    """Cancel a running chunked job (20 ms chunks) `n` times: time from the cancel request
    (the API's UPDATE committed) to the row recorded cancelled, which the worker writes only
    after the handler stopped."""
    harness = Harness(
        settings, broker, key_prefix=key_prefix, worker_pool=pool, worker_concurrency=2
    )
    try:
        harness.start_worker()
        latencies: list[float] = []
        worker_side: list[float] = []  # cancel_requested_at -> the worker's finished_at
        for _ in range(n):
            job_id = harness.enqueue({"chunks": 5000, "chunk_ms": 20})
            harness.wait(job_id, lambda r: r.status == "running" and r.progress > 0, 60, 0.01)
            time.sleep(random.uniform(0.05, 0.3))  # a random point in a chunk
            asked = time.monotonic()
            harness.cancel(job_id)
            harness.wait(job_id, lambda r: r.status == "cancelled", 10)
            latencies.append(time.monotonic() - asked)
            with worker_db.system_session(harness.engine) as session:
                requested, finished = session.execute(
                    select(Job.cancel_requested_at, Job.finished_at).where(Job.id == job_id)
                ).one()
            worker_side.append((finished - requested).total_seconds())
        return {
            "broker": broker,
            "pool": pool,
            "n": n,
            "cancel_poll_s": harness.settings.job_cancel_poll_seconds,
            "chunk_ms": 20,
            **_ms(latencies),
            # Where the time goes: until the worker stopped the handler and stamped finished_at
            # (its watcher's poll wait + the rest of a chunk) vs. its UPDATE's commit and this
            # bench noticing it (5 ms polls).
            "worker_stop": {k: v for k, v in _ms(worker_side).items() if k != "samples_ms"},
        }
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; worker log:\n{harness.log_tail()}") from exc
    finally:
        harness.close()


def measure_worker_death(
    settings: Settings,
    lease: float,
    broker: str = "filesystem",
    pool: str = "threads",
    *,
    key_prefix: str = "console-bench-",
) -> dict[str, Any]:
    """kill -9 a whole worker (its process group) mid-job, start another at once (a pod
    restart), and time until the job runs again (re-queued by the new worker's reaper once the
    lease expired, then claimed)."""
    harness = Harness(
        settings, broker, key_prefix=key_prefix, job_lease_seconds=lease, worker_pool=pool
    )
    try:
        first = harness.start_worker()
        job_id = harness.enqueue({"chunks": 2000, "chunk_ms": 20})
        harness.wait(job_id, lambda r: r.status == "running" and r.progress > 0, 60, 0.01)
        os.killpg(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.wait(5)
        harness.start_worker()
        requeued = harness.wait(
            job_id, lambda r: r.attempts >= 2 or r.status != "running", 10 * lease
        )
        requeued_after = time.monotonic() - killed
        again = harness.wait(job_id, lambda r: r.status in ("running", "failed"), 10 * lease)
        running_after = time.monotonic() - killed
        return {
            "broker": broker,
            "pool": pool,
            "lease_s": lease,
            "status_after": again.status,
            "attempts": again.attempts,
            "first_change": requeued.status,
            "requeued_or_claimed_s": round(requeued_after, 2),
            "running_again_s": round(running_after, 2),
            "within_2x_lease": running_after <= 2 * lease,
        }
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; worker log:\n{harness.log_tail()}") from exc
    finally:
        harness.close()


def measure_fairness(
    settings: Settings,
    broker: str = "filesystem",
    *,
    job_seconds: float = 1.0,
    key_prefix: str = "console-bench-",
) -> dict[str, Any]:
    """Tenant A queues 12 jobs of `job_seconds`, then (once A fills both slots of the one
    worker) B queues 2: how long B waits for its first start, when A finishes, and how many
    slot-seconds sat idle while work was queued (2 x makespan - busy time)."""
    harness = Harness(
        settings, broker, key_prefix=key_prefix, worker_pool="threads", worker_concurrency=2
    )
    chunk_ms = 20
    params = {"chunks": max(1, round(job_seconds * 1000 / chunk_ms)), "chunk_ms": chunk_ms}
    try:
        harness.start_worker()
        tenant_b = harness.add_tenant()
        a_jobs = [harness.enqueue(params) for _ in range(12)]
        for job_id in a_jobs[:2]:
            harness.wait(job_id, lambda r: r.status == "running", 60, 0.01)
        b_queued = utcnow()
        b_jobs = [harness.enqueue(params, tenant_b) for _ in range(2)]
        for job_id in a_jobs + b_jobs:
            harness.wait(job_id, lambda r: r.status == "succeeded", 120, 0.05)
        with worker_db.system_session(harness.engine) as session:
            rows = {
                row.id: row
                for row in session.execute(
                    select(Job.id, Job.created_at, Job.started_at, Job.finished_at).where(
                        Job.id.in_(a_jobs + b_jobs)
                    )
                )
            }
        first = min(row.started_at for row in rows.values())
        last = max(row.finished_at for row in rows.values())
        busy = sum((row.finished_at - row.started_at).total_seconds() for row in rows.values())
        makespan = (last - first).total_seconds()
        b_waits = sorted((rows[j].started_at - b_queued).total_seconds() for j in b_jobs)
        a_done = max(rows[j].finished_at for j in a_jobs)
        order = sorted(rows, key=lambda j: rows[j].started_at)
        return {
            "broker": broker,
            "job_seconds": job_seconds,
            "b_first_start_wait_s": round(b_waits[0], 3),
            "b_second_start_wait_s": round(b_waits[1], 3),
            "a_done_after_s": round((a_done - first).total_seconds(), 3),
            "makespan_s": round(makespan, 3),
            "ideal_makespan_s": round(busy / 2, 3),
            "idle_slot_seconds": round(2 * makespan - busy, 3),
            "start_order": "".join("B" if j in b_jobs else "A" for j in order),
            # The target: B's first job starts within one job's duration.
            "pass": b_waits[0] <= job_seconds * 1.25,
        }
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; worker log:\n{harness.log_tail()}") from exc
    finally:
        harness.close()
