"""System health for operators: database, broker, workers, queue depth, dashboard sessions."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.db import Database, set_scope, utcnow
from console.jobs.models import Job
from console.kit.health import CHECK_TIMEOUT, check_broker
from console.platform import schemas
from console.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger(__name__)

PING_TIMEOUT = 1.0
# Several operators' consoles poll every few seconds: one ping answers them all for this long.
WORKERS_CACHE_SECONDS = 3.0

_celery_apps: dict[str, Celery] = {}
_celery_lock = threading.Lock()
_workers_cache: dict[str, tuple[float, schemas.WorkersHealth]] = {}


def _celery(settings: Settings) -> Celery:
    """One Celery app per broker for control messages (the process keeps it, like a pool)."""
    with _celery_lock:
        app = _celery_apps.get(settings.broker_url)
        if app is None:
            from workers.app import create_celery_app

            app = _celery_apps[settings.broker_url] = create_celery_app(settings)
        return app


def _ping_workers(settings: Settings) -> list[str]:
    """Names of the workers that answered a ping within PING_TIMEOUT (blocking)."""
    replies = _celery(settings).control.inspect(timeout=PING_TIMEOUT).ping() or {}
    return sorted(replies)


async def _timed(check: Any) -> schemas.ComponentHealth:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except Exception as exc:
        log.warning("health_check_failed", error_type=type(exc).__name__)
        return schemas.ComponentHealth(
            ok=False,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            detail=type(exc).__name__,
        )
    return schemas.ComponentHealth(
        ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 1)
    )


async def workers_health(settings: Settings) -> schemas.WorkersHealth:
    """Zero workers answering is a state to report, not an error."""
    key = settings.broker_url
    cached = _workers_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < WORKERS_CACHE_SECONDS:
        return cached[1]
    if settings.broker_url.startswith("memory://"):
        result = schemas.WorkersHealth(
            ok=False, count=0, names=[], detail="The in-memory broker reaches no other process."
        )
    else:
        try:
            names = await asyncio.wait_for(
                anyio.to_thread.run_sync(_ping_workers, settings, abandon_on_cancel=True),
                PING_TIMEOUT + CHECK_TIMEOUT,
            )
            result = schemas.WorkersHealth(
                ok=bool(names),
                count=len(names),
                names=names,
                detail=None if names else "No worker answered the ping.",
            )
        except Exception as exc:
            log.warning("health_worker_ping_failed", error_type=type(exc).__name__)
            result = schemas.WorkersHealth(
                ok=False, count=0, names=[], detail=f"Ping failed ({type(exc).__name__})."
            )
    _workers_cache[key] = (time.monotonic(), result)
    return result


async def _broker_queue_length(settings: Settings) -> int | None:
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return None
    from redis.asyncio import Redis

    from console.jobs.dispatch import QUEUE
    from workers.app import split_key_prefix

    url, prefix = split_key_prefix(settings.broker_url)
    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT)
    try:
        return int(await asyncio.wait_for(client.llen(f"{prefix or ''}{QUEUE}"), CHECK_TIMEOUT))
    except Exception as exc:
        log.warning("health_queue_length_failed", error_type=type(exc).__name__)
        return None
    finally:
        await client.aclose()


async def queue_health(db: AsyncSession, settings: Settings) -> schemas.QueueHealth:
    length = await _broker_queue_length(settings)
    try:
        await set_scope(db, system=True)
        rows = (
            await db.execute(
                select(Job.status, func.count(), func.min(Job.created_at))
                .where(Job.status.in_(("queued", "running")))
                .group_by(Job.status)
            )
        ).all()
    except Exception as exc:
        log.warning("health_queue_failed", error_type=type(exc).__name__)
        return schemas.QueueHealth(
            ok=False,
            queued=None,
            running=None,
            oldest_queued_age_seconds=None,
            broker_queue_length=length,
        )
    counts = {status: (count, oldest) for status, count, oldest in rows}
    queued, oldest = counts.get("queued", (0, None))
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        age = round(max(0.0, (utcnow() - oldest).total_seconds()), 1)
    return schemas.QueueHealth(
        ok=True,
        queued=queued,
        running=counts.get("running", (0, None))[0],
        oldest_queued_age_seconds=age,
        broker_queue_length=length,
    )


def sessions_health() -> schemas.SessionsHealth:
    from console.dashboard.state import live_sessions

    total, signed_in = live_sessions()
    return schemas.SessionsHealth(total=total, signed_in=signed_in)


async def platform_health(
    db: AsyncSession, database: Database, settings: Settings
) -> schemas.PlatformHealth:
    database_health, broker, workers = await asyncio.gather(
        _timed(database.ping()),
        _timed(check_broker(settings.broker_url)),
        workers_health(settings),
    )
    queue = await queue_health(db, settings)
    ok = database_health.ok and broker.ok and workers.ok and queue.ok
    return schemas.PlatformHealth(
        status="ok" if ok else "degraded",
        checked_at=datetime.now(UTC),
        process=f"{socket.gethostname()}:{os.getpid()}",
        database=database_health,
        broker=broker,
        workers=workers,
        queue=queue,
        sessions=sessions_health(),
    )
