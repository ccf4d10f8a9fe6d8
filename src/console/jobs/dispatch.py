"""Ringing the workers' doorbell: one `console.jobs.run_next` message per enqueued job."""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING, Protocol

import anyio.to_thread
import structlog

from console.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger(__name__)

TASK_NAME = "console.jobs.run_next"
QUEUE = "console.jobs"


def send_doorbell(
    app: Celery, job_id: uuid.UUID | str | None, *, task_id: str, countdown: float = 0
) -> None:
    """One `run_next` message (blocking; the job id is a hint for logs). A short retry: with
    the broker down the caller gets an error within about a second, and the workers' sweep
    rings for the queued row later."""
    app.send_task(
        TASK_NAME,
        kwargs={"job_id": str(job_id) if job_id else None},
        task_id=task_id,
        queue=QUEUE,
        countdown=countdown or None,
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_max": 0.5},
    )


class JobDispatcher(Protocol):
    async def dispatch(self, job_id: uuid.UUID, *, task_id: str, countdown: float = 0) -> None:
        """Tell a worker there is work; must not raise (the job row stays queued if it fails)."""
        ...


class CeleryDispatcher:
    """Sends doorbells through Celery, off the event loop; a broker failure is logged only:
    the job stays queued and the workers' maintenance pass rings for it again."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: Celery | None = None
        self._lock = threading.Lock()

    def _celery(self) -> Celery:
        with self._lock:
            if self._app is None:
                # Imported here: the web process needs Celery only once a job is sent.
                from workers.app import create_celery_app

                self._app = create_celery_app(self._settings)
            return self._app

    def _send(self, job_id: uuid.UUID, task_id: str, countdown: float) -> None:
        send_doorbell(self._celery(), job_id, task_id=task_id, countdown=countdown)

    async def dispatch(self, job_id: uuid.UUID, *, task_id: str, countdown: float = 0) -> None:
        try:
            await anyio.to_thread.run_sync(self._send, job_id, task_id, countdown)
        except Exception as exc:
            log.warning(
                "job_dispatch_failed",
                job_id=str(job_id),
                task_id=task_id,
                error_type=type(exc).__name__,
                error=str(exc)[:300],
            )

    async def aclose(self) -> None:
        app, self._app = self._app, None
        if app is not None:
            await anyio.to_thread.run_sync(app.close)
