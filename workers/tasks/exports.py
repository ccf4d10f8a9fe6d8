"""Export: a tenant's projects (all, or the list's filter) streamed to a CSV file.

Constant memory: rows come in chunks of CHUNK_ROWS as plain tuples (Core, no ORM objects), already
formatted by the database (formula-injection escaping, UTC timestamps as text), and each chunk is
written with one `writerows`: no per-row Python code. PostgreSQL streams them from one server-side
cursor in one transaction (one snapshot); SQLite reads them by keyset in short transactions,
because a worker's SQLite transaction holds the database's write lock while it is open.

The file is written through files.atomic_write: cancelled or failed, nothing is left behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, bindparam, func, select, type_coerce

from console.jobs import files
from console.projects.models import PROJECT_STATUSES, Project
from console.projects.repository import _escape_like, _filters
from console.tenancy.models import Tenant
from workers.context import HANDLERS, JobContext, JobFailed
from workers.tasks import csvformat

CHUNK_ROWS = 5_000
MAX_QUERY_LENGTH = 200

_c = Project.__table__.c


def _timestamp(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """A UTC timestamp as ISO 8601 text, e.g. 2026-11-21T10:05:00Z."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC.
    return func.replace(func.substr(type_coerce(column, String), 1, 19), " ", "T").concat("Z")


def export_statement(dialect: str, *, q: bool, status: bool) -> Select[Any]:
    """The export's rows in file order (bound parameters: tenant_id, pattern, status)."""
    return (
        select(
            _c.key,
            csvformat.escaped_sql(_c.name),
            csvformat.escaped_sql(_c.description),
            _c.status,
            _timestamp(_c.created_at, dialect),
            _timestamp(_c.updated_at, dialect),
        )
        .where(*_filters(q, status))
        .order_by(_c.key)
    )


def _parameters(ctx: JobContext) -> tuple[dict[str, Any], bool, bool]:
    q = ctx.params.get("q") or None
    status = ctx.params.get("status") or None
    if q is not None and (not isinstance(q, str) or len(q) > MAX_QUERY_LENGTH):
        raise JobFailed("The export's search text is not valid.")
    if status is not None and status not in PROJECT_STATUSES:
        raise JobFailed(f"Unknown status filter {status!r}: use active or archived.")
    params: dict[str, Any] = {"tenant_id": ctx.tenant_id}
    if q:
        params["pattern"] = f"%{_escape_like(q)}%"
    if status:
        params["status"] = status
    return params, bool(q), bool(status)


def _chunks(
    ctx: JobContext, dialect: str, params: dict[str, Any], q: bool, status: bool
) -> Iterator[Sequence[Sequence[Any]]]:
    statement = export_statement(dialect, q=q, status=status)
    if dialect == "postgresql":
        with ctx.tenant_session() as session:
            result = session.connection().execute(
                statement, params, execution_options={"yield_per": CHUNK_ROWS}
            )
            yield from result.partitions()
        return
    statement = statement.where(_c.key > bindparam("after", type_=String)).limit(
        bindparam("chunk", type_=Integer)
    )
    after = ""
    while True:
        with ctx.tenant_session() as session:
            rows = (
                session.connection()
                .execute(statement, {**params, "after": after, "chunk": CHUNK_ROWS})
                .all()
            )
        if not rows:
            return
        yield rows
        if len(rows) < CHUNK_ROWS:
            return
        after = rows[-1][0]


def rows_message(done: int, total: int) -> str:
    return f"{done:,} of {max(done, total):,} rows"


@HANDLERS.register("export")
def export_projects(ctx: JobContext) -> dict[str, Any]:
    params, q, status = _parameters(ctx)
    dialect = ctx.engine.dialect.name
    with ctx.tenant_session() as session:
        slug = session.scalar(select(Tenant.__table__.c.slug).where(Tenant.id == ctx.tenant_id))
        if slug is None:
            raise JobFailed("The organisation no longer exists.")
        total = session.scalar(
            select(func.count()).select_from(Project.__table__).where(*_filters(q, status)),
            params,
        )
    total = total or 0
    ctx.progress(0, total, rows_message(0, total))

    path = files.export_path(ctx.settings, ctx.tenant_id, ctx.job_id)
    digest = hashlib.sha256()
    written = rows = 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, csvformat.DIALECT)
    with files.atomic_write(path, "wb") as handle:

        def flush() -> None:
            nonlocal written
            data = buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            digest.update(data)
            handle.write(data)
            written += len(data)

        writer.writerow(csvformat.EXPORT_HEADER)
        # closing(): a cancel closes the cursor and its transaction right here, not at GC.
        with closing(_chunks(ctx, dialect, params, q, status)) as chunks:
            for chunk in chunks:
                ctx.check_cancelled()
                writer.writerows(chunk)
                flush()
                rows += len(chunk)
                ctx.progress(rows, total, rows_message(rows, total))
        flush()

    now = datetime.now(UTC)
    return {
        "file": "export",
        "rows": rows,
        "bytes": written,
        "sha256": digest.hexdigest(),
        "filename": f"{slug}-projects-{now:%Y%m%dT%H%M%SZ}.csv",
        "expires_at": (now + timedelta(hours=ctx.settings.export_retention_hours)).isoformat(),
    }
