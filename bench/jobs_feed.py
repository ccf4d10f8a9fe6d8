"""Live-update fan-out: database queries per second with N open job views (functions only;
bench/jobs.py prints the JSON).

    measure_feed_fanout(app_or_settings, views, seconds) opens `views` subscriptions on ONE
    status feed, each consumed by its own task exactly as a dashboard job view's loop consumes it
    (`with feed.subscribe(tenant) as sub: while True: await sub.next_changes()`), while a writer
    changes a few job rows of that tenant every 100 ms as workers do. It counts the feed's own
    `queries` and every statement the process sent to the database (SQLAlchemy cursor events), and
    checks every view saw the changes. For comparison it measures what one API poll of a job costs
    (statements per GET /api/v1/tenants/{t}/jobs/{id}, session auth included): every view polling
    the API at the feed's interval would cost views x that / interval per second.

    measure_fanout_series(app_or_settings, views=(1, 100, 1000), seconds=5) runs the three.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, update

from console.db import Database, utcnow
from console.identity import service as identity_service
from console.identity.models import User
from console.jobs.feed import JobFeed
from console.jobs.models import Job
from console.settings import Settings
from console.tenancy.models import Membership, Tenant

CHANGING_JOBS = 3
WRITE_EVERY = 0.1


class StatementCounter:
    """Counts statements an engine sends (every cursor execute, any session or connection)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.count = 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@asynccontextmanager
async def _feed_and_db(app_or_settings: FastAPI | Settings) -> AsyncIterator[tuple[Any, Any]]:
    """(feed, db): the app's own (its lifespan running), or a fresh pair from Settings."""
    if isinstance(app_or_settings, FastAPI):
        yield app_or_settings.state.job_feed, app_or_settings.state.db
        return
    db = Database(app_or_settings.database_url, pool_size=4)
    feed = JobFeed(db, app_or_settings.job_feed_interval_seconds)
    try:
        yield feed, db
    finally:
        await feed.aclose()
        await db.dispose()


async def _tenant_with_jobs(db: Database, jobs: int) -> tuple[Tenant, User, list[uuid.UUID]]:
    suffix = uuid.uuid4().hex[:8]
    async with db.system_session() as s:
        tenant = Tenant(slug=f"feed-bench-{suffix}", name="Feed bench", status="active")
        user = User(email=f"feed-bench-{suffix}@example.com", name="Feed bench")
        s.add_all([tenant, user])
        await s.flush()
        s.add(Membership(tenant_id=tenant.id, user_id=user.id, role="viewer"))
        rows = [
            Job(
                tenant_id=tenant.id,
                kind="export",
                status="running",
                progress=0.0,
                message="",
                params={},
                attempts=1,
                started_at=utcnow(),
                heartbeat_at=utcnow(),
            )
            for _ in range(jobs)
        ]
        s.add_all(rows)
        await s.flush()
        ids = [r.id for r in rows]
    return tenant, user, ids


async def _writer(db: Database, job_ids: list[uuid.UUID], stop: asyncio.Event) -> int:
    """Progress writes as workers make them; returns how many were written."""
    written = 0
    while not stop.is_set():
        written += 1
        async with db.system_session() as s:
            for job_id in job_ids:
                await s.execute(
                    update(Job)
                    .where(Job.id == job_id)
                    .values(
                        progress=min(written / 10_000, 1.0),
                        message=f"{written:,} of 10,000 rows",
                        updated_at=utcnow(),
                    )
                )
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), WRITE_EVERY)
    return written


async def _view(feed: Any, tenant_id: uuid.UUID, seen: list[int], index: int) -> None:
    """One job view's loop, minus the screen."""
    with feed.subscribe(tenant_id) as sub:
        while True:
            changes = await sub.next_changes()
            seen[index] += len(changes)


async def measure_feed_fanout(
    app_or_settings: FastAPI | Settings, views: int, seconds: float
) -> dict[str, Any]:
    """Queries per second of the status feed with `views` open views over `seconds`."""
    async with _feed_and_db(app_or_settings) as (feed, db):
        tenant, _, job_ids = await _tenant_with_jobs(db, CHANGING_JOBS)
        seen = [0] * views
        tasks = [
            asyncio.create_task(_view(feed, tenant.id, seen, i), name=f"bench-view-{i}")
            for i in range(views)
        ]
        await asyncio.sleep(0)  # all subscribed: the poller runs
        stop = asyncio.Event()
        queries_before = feed.queries
        with StatementCounter(db) as statements:
            started = time.perf_counter()
            writer = asyncio.create_task(_writer(db, job_ids, stop))
            await asyncio.sleep(seconds)
            stop.set()
            writes = await writer
            elapsed = time.perf_counter() - started
            feed_queries = feed.queries - queries_before
            total_statements = statements.count
        # Let the last writes reach every view (one more poll) before comparing what they saw.
        await asyncio.sleep(feed.interval * 2)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        starved = sum(1 for n in seen if n == 0)
        return {
            "views": views,
            "seconds": round(elapsed, 2),
            "feed_interval_seconds": feed.interval,
            "feed_queries": feed_queries,
            "feed_queries_per_second": round(feed_queries / elapsed, 2),
            "target_queries_per_second": round(1 / feed.interval, 2),
            # Everything this process sent meanwhile, the writer's progress updates included.
            "all_statements": total_statements,
            "writer_batches": writes,
            "writer_row_updates": writes * CHANGING_JOBS,
            "changes_per_view_min": min(seen) if seen else 0,
            "changes_per_view_max": max(seen) if seen else 0,
            "views_without_changes": starved,
            "subscribers_left": feed.subscribers,
            "poller_running_after": feed.running,
            # The alternative: every view polls the API at the same interval, at least one
            # query a poll (measure_fanout_series puts the measured statements per poll here).
            "per_view_polling_queries_per_second": round(views / feed.interval, 2),
        }


async def api_poll_cost(app: FastAPI, *, polls: int = 20) -> dict[str, Any]:
    """Statements one poll of a job through the API costs (GET .../jobs/{id}, cookie auth)."""
    db: Database = app.state.db
    tenant, user, job_ids = await _tenant_with_jobs(db, 1)
    async with db.system_session() as s:
        cookie, _ = await identity_service.start_session(s, user, timedelta(hours=1))
    settings = app.state.settings
    headers = {
        "Cookie": f"{settings.session_cookie_name}={cookie}",
        "Origin": settings.public_origin,
    }
    url = f"/api/v1/tenants/{tenant.slug}/jobs/{job_ids[0]}"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.public_origin) as client:
        (await client.get(url, headers=headers)).raise_for_status()  # warm caches
        with StatementCounter(db) as statements:
            started = time.perf_counter()
            for _ in range(polls):
                (await client.get(url, headers=headers)).raise_for_status()
            elapsed = time.perf_counter() - started
    return {
        "statements_per_poll": round(statements.count / polls, 2),
        "ms_per_poll": round(elapsed / polls * 1000, 2),
    }


async def measure_fanout_series(
    app_or_settings: FastAPI | Settings,
    views: Iterable[int] = (1, 100, 1000),
    seconds: float = 5.0,
) -> dict[str, Any]:
    """The fan-out for each N, and (given an app) what polling the API instead would cost."""
    runs = [await measure_feed_fanout(app_or_settings, n, seconds) for n in views]
    out: dict[str, Any] = {"runs": runs}
    if isinstance(app_or_settings, FastAPI):
        cost = await api_poll_cost(app_or_settings)
        out["api_poll"] = cost
        for run in runs:
            run["per_view_polling_queries_per_second"] = round(
                run["views"] * cost["statements_per_poll"] / run["feed_interval_seconds"], 1
            )
    return out
