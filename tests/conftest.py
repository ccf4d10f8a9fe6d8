"""Shared fixtures. The backend is chosen by CONSOLE_TEST_DATABASE (sqlite | postgres)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from console.app import create_app
from console.settings import Settings
from tests.backends import (
    DatabaseUnderTest,
    create_postgres,
    create_sqlite,
    drop_postgres,
    migrate_to_head,
    postgres_reachable,
)
from tests.factories import Actor, Factory
from tests.network import InProcessNetwork

BACKEND = os.environ.get("CONSOLE_TEST_DATABASE", "sqlite")
REQUIRE_POSTGRES = os.environ.get("CONSOLE_TEST_REQUIRE_POSTGRES") == "1"
# CI sets this: a missing Chromium or Node is then an error, not a skip.
REQUIRE_BROWSER = os.environ.get("CONSOLE_TEST_REQUIRE_BROWSER") == "1"
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def pytest_report_header() -> str:
    return f"console test database backend: {BACKEND}"


@asynccontextmanager
async def fresh_database(folder: Path, name_hint: str = "s") -> AsyncIterator[DatabaseUnderTest]:
    """A new database built by `alembic upgrade head` on the chosen backend, dropped after."""
    if BACKEND == "postgres":
        reason = await postgres_reachable()
        if reason:
            if REQUIRE_POSTGRES:
                pytest.fail(reason)
            pytest.skip(reason)
        db = await create_postgres(name_hint)
        try:
            await migrate_to_head(db)
            yield db
        finally:
            await drop_postgres(db)
    else:
        db = create_sqlite(folder)
        await migrate_to_head(db)
        yield db


@pytest.fixture(scope="session")
async def test_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[DatabaseUnderTest]:
    """One database per test session."""
    async with fresh_database(tmp_path_factory.mktemp("db")) as db:
        yield db


def make_settings(db: DatabaseUnderTest, tmp: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db.app_url,
        "migrations_database_url": db.owner_url,
        "broker_url": f"filesystem://{tmp / 'broker'}",
        "files_dir": tmp / "files",
        "public_base_url": ORIGIN,
        "seed_demo": False,
        "log_level": "WARNING",
        "token_cache_seconds": 0,
        # The suite makes many deliberate 401s from one client; limits have their own tests.
        "rate_limit_enabled": False,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def network() -> InProcessNetwork:
    """What the session app reaches identity providers through: itself (its dev provider at
    /dev-idp) in-process, and whatever a test serves; the app closes it at shutdown."""
    return InProcessNetwork()


@pytest.fixture(scope="session")
async def app(
    test_database: DatabaseUnderTest,
    tmp_path_factory: pytest.TempPathFactory,
    network: InProcessNetwork,
) -> AsyncIterator[FastAPI]:
    application = create_app(
        make_settings(test_database, tmp_path_factory.mktemp("app")), oidc_transport=network
    )
    network.serve(ORIGIN, application)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
def factory(app: FastAPI) -> Factory:
    return Factory(app.state.db)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c


def as_token(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {actor.api_token}"}


def as_cookie(actor: Actor, app: FastAPI) -> dict[str, str]:
    """A browser on the console's own origin, signed in with a session cookie."""
    name = app.state.settings.session_cookie_name
    return {"Cookie": f"{name}={actor.cookie}", "Origin": ORIGIN}
