"""The Celery app, configured from the console's Settings.

The broker carries doorbells, not work: one task, `console.jobs.run_next`, on one queue,
`console.jobs`. A worker that receives a doorbell claims the fairest claimable job row and runs
it (workers/runtime.py). `celery -A workers.app worker` uses the module-level `app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from celery import Celery

from console.jobs.dispatch import QUEUE, TASK_NAME
from console.settings import Settings, get_settings

FILESYSTEM_SCHEME = "filesystem://"


def filesystem_folder(broker_url: str) -> Path | None:
    """The folder of a `filesystem://<folder>` broker URL, or None for other brokers."""
    if not broker_url.startswith(FILESYSTEM_SCHEME):
        return None
    return Path(broker_url[len(FILESYSTEM_SCHEME) :] or "var/broker")


def filesystem_options(folder: Path) -> dict[str, Any]:
    """Transport options for the embedded broker; creates its folders."""
    queue_folder, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (queue_folder, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return {
        # In and out are the same folder: producers write where consumers read.
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
        # Consumed messages are renamed here (same file system: atomic, so two workers never
        # both take one); the maintenance pass deletes old ones.
        "store_processed": True,
        "processed_folder": str(processed),
        "control_folder": str(control),
        "polling_interval": 0.1,
    }


def broker_config(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The broker URL Celery gets and its transport options."""
    folder = filesystem_folder(settings.broker_url)
    if folder is not None:
        return FILESYSTEM_SCHEME, filesystem_options(folder)
    if settings.broker_url.startswith(("redis://", "rediss://")):
        url, prefix = split_key_prefix(settings.broker_url)
        return url, {
            **({"global_keyprefix": prefix} if prefix else {}),
            # Above the longest job: an unacknowledged doorbell is redelivered after this.
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            # A whole worker's death is noticed in ~5 s instead of ~90 s (notes).
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        }
    return settings.broker_url, {}


def split_key_prefix(url: str) -> tuple[str, str | None]:
    """A Redis URL's `global_keyprefix` query parameter (several consoles sharing one Redis
    database, e.g. parallel test runs) taken out of the URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "global_keyprefix"), None)
    if prefix is None:
        return url, None
    rest = urlencode([(k, v) for k, v in query if k != "global_keyprefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app for these settings with the doorbell task registered."""
    broker_url, transport_options = broker_config(settings)
    app = Celery("console", broker=broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE,
        task_default_exchange=QUEUE,
        task_default_routing_key=QUEUE,
        task_create_missing_queues=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        # A doorbell is acknowledged after its job ran; a worker lost mid-job gets it redelivered
        # (Redis), and the job row's lease covers the transports that never redeliver.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        worker_pool=settings.worker_pool,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_enable_remote_control=True,
        timezone="UTC",
        enable_utc=True,
    )
    app.console_settings = settings  # type: ignore[attr-defined]

    from workers import runtime

    @app.task(name=TASK_NAME, bind=True, ignore_result=True, shared=False)
    def run_next(self: Any, job_id: str | None = None) -> None:
        """Claim the fairest claimable job and run it; a no-op when there is none."""
        runtime.get_runtime(self.app).run_next(self.request.id, job_id)

    runtime.connect_signals()
    return app


app = create_celery_app(get_settings())
