"""Fixtures for real-worker tests (see tests/workers/support.py for the plain helpers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from console.db import Database
from console.settings import Settings
from tests.backends import DatabaseUnderTest
from tests.conftest import fresh_database
from tests.factories import Factory
from tests.workers import support
from workers.embedded import EmbeddedWorker


@pytest.fixture(scope="module")
async def worker_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[DatabaseUnderTest]:
    """A database of the module's own: a real worker serves every tenant, so the session
    database's queued jobs (left by API and dashboard tests) would compete for its slots."""
    async with fresh_database(tmp_path_factory.mktemp("worker-db"), "w") as db:
        yield db


@pytest.fixture(scope="module")
def worker_settings(
    worker_database: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """Settings on the module's database and a broker of its own."""
    settings = support.worker_settings(worker_database, tmp_path_factory.mktemp("workers"))
    yield settings
    support.flush_broker(settings)


@pytest.fixture(scope="module")
def running_worker(worker_settings: Settings) -> Iterator[EmbeddedWorker]:
    """A real in-process worker (threads pool, 2 slots) for the module's tests."""
    with support.running_worker(worker_settings) as worker:
        yield worker


@pytest.fixture(scope="module")
async def worker_factory(worker_database: DatabaseUnderTest) -> AsyncIterator[Factory]:
    """Tenants and users on the module's database, without starting the web app."""
    db = Database(worker_database.app_url, pool_size=2)
    try:
        yield Factory(db)
    finally:
        await db.dispose()
