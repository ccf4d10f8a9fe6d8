"""The worker side's database: a sync engine and sessions in system or tenant scope."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from console.db import SCOPE_SQL, _sqlite_pragmas, scope_params


def sync_url(url: str) -> str:
    """The console's async database URL as a sync one (psycopg 3; sqlite3)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def create_sync_engine(url: str, *, pool_size: int = 5) -> Engine:
    """A sync engine; SQLite gets WAL, foreign keys and a busy timeout like the web side's."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=False
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=True,
        connect_args={"application_name": "console-worker"},
    )


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
    _sqlite_pragmas(dbapi_connection, record)


def _sqlite_begin(connection: Connection) -> None:
    # Take the write lock up front (waiting up to the busy timeout): a deferred transaction that
    # read first fails at once with "database is locked" when another connection wrote meanwhile.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def set_scope(
    session: Session,
    *,
    tenant_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    system: bool = False,
) -> None:
    """The transaction-local settings row-level security reads (PostgreSQL; no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(SCOPE_SQL, scope_params(tenant_id, user_id, system))


@contextmanager
def system_session(engine: Engine) -> Iterator[Session]:
    """One transaction that sees every tenant's rows (job bookkeeping); commits on exit."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        set_scope(session, system=True)
        yield session


@contextmanager
def tenant_session(
    engine: Engine, tenant_id: uuid.UUID, user_id: uuid.UUID | None = None
) -> Iterator[Session]:
    """One transaction limited to a tenant's rows by RLS; commits on exit, rolls back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        set_scope(session, tenant_id=tenant_id, user_id=user_id)
        yield session
