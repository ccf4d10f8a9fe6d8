"""The per-process job status feed: one poller reads changed job rows for every open view.

Live views subscribe for their tenant and wait for changes; whatever the number of views, the
process runs ONE query per interval (the poller runs only while someone subscribes)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from console.db import SCOPE_SETTING, Database, utcnow
from console.jobs.models import Job

log = structlog.get_logger(__name__)

FEED_QUERIES = Counter("console_job_feed_queries_total", "Queries run by the job status feed")

_c = Job.__table__.c
_COLUMNS = (
    _c.id,
    _c.tenant_id,
    _c.kind,
    _c.status,
    _c.progress,
    _c.message,
    _c.error,
    _c.result,
    _c.created_by_id,
    _c.created_at,
    _c.updated_at,
    _c.started_at,
    _c.finished_at,
    _c.cancel_requested_at,
    _c.attempts,
)
_CHANGED_SINCE = (
    select(*_COLUMNS)
    .where(_c.updated_at >= bindparam("since", type_=_c.updated_at.type))
    .order_by(_c.updated_at)
)


@dataclass(frozen=True, slots=True)
class JobChange:
    """A job row's state as the feed last read it."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    status: str
    progress: float
    message: str
    error: str | None
    result: dict | None
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None
    attempts: int

    @property
    def signature(self) -> tuple[Any, ...]:
        """What makes two reads of a row different for a view."""
        return (self.id, self.updated_at, self.status, self.progress, self.message)


class FeedClosed(RuntimeError):
    """next_changes() on a closed subscription (the view left, or the process is stopping)."""


class FeedSubscription:
    """One view's window on the feed: the newest state of its tenant's changed jobs."""

    def __init__(self, feed: JobFeed, tenant_id: uuid.UUID) -> None:
        self.tenant_id = tenant_id
        self._feed = feed
        self._pending: dict[uuid.UUID, JobChange] = {}
        self._ready = asyncio.Event()
        self.closed = False

    def _push(self, change: JobChange) -> None:
        self._pending[change.id] = change
        self._ready.set()

    async def next_changes(self) -> list[JobChange]:
        """Wait for rows of this tenant changed since the previous call; newest state per job."""
        while not self._pending:
            if self.closed:
                raise FeedClosed("this feed subscription is closed")
            self._ready.clear()
            await self._ready.wait()
        changes = sorted(self._pending.values(), key=lambda c: (c.updated_at, c.id))
        self._pending.clear()
        return changes

    def close(self) -> None:
        """Leave the feed; the last subscription to close stops the poller."""
        if self.closed:
            return
        self.closed = True
        self._ready.set()
        self._feed._remove(self)

    def __enter__(self) -> FeedSubscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class JobFeed:
    """app.state.job_feed: one per process."""

    def __init__(self, db: Database, interval: float, *, overlap: float = 2.0) -> None:
        self.db = db
        self.interval = interval
        # Rows are re-read this far behind the newest seen, so a transaction that committed
        # late (its updated_at stamped before our last read) is still caught.
        self.overlap = timedelta(seconds=overlap)
        self.queries = 0
        self._subscribers: dict[uuid.UUID, set[FeedSubscription]] = {}
        self._seen: dict[uuid.UUID, tuple[Any, ...]] = {}
        self._watermark = utcnow()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def subscribers(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    def subscribe(self, tenant_id: uuid.UUID) -> FeedSubscription:
        """Changes of one tenant's jobs from now on; the first subscriber starts the poller."""
        subscription = FeedSubscription(self, tenant_id)
        self._subscribers.setdefault(tenant_id, set()).add(subscription)
        if not self.running:
            self._seen.clear()
            self._watermark = utcnow()
            self._task = asyncio.get_running_loop().create_task(
                self._poll(), name="console-job-feed"
            )
        return subscription

    def _remove(self, subscription: FeedSubscription) -> None:
        subs = self._subscribers.get(subscription.tenant_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscribers[subscription.tenant_id]
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        for subs in list(self._subscribers.values()):
            for subscription in list(subs):
                subscription.close()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ---- the poller ----------------------------------------------------------------------------

    async def _poll(self) -> None:
        conn: AsyncConnection | None = None
        try:
            while True:
                try:
                    if conn is None:
                        conn = await self._connect()
                    rows = await self._read(conn)
                except Exception as exc:
                    log.warning("job_feed_query_failed", error_type=type(exc).__name__)
                    if conn is not None:
                        await _discard(conn)
                        conn = None
                else:
                    self._publish(rows)
                await asyncio.sleep(self.interval)
        finally:
            if conn is not None:
                await asyncio.shield(_discard(conn))

    async def _connect(self) -> AsyncConnection:
        """A connection of the feed's own, in autocommit: each tick is one statement. On
        PostgreSQL it is put in system scope for its whole life and never returned to the pool."""
        conn = await self.db.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT set_config(:name, 'system', false)"), {"name": SCOPE_SETTING}
                )
        except BaseException:
            await _discard(conn)
            raise
        return conn

    async def _read(self, conn: AsyncConnection) -> list[JobChange]:
        since = self._watermark - self.overlap
        self.queries += 1
        FEED_QUERIES.inc()
        result = await conn.execute(_CHANGED_SINCE, {"since": since})
        return [JobChange(*row) for row in result.all()]

    def _publish(self, rows: Iterable[JobChange]) -> None:
        newest: dict[uuid.UUID, JobChange] = {}
        for change in rows:
            if change.id not in newest or change.updated_at >= newest[change.id].updated_at:
                newest[change.id] = change
        for change in newest.values():
            if change.updated_at > self._watermark:
                self._watermark = change.updated_at
            if self._seen.get(change.id) == change.signature:
                continue
            self._seen[change.id] = change.signature
            for subscription in self._subscribers.get(change.tenant_id, ()):
                subscription._push(change)
        # What falls out of the overlap window can never be read again.
        horizon = self._watermark - self.overlap
        stale = [job_id for job_id, sig in self._seen.items() if sig[1] < horizon]
        for job_id in stale:
            del self._seen[job_id]


async def _discard(conn: AsyncConnection) -> None:
    """Close without returning the connection (and its session-level scope) to the pool."""
    try:
        await conn.invalidate()
        await conn.close()
    except Exception:
        log.debug("job_feed_connection_discard_failed", exc_info=True)
