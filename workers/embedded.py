"""A real Celery worker inside the current process (`console run`, tests, benches).

Per the notes: the app is made current AND default before the WorkController is built (else the
worker silently runs tasks against Celery's default app), the bare WorkController runs in a thread
(`app.Worker().start()` would redirect stdout and break `AsyncResult.get()`), and the global
"task join will block" flag it sets is cleared again. One embedded worker per process at a time:
Celery's stop switch (`celery.worker.state.should_terminate`) is process-wide.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog
from celery import Celery
from celery.result import _set_task_join_will_block
from celery.utils.nodenames import anon_nodename
from celery.worker import WorkController
from celery.worker import state as worker_state

from console.settings import Settings
from workers.app import QUEUE, create_celery_app
from workers.runtime import Runtime, drop_runtime, get_runtime

log = structlog.get_logger(__name__)


class _WorkController(WorkController):
    """Tells the starting thread when the consumer is up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: object) -> None:
        self.ready.set()


@dataclass
class EmbeddedWorker:
    """A running in-process worker; `stop()` it (or use it as a context manager)."""

    app: Celery
    controller: WorkController
    thread: threading.Thread
    runtime: Runtime
    stopped: bool = field(default=False)

    def stop(self, timeout: float = 15.0) -> None:
        """Running jobs go back to the queue at their next checkpoint; then the worker stops."""
        if self.stopped:
            return
        self.stopped = True
        self.runtime.begin_stop()
        worker_state.should_terminate = 0
        # The consumer polls the embedded broker for up to 2 s between checks of the stop
        # switch; a doorbell without a job wakes it (and is dropped by a stopping runtime).
        self.runtime.send_doorbell(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            log.warning("embedded_worker_stop_timeout", timeout=timeout)
        worker_state.should_terminate = None
        worker_state.should_stop = None
        drop_runtime(self.app)
        _set_task_join_will_block(False)

    def __enter__(self) -> EmbeddedWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_embedded_worker(
    settings: Settings,
    *,
    app: Celery | None = None,
    concurrency: int | None = None,
    pool: str | None = None,
    start_timeout: float = 30.0,
) -> EmbeddedWorker:
    """Start a worker thread consuming console.jobs; returns once it consumes.

    The pool is `threads` unless settings (or `pool`) say `solo`: prefork cannot run in a thread.
    """
    app = app or create_celery_app(settings)
    pool = pool or ("solo" if settings.worker_pool == "solo" else "threads")
    if pool == "prefork":
        raise ValueError("an embedded worker runs the threads or solo pool, not prefork")
    app.finalize()
    app.set_current()
    app.set_default()
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=3)
    worker_state.should_terminate = None
    worker_state.should_stop = None
    controller = _WorkController(
        app=app,
        hostname=anon_nodename(hostname=None, prefix="console-embedded"),
        concurrency=concurrency or settings.worker_concurrency,
        pool=pool,
        queues=[QUEUE],
        loglevel=settings.log_level,
        ready_callback=None,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=controller.start, name="console-worker", daemon=True)
    thread.start()
    if not controller.ready.wait(start_timeout):
        raise RuntimeError(f"the embedded worker did not start within {start_timeout} s")
    _set_task_join_will_block(False)
    runtime = get_runtime(app)
    runtime.ensure_watcher()
    log.info("embedded_worker_started", pool=pool, concurrency=controller.concurrency)
    return EmbeddedWorker(app=app, controller=controller, thread=thread, runtime=runtime)
