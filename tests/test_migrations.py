"""Migrations: up from nothing, down to nothing, up again, and the models match what they build.

Each test gets a database of its own (never the session's shared one) on the backend that
CONSOLE_TEST_DATABASE selects.
"""

from __future__ import annotations

import asyncio
import pprint
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, DateTime, Integer, MetaData, String, inspect, text

from console import migrate
from console.db import create_engine
from console.models import TENANT_OWNED_TABLES, Base
from tests.backends import (
    DatabaseUnderTest,
    create_postgres,
    create_sqlite,
    drop_postgres,
    postgres_reachable,
)
from tests.conftest import BACKEND, REQUIRE_POSTGRES

pytestmark = pytest.mark.anyio

MODEL_TABLES = frozenset(Base.metadata.tables)
# Every tenant-owned table: one policy for all commands; memberships may also be *read* by their
# own user, so "my tenants" works before a tenant is chosen.
POLICIES_AT_HEAD = frozenset(
    {(table, "tenant_isolation", "ALL") for table in TENANT_OWNED_TABLES}
    | {("memberships", "own_memberships", "SELECT")}
)
HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[DatabaseUnderTest]:
    """A fresh, unmigrated database of this test's own."""
    if BACKEND != "postgres":
        yield create_sqlite(tmp_path)
        return
    reason = await postgres_reachable()
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    db = await create_postgres("m")
    try:
        yield db
    finally:
        await drop_postgres(db)


@dataclass(frozen=True)
class Schema:
    tables: frozenset[str]
    revision: str | None
    # PostgreSQL only (empty on SQLite): (table, policy, command), tables with ENABLE / FORCE RLS.
    policies: frozenset[tuple[str, str, str]] = frozenset()
    rls_enabled: frozenset[str] = frozenset()
    rls_forced: frozenset[str] = frozenset()


def _read_schema(conn: Connection) -> Schema:
    tables = set(inspect(conn).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if conn.dialect.name != "postgresql":
        return Schema(frozenset(tables - {"alembic_version"}), revision)
    policies = conn.execute(
        text("SELECT tablename, policyname, cmd FROM pg_policies WHERE schemaname = 'public'")
    ).all()
    flags = conn.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
    ).all()
    return Schema(
        tables=frozenset(tables - {"alembic_version"}),
        revision=revision,
        policies=frozenset((row.tablename, row.policyname, row.cmd) for row in policies),
        rls_enabled=frozenset(row.relname for row in flags if row.relrowsecurity),
        rls_forced=frozenset(row.relname for row in flags if row.relforcerowsecurity),
    )


def _compare(conn: Connection, metadata: MetaData) -> list[Any]:
    """Alembic's autogenerate diff, with the comparison options migrations/env.py uses."""
    context = MigrationContext.configure(
        connection=conn,
        opts={
            "target_metadata": metadata,
            "compare_type": True,
            "render_as_batch": conn.dialect.name == "sqlite",
        },
    )
    return compare_metadata(context, metadata)


async def _on(db: DatabaseUnderTest, fn: Any, *args: Any) -> Any:
    """Run a sync inspection against the database as its owner (async engine, run_sync)."""
    engine = create_engine(db.owner_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn, *args)
    finally:
        await engine.dispose()


async def upgrade(db: DatabaseUnderTest, revision: str = "head") -> None:
    # env.py runs its own event loop (asyncio.run), so Alembic gets a thread of its own.
    await asyncio.to_thread(migrate.upgrade, db.owner_url, revision)


async def downgrade(db: DatabaseUnderTest, revision: str = "base") -> None:
    await asyncio.to_thread(migrate.downgrade, db.owner_url, revision)


def assert_at_head(schema: Schema) -> None:
    assert schema.tables == MODEL_TABLES
    assert schema.revision == HEAD
    if BACKEND == "postgres":
        assert schema.policies == POLICIES_AT_HEAD
        assert schema.rls_enabled == set(TENANT_OWNED_TABLES)
        assert schema.rls_forced == set(TENANT_OWNED_TABLES)


def assert_no_diff(diff: list[Any]) -> None:
    assert diff == [], "the models and the migrated schema differ:\n" + pprint.pformat(diff)


async def test_upgrade_downgrade_and_upgrade_again(empty_database: DatabaseUnderTest) -> None:
    db = empty_database
    assert (await _on(db, _read_schema)).tables == set()

    await upgrade(db)
    assert_at_head(await _on(db, _read_schema))

    await downgrade(db)
    emptied = await _on(db, _read_schema)
    assert emptied.tables == set(), "downgrade to base left tables behind"
    assert emptied.revision is None
    assert emptied.policies == set(), "downgrade to base left row-level-security policies behind"
    assert emptied.rls_enabled == set()

    await upgrade(db)
    assert_at_head(await _on(db, _read_schema))
    assert_no_diff(await _on(db, _compare, Base.metadata))


async def test_every_revision_steps_down_and_up(empty_database: DatabaseUnderTest) -> None:
    """One revision at a time, so each downgrade() is exercised against its own upgrade()."""
    db = empty_database
    script = ScriptDirectory.from_config(migrate.alembic_config(db.owner_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        await upgrade(db, revision)
        assert (await _on(db, _read_schema)).revision == revision
    for below in [*reversed(revisions[:-1]), None]:
        await downgrade(db, "-1")
        assert (await _on(db, _read_schema)).revision == below
    assert (await _on(db, _read_schema)).tables == set()
    for _ in revisions:
        await upgrade(db, "+1")
    assert_at_head(await _on(db, _read_schema))


async def test_models_match_the_migrated_schema(empty_database: DatabaseUnderTest) -> None:
    await upgrade(empty_database)
    assert_no_diff(await _on(empty_database, _compare, Base.metadata))
    # The same check through migrations/env.py itself (what `alembic check` runs in CI).
    await asyncio.to_thread(command.check, migrate.alembic_config(empty_database.owner_url))


def _drifted_copy() -> MetaData:
    """The models with changes a forgotten migration would leave unapplied."""
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["projects"].append_column(Column("forgotten", String(10), nullable=True))
    drifted.tables["tenants"].c.name.type = String(201)
    drifted.tables["jobs"].c.attempts.type = String(5)
    # Only PostgreSQL can tell these apart (SQLite keeps no time zone and JSON is text there).
    drifted.tables["tenants"].c.created_at.type = DateTime(timezone=False)
    drifted.tables["audit_events"].c.data.type = Integer()
    return drifted


async def test_the_comparison_notices_drift(empty_database: DatabaseUnderTest) -> None:
    """A control: the empty diff above means something, the comparison does see differences."""
    await upgrade(empty_database)
    diff = await _on(empty_database, _compare, _drifted_copy())

    changes: set[tuple[str, str, str]] = set()
    for entry in diff:
        for op in entry if isinstance(entry, list) else [entry]:
            if op[0] == "add_column":
                changes.add(("add_column", op[2], op[3].name))
            elif op[0] == "modify_type":
                changes.add(("modify_type", op[2], op[3]))
    expected = {
        ("add_column", "projects", "forgotten"),
        ("modify_type", "tenants", "name"),
        ("modify_type", "jobs", "attempts"),
        ("modify_type", "audit_events", "data"),
    }
    if BACKEND == "postgres":
        expected.add(("modify_type", "tenants", "created_at"))
    assert changes == expected, pprint.pformat(diff)


async def test_the_migration_protects_exactly_the_tenant_owned_tables() -> None:
    """The revisions' own lists of RLS tables add up to the models' list (kept by hand)."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    protected: set[str] = set()
    for revision in script.walk_revisions():
        protected |= set(getattr(revision.module, "TENANT_OWNED", ()))
        protected |= set(getattr(revision.module, "TABLES", ()))
    assert protected == set(TENANT_OWNED_TABLES)
    owned = {t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.c}
    assert owned == set(TENANT_OWNED_TABLES), "a table with tenant_id but no RLS policy?"
