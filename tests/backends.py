"""Test databases: a throwaway SQLite file, or a throwaway PostgreSQL database reached as an
ordinary (non-superuser, RLS-bound) role while migrations run as the owner."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from console import migrate

POSTGRES_ADMIN_URL = os.environ.get(
    "CONSOLE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "console_test_app"


@dataclass(frozen=True)
class DatabaseUnderTest:
    backend: str
    owner_url: str
    app_url: str


async def postgres_reachable() -> str | None:
    """None when the server answers, else the reason it does not."""
    engine = create_async_engine(POSTGRES_ADMIN_URL)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return (
            f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} unreachable: {exc!r}"
        )
    finally:
        await engine.dispose()


async def _admin(*statements: str) -> None:
    engine = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def create_postgres(name_hint: str = "t") -> DatabaseUnderTest:
    """A fresh database migrated to head; the app connects as a role that cannot bypass RLS."""
    name = f"console_test_{name_hint}_{uuid.uuid4().hex[:8]}"
    await _admin(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
            END IF; END $$""",
        f"CREATE DATABASE {name}",
    )
    base = make_url(POSTGRES_ADMIN_URL)
    owner_url = base.set(database=name).render_as_string(hide_password=False)
    app_url = base.set(database=name, username=APP_ROLE, password=None).render_as_string(
        hide_password=False
    )
    return DatabaseUnderTest("postgres", owner_url, app_url)


async def migrate_to_head(db: DatabaseUnderTest) -> None:
    await asyncio.to_thread(migrate.upgrade, db.owner_url)
    await migrate.grant_app_role(db.owner_url, db.app_url)


async def drop_postgres(db: DatabaseUnderTest) -> None:
    name = make_url(db.owner_url).database
    await _admin(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
        f"DROP DATABASE IF EXISTS {name}",
    )


def create_sqlite(folder: Path) -> DatabaseUnderTest:
    url = f"sqlite+aiosqlite:///{folder / f'console-{uuid.uuid4().hex[:8]}.db'}"
    return DatabaseUnderTest("sqlite", url, url)
