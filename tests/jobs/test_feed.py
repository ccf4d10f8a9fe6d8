"""The job status feed: one query per interval per process whatever the number of views; each
view sees only its tenant's changes, once per real change; the poller runs only while someone
subscribes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from console.db import utcnow
from console.jobs.feed import FeedClosed, FeedSubscription, JobChange, JobFeed
from console.jobs.models import Job
from tests.factories import Factory
from tests.jobs.fakes import make_job

pytestmark = pytest.mark.anyio

INTERVAL = 0.05


@pytest.fixture
async def feed(app: FastAPI) -> AsyncIterator[JobFeed]:
    job_feed = JobFeed(app.state.db, INTERVAL)
    yield job_feed
    await job_feed.aclose()


async def changes_of(subscription: FeedSubscription, within: float = 3.0) -> list[JobChange]:
    return await asyncio.wait_for(subscription.next_changes(), within)


async def quiet(subscription: FeedSubscription, ticks: int = 6) -> bool:
    """True if nothing arrives for a few intervals."""
    try:
        await asyncio.wait_for(subscription.next_changes(), INTERVAL * ticks)
    except TimeoutError:
        return True
    return False


async def set_progress(factory: Factory, job_id: uuid.UUID, **values: object) -> None:
    async with factory.db.system_session() as s:
        await s.execute(update(Job).where(Job.id == job_id).values(**values))


async def until(condition, within: float = 3.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if condition():
                return
            await asyncio.sleep(INTERVAL / 5)


async def test_subscribers_see_their_tenants_changes_only_and_once(feed: JobFeed, factory: Factory):
    a, b = await factory.tenant(), await factory.tenant()
    with feed.subscribe(a.id) as sub_a, feed.subscribe(b.id) as sub_b:
        await until(lambda: feed.queries >= 1)
        job = await make_job(factory.db, a.id, status="queued")
        [change] = await changes_of(sub_a)
        assert (change.id, change.tenant_id, change.status) == (job.id, a.id, "queued")

        await set_progress(factory, job.id, status="running", progress=0.5, message="5 of 10 rows")
        [change] = await changes_of(sub_a)
        assert (change.status, change.progress, change.message) == ("running", 0.5, "5 of 10 rows")
        # The overlap re-reads the row every tick, but an unchanged row is not news.
        assert await quiet(sub_a)
        assert await quiet(sub_b, ticks=1)


async def test_newest_state_per_job_between_two_calls(feed: JobFeed, factory: Factory):
    tenant = await factory.tenant()
    with feed.subscribe(tenant.id) as sub:
        await until(lambda: feed.queries >= 1)
        job = await make_job(factory.db, tenant.id, status="running")
        other = await make_job(factory.db, tenant.id, status="queued")
        await until(lambda: len(sub._pending) == 2)
        await set_progress(factory, job.id, progress=0.9, message="9 of 10")
        await until(lambda: sub._pending[job.id].progress == 0.9)
        changes = await changes_of(sub)
        assert {c.id: c.progress for c in changes} == {job.id: 0.9, other.id: 0.0}


async def test_one_query_per_interval_for_one_or_two_hundred_views(feed: JobFeed, factory: Factory):
    tenants = [await factory.tenant() for _ in range(4)]

    async def queries_during(views: int, seconds: float = 0.6) -> tuple[int, int]:
        subs = [feed.subscribe(tenants[i % 4].id) for i in range(views)]
        await until(lambda: feed.queries >= 1)
        before = feed.queries
        job = await make_job(factory.db, tenants[0].id)
        await asyncio.sleep(seconds)
        ran = feed.queries - before
        got = sum(1 for s in subs if job.id in s._pending)
        for s in subs:
            s.close()
        await until(lambda: not feed.running)
        return ran, got

    one, seen_by_one = await queries_during(1)
    many, seen_by_many = await queries_during(200)
    most = 0.6 / INTERVAL + 1
    assert 1 <= one <= most, one
    assert 1 <= many <= most, many
    assert abs(one - many) <= 3, (one, many)
    assert seen_by_one == 1
    assert seen_by_many == 50


async def test_the_poller_stops_when_the_last_subscriber_leaves(feed: JobFeed, factory: Factory):
    tenant = await factory.tenant()
    assert not feed.running
    first, second = feed.subscribe(tenant.id), feed.subscribe(tenant.id)
    assert feed.running
    await until(lambda: feed.queries >= 1)
    first.close()
    assert feed.running
    second.close()
    second.close()  # twice is fine
    await asyncio.sleep(0)
    assert not feed.running
    assert feed.subscribers == 0
    stopped_at = feed.queries
    await asyncio.sleep(INTERVAL * 4)
    assert feed.queries == stopped_at
    with pytest.raises(FeedClosed):
        await second.next_changes()

    # The next subscriber starts it again.
    with feed.subscribe(tenant.id):
        await until(lambda: feed.queries > stopped_at)
    await asyncio.sleep(0)
    assert not feed.running


async def test_aclose_ends_waiting_views(feed: JobFeed, factory: Factory):
    tenant = await factory.tenant()
    sub = feed.subscribe(tenant.id)
    waiting = asyncio.create_task(sub.next_changes())
    await asyncio.sleep(INTERVAL * 2)
    await feed.aclose()
    with pytest.raises(FeedClosed):
        await asyncio.wait_for(waiting, 1)
    assert not feed.running
    assert sub.closed


async def test_a_failing_query_is_logged_and_polling_goes_on(
    feed: JobFeed, factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    tenant = await factory.tenant()
    real_read = JobFeed._read
    failures = 0

    async def flaky(self: JobFeed, conn) -> list[JobChange]:
        nonlocal failures
        if failures < 2:
            failures += 1
            self.queries += 1
            raise OSError("connection reset")
        return await real_read(self, conn)

    monkeypatch.setattr(JobFeed, "_read", flaky)
    with feed.subscribe(tenant.id) as sub:
        job = await make_job(factory.db, tenant.id)
        [change] = await changes_of(sub)
        assert change.id == job.id
        assert failures == 2


async def test_a_commit_that_lands_late_is_still_seen(feed: JobFeed, factory: Factory):
    """A row stamped before the feed's last read but committed after it (within the overlap)."""
    tenant = await factory.tenant()
    with feed.subscribe(tenant.id) as sub:
        job = await make_job(factory.db, tenant.id)
        await changes_of(sub)
        stamped = utcnow()
        await asyncio.sleep(INTERVAL * 4)  # several reads pass the stamp
        await set_progress(factory, job.id, updated_at=stamped, message="late")
        [change] = await changes_of(sub)
        assert change.message == "late"
