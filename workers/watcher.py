"""One watcher thread per worker process: cancel flags, heartbeats, and the reaper.

- every job_cancel_poll_seconds, ONE query reads the cancel flag (and ownership) of the jobs this
  process runs, so `ctx.check_cancelled()` is an in-memory check;
- every lease/3, ONE UPDATE heartbeats them;
- every lease/3 (at most 5 s) a maintenance pass: running jobs whose heartbeat is older than the
  lease are cancelled (a cancel was asked), re-queued with a doorbell, or failed after
  job_max_attempts; claimable queued jobs untouched for 4 leases get a fresh doorbell (a lost
  doorbell). Conditional UPDATEs: any number of watchers may run it at once;
- every 10 minutes, consumed embedded-broker messages and job files past their retention go.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import func, select, update

from console.db import utcnow
from console.jobs.models import Job
from workers import db as worker_db
from workers.retention import delete_expired_files

if TYPE_CHECKING:
    from workers.runtime import Runtime

log = structlog.get_logger(__name__)

REAP_BATCH = 100
LOST_DOORBELL_LEASES = 4
PROCESSED_MESSAGE_MAX_AGE = 3600.0
PROCESSED_CLEANUP_INTERVAL = 600.0
LIVENESS_TOUCH_INTERVAL = 5.0


class Watcher(threading.Thread):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name="console-job-watcher", daemon=True)
        self.runtime = runtime
        self._stop_event = threading.Event()
        settings = runtime.settings
        self.poll = settings.job_cancel_poll_seconds
        self.heartbeat_every = settings.job_lease_seconds / 3
        self.maintenance_every = min(settings.job_lease_seconds / 3, 5.0)
        self.polls = 0  # cancel-flag queries run (tests and benches read it)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        now = time.monotonic()
        next_heartbeat = now + self.heartbeat_every
        next_maintenance = now  # once at start: a restarted worker reaps straight away
        next_cleanup = now
        next_touch = now
        while not self._stop_event.wait(self.poll):
            now = time.monotonic()
            if now >= next_touch:
                next_touch = now + LIVENESS_TOUCH_INTERVAL
                self.touch_liveness_file()
            try:
                if self.runtime.running:
                    self.poll_cancels()
                if now >= next_heartbeat:
                    next_heartbeat = now + self.heartbeat_every
                    self.heartbeat()
                if now >= next_maintenance:
                    next_maintenance = now + self.maintenance_every
                    self.maintenance()
                if now >= next_cleanup:
                    next_cleanup = now + PROCESSED_CLEANUP_INTERVAL
                    self.clean_processed_messages()
                    delete_expired_files(self.runtime.settings)
            except Exception:
                # The database or broker is away: keep trying; the lease covers the gap.
                log.warning("job_watcher_pass_failed", exc_info=True)
                self._stop_event.wait(1.0)

    def touch_liveness_file(self) -> None:
        path = self.runtime.settings.worker_liveness_file
        if path is None:
            return
        try:
            path.touch()
        except OSError:
            log.warning("worker_liveness_file_failed", path=str(path), exc_info=True)

    # -- this process's jobs -----------------------------------------------------------------

    def poll_cancels(self) -> None:
        runs = dict(self.runtime.running)
        if not runs:
            return
        self.polls += 1
        with worker_db.system_session(self.runtime.engine) as session:
            rows = session.execute(
                select(Job.id, Job.status, Job.attempts, Job.cancel_requested_at).where(
                    Job.id.in_(list(runs))
                )
            ).all()
        seen = {row.id: row for row in rows}
        for job_id, run in runs.items():
            row = seen.get(job_id)
            if row is None or row.status != "running" or row.attempts != run.attempt:
                run.lost_flag.set()
            elif row.cancel_requested_at is not None:
                run.cancel_flag.set()

    def heartbeat(self) -> None:
        ids = list(self.runtime.running)
        if not ids:
            return
        with worker_db.system_session(self.runtime.engine) as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(ids), Job.status == "running")
                # A heartbeat is not a change the status feed shows.
                .values(heartbeat_at=utcnow(), updated_at=Job.updated_at)
            )

    # -- every worker's jobs -----------------------------------------------------------------

    def maintenance(self) -> None:
        self.reap_expired()
        self.ring_forgotten()

    def reap_expired(self) -> None:
        """Running jobs whose worker stopped heartbeating: cancelled, re-queued or failed."""
        from workers.runtime import REQUEUED_WORKER_STOPPED

        runtime, settings = self.runtime, self.runtime.settings
        now = utcnow()
        cutoff = now - timedelta(seconds=settings.job_lease_seconds)
        last_sign = func.coalesce(Job.heartbeat_at, Job.updated_at)
        with worker_db.system_session(runtime.engine) as session:
            expired = session.execute(
                select(Job.id, Job.attempts, Job.cancel_requested_at)
                .where(Job.status == "running", last_sign < cutoff)
                .limit(REAP_BATCH)
            ).all()
        for row in expired:
            if row.id in runtime.running:
                continue  # ours and alive: the heartbeat is merely late
            doorbell: str | None = None
            if row.cancel_requested_at is not None:
                values = {"status": "cancelled", "finished_at": now, "message": "Cancelled"}
            elif row.attempts < settings.job_max_attempts:
                doorbell = str(uuid.uuid4())
                values = {
                    "status": "queued",
                    "message": REQUEUED_WORKER_STOPPED,
                    "heartbeat_at": None,
                    "run_after": None,
                    "broker_task_id": doorbell,
                }
            else:
                reason = f"The worker running this job stopped responding {row.attempts} times."
                values = {
                    "status": "failed",
                    "finished_at": now,
                    "message": reason,
                    "error": reason,
                }
            with worker_db.system_session(runtime.engine) as session:
                written = session.execute(
                    update(Job)
                    .where(
                        Job.id == row.id,
                        Job.status == "running",
                        Job.attempts == row.attempts,
                        last_sign < cutoff,
                    )
                    .values(**values, updated_at=now)
                ).rowcount
            if written == 1:
                log.warning("job_reaped", job_id=str(row.id), outcome=values["status"])
                if doorbell:
                    runtime.send_doorbell(row.id, task_id=doorbell)

    def ring_forgotten(self) -> None:
        """Claimable jobs nobody touched for 4 leases get another doorbell (a few per pass)."""
        from workers.runtime import claimable

        runtime = self.runtime
        now = utcnow()
        stale = now - timedelta(seconds=LOST_DOORBELL_LEASES * runtime.settings.job_lease_seconds)
        with worker_db.system_session(runtime.engine) as session:
            ids = (
                session.execute(
                    select(Job.id)
                    .where(claimable(now), Job.updated_at < stale)
                    .order_by(Job.created_at)
                    # A few per pass: while every slot is busy a backlog looks forgotten too,
                    # and a flood of no-op doorbells would only queue up behind it.
                    .limit(2 * runtime.settings.worker_concurrency)
                )
                .scalars()
                .all()
            )
        for job_id in ids:
            task_id = str(uuid.uuid4())
            with worker_db.system_session(runtime.engine) as session:
                written = session.execute(
                    update(Job)
                    .where(Job.id == job_id, claimable(now), Job.updated_at < stale)
                    .values(updated_at=now, broker_task_id=task_id)
                ).rowcount
            if written == 1:
                log.info("job_doorbell_resent", job_id=str(job_id))
                runtime.send_doorbell(job_id, task_id=task_id)

    def clean_processed_messages(self) -> None:
        """The embedded broker keeps consumed messages in its processed folder: prune them."""
        from workers.app import filesystem_folder

        folder = filesystem_folder(self.runtime.settings.broker_url)
        if folder is None or not (folder / "processed").is_dir():
            return
        oldest = time.time() - PROCESSED_MESSAGE_MAX_AGE
        for path in (folder / "processed").iterdir():
            try:
                if path.stat().st_mtime < oldest:
                    path.unlink()
            except OSError:
                continue
