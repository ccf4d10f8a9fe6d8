"""The app refuses, in production, a database role that would bypass row-level security."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import CapturingLogger

import console.app
from console.app import check_database_role, create_app
from console.db import Database
from console.settings import Settings
from tests.backends import POSTGRES_ADMIN_URL, DatabaseUnderTest, create_sqlite
from tests.conftest import BACKEND, make_settings

pytestmark = pytest.mark.anyio

postgres_only = pytest.mark.skipif(
    BACKEND != "postgres", reason="row-level security is a PostgreSQL feature"
)
PROD = {
    "environment": "prod",
    "secret_key": "s" * 48,
    "public_base_url": "https://console.example.com",
    "broker_url": "redis://127.0.0.1:6379/0",
}
BYPASSES = "bypasses row-level security"


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    """What check_database_role logs (structlog may have cached the real logger already)."""
    capture = CapturingLogger()
    monkeypatch.setattr(console.app, "log", capture)
    return capture


def settings_for(url: str, tmp_path: Path, **overrides: object) -> Settings:
    db = DatabaseUnderTest("postgres", url, url)
    return make_settings(db, tmp_path, **overrides)


async def role_of(database: Database) -> tuple[bool, bool]:
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
    return row.rolsuper, row.rolbypassrls


async def as_postgres(statement: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def bypassrls_url(test_database: DatabaseUnderTest) -> AsyncIterator[str]:
    """A login role that is no superuser but has BYPASSRLS, for this test only."""
    role = f"console_test_bypass_{uuid.uuid4().hex[:8]}"
    await as_postgres(f"CREATE ROLE {role} LOGIN NOSUPERUSER BYPASSRLS")
    url = make_url(test_database.owner_url).set(username=role, password=None)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        await as_postgres(f"DROP ROLE IF EXISTS {role}")


async def check(url: str, settings: Settings) -> None:
    database = Database(url, pool_size=1)
    try:
        await check_database_role(database, settings)
    finally:
        await database.dispose()


@postgres_only
async def test_prod_refuses_a_superuser(test_database: DatabaseUnderTest, tmp_path: Path) -> None:
    owner = Database(test_database.owner_url, pool_size=1)
    try:
        assert await role_of(owner) == (True, True), "the owner URL should be `postgres`"
        with pytest.raises(RuntimeError, match=BYPASSES):
            await check_database_role(
                owner, settings_for(test_database.owner_url, tmp_path, **PROD)
            )
    finally:
        await owner.dispose()


@postgres_only
async def test_prod_refuses_a_bypassrls_role(bypassrls_url: str, tmp_path: Path) -> None:
    database = Database(bypassrls_url, pool_size=1)
    try:
        assert await role_of(database) == (False, True)
        with pytest.raises(RuntimeError, match=BYPASSES):
            await check_database_role(database, settings_for(bypassrls_url, tmp_path, **PROD))
    finally:
        await database.dispose()


@postgres_only
async def test_dev_only_warns_about_a_superuser(
    test_database: DatabaseUnderTest, tmp_path: Path, warnings: CapturingLogger
) -> None:
    settings = settings_for(test_database.owner_url, tmp_path, environment="dev")
    await check(test_database.owner_url, settings)
    assert [(c.method_name, c.args) for c in warnings.calls] == [
        ("warning", ("database_role_bypasses_rls",))
    ]
    assert BYPASSES in warnings.calls[0].kwargs["hint"]


@postgres_only
async def test_prod_accepts_the_rls_bound_app_role(
    test_database: DatabaseUnderTest, tmp_path: Path, warnings: CapturingLogger
) -> None:
    await check(test_database.app_url, settings_for(test_database.app_url, tmp_path, **PROD))
    assert warnings.calls == []


@postgres_only
async def test_the_app_does_not_start_in_prod_as_a_superuser(
    test_database: DatabaseUnderTest, tmp_path: Path
) -> None:
    app = create_app(settings_for(test_database.owner_url, tmp_path, **PROD))
    with pytest.raises(RuntimeError, match=BYPASSES):
        async with LifespanManager(app):
            pass
    await app.state.db.dispose()


async def test_sqlite_has_no_role_to_check(tmp_path: Path, warnings: CapturingLogger) -> None:
    url = create_sqlite(tmp_path).app_url
    await check(url, settings_for(url, tmp_path, **PROD))
    assert warnings.calls == []
