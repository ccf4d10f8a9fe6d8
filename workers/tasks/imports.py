"""Import: upsert a tenant's projects by key from an uploaded CSV, with a per-row report.

Two passes over the file:

1. Validate the whole file without touching the database: encoding, CSV syntax, header, row
   count, every row (the API's rules) and duplicate keys. A file-level problem fails the job with a
   message saying what to fix, and nothing changes; row-level problems are collected for the
   report and those rows are skipped.
2. Upsert the valid rows in chunks of CHUNK_ROWS: INSERT … ON CONFLICT (tenant_id, key) DO UPDATE
   … WHERE something differs (version + 1 and updated_at only then). Each chunk and the job's
   checkpoint (the last line done and the counts so far) commit in one transaction, so an attempt
   after a crash resumes after the last committed chunk and creates no duplicates; importing the
   same file again changes nothing. The last chunk's transaction also records the audit event.

The report (line, key, error) is written with files.atomic_write once the import is complete.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from console.audit.models import AuditEvent
from console.identity.models import User
from console.jobs import files
from console.jobs.models import Job
from console.kit.ids import new_id
from console.projects.models import Project
from workers.context import HANDLERS, JobContext, JobFailed
from workers.tasks import csvformat
from workers.tasks.csvformat import CsvFileError, ImportRow

CHUNK_ROWS = 1_000
PREVIEW_ERRORS = 100
AUDIT_ACTION = "projects.imported"

_table = Project.__table__
_c = _table.c
_ROW_ARRAYS = ("id", "key", "name", "description", "status")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def _upload_id(ctx: JobContext) -> uuid.UUID:
    try:
        return uuid.UUID(str(ctx.params["upload_id"]))
    except (KeyError, ValueError):
        raise JobFailed("The import has no valid upload; upload the file again.") from None


@cache
def _upsert_statement(dialect: str, description: bool, status: bool) -> Any:
    """INSERT … ON CONFLICT (tenant_id, key) DO UPDATE the given columns WHERE one differs,
    RETURNING the version: 1 = created, more = updated, no row = unchanged. A column the row
    does not give (`description`/`status` False) keeps the project's value on update."""
    if dialect == "postgresql":
        # One row of arrays, not 1,000 rows of parameters: a short statement the driver parses
        # once (a multi-row VALUES costs more to build and parse than to run).
        source = (
            func.unnest(
                *(
                    bindparam(f"{name}s", type_=postgresql.ARRAY(_c[name].type))
                    for name in _ROW_ARRAYS
                )
            )
            .table_valued(*_ROW_ARRAYS)
            .render_derived()
        )
        statement = postgresql.insert(_table).from_select(
            [*_ROW_ARRAYS, "tenant_id", "created_by_id", "version", "created_at", "updated_at"],
            select(
                *(source.c[name] for name in _ROW_ARRAYS),
                bindparam("tenant_id", type_=_c.tenant_id.type),
                bindparam("created_by_id", type_=_c.created_by_id.type),
                literal(1),
                bindparam("now", type_=_c.created_at.type),
                bindparam("now", type_=_c.updated_at.type),
            ),
        )
    else:
        statement = sqlite.insert(_table)
    excluded = statement.excluded
    columns = ["name", *(["description"] if description else []), *(["status"] if status else [])]
    return statement.on_conflict_do_update(
        index_elements=[_c.tenant_id, _c.key],
        set_={
            **{name: excluded[name] for name in columns},
            "version": _c.version + 1,
            "updated_at": excluded.updated_at,
        },
        where=or_(*(_c[name] != excluded[name] for name in columns)),
    ).returning(_c.version)


def _apply(
    session: Session,
    ctx: JobContext,
    rows: list[ImportRow],
    actor_id: uuid.UUID | None,
) -> Counts:
    """Upsert one chunk in the session's transaction; what it did.

    No read before the write: the upsert's RETURNING says what happened to each row (an index
    lookup per row through the unique (tenant_id, key) constraint, whatever the planner thinks).
    """
    counts = Counts()
    if not rows:
        return counts
    now = datetime.now(UTC)
    groups: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for row in rows:
        # An absent column (or an empty status cell) keeps the project's value; a new project
        # gets the default.
        shape = (row.description is not None, row.status is not None)
        groups.setdefault(shape, []).append(
            {
                "id": new_id(),
                "tenant_id": ctx.tenant_id,
                "key": row.key,
                "name": row.name,
                "description": row.description if row.description is not None else "",
                "status": row.status if row.status is not None else "active",
                "created_by_id": actor_id,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    connection = session.connection()
    dialect = ctx.engine.dialect.name
    for (description, status), values in groups.items():
        statement = _upsert_statement(dialect, description, status)
        if dialect == "postgresql":
            parameters: Any = {
                f"{name}s": [value[name] for value in values] for name in _ROW_ARRAYS
            }
            parameters.update(tenant_id=ctx.tenant_id, created_by_id=actor_id, now=now)
        else:
            parameters = values
        versions = connection.execute(statement, parameters).scalars().all()
        created = sum(1 for version in versions if version == 1)
        counts.created += created
        counts.updated += len(versions) - created
        counts.unchanged += len(values) - len(versions)
    return counts


def _actor(ctx: JobContext) -> tuple[uuid.UUID | None, str]:
    with ctx.tenant_session() as session:
        actor_id = session.scalar(select(Job.created_by_id).where(Job.id == ctx.job_id))
        email = session.scalar(select(User.email).where(User.id == actor_id)) if actor_id else None
    return actor_id, email or "system"


def _message(done: int, total: int) -> str:
    return f"{done:,} of {total:,} rows"


@HANDLERS.register("import")
def import_projects(ctx: JobContext) -> dict[str, Any]:
    path = files.upload_path(ctx.settings, ctx.tenant_id, _upload_id(ctx))
    if not path.is_file():
        raise JobFailed("The uploaded file is gone; upload it again.")

    def checking(read: int) -> None:
        ctx.progress(0, None, f"Checking the file: {read:,} rows read")

    ctx.progress(0, None, "Checking the file…")
    try:
        checked = csvformat.scan(path, tick=checking)
    except CsvFileError as exc:
        raise JobFailed(exc.message) from None
    total = checked.rows

    resumed = ctx.checkpoint or {}
    counts = Counts(**{k: int(resumed.get(k, 0)) for k in ("created", "updated", "unchanged")})
    done_line = int(resumed.get("line", 0))
    if not resumed.get("done"):
        actor_id, actor_label = _actor(ctx)

        def commit(rows: list[ImportRow], done: int, *, final: bool) -> None:
            nonlocal counts, done_line
            ctx.check_cancelled()
            last_line = rows[-1].line if rows else done_line
            with ctx.tenant_session() as session:
                after = counts + _apply(session, ctx, rows, actor_id)
                ctx.save_checkpoint(
                    session, {"line": last_line, "rows": done, "done": final, **asdict(after)}
                )
                if final:
                    session.add(
                        AuditEvent(
                            tenant_id=ctx.tenant_id,
                            actor_id=actor_id,
                            actor_label=actor_label,
                            action=AUDIT_ACTION,
                            target_type="job",
                            target_id=str(ctx.job_id),
                            data={
                                "rows": total,
                                **asdict(after),
                                "failed": len(checked.errors),
                            },
                        )
                    )
            # Committed: only now is it progress.
            counts, done_line = after, last_line
            ctx.progress(done, total, _message(done, total))

        chunk: list[ImportRow] = []
        done = 0
        for ordinal, row in csvformat.valid_rows(path, checked):
            if row.line <= done_line:
                continue
            chunk.append(row)
            done = ordinal
            if len(chunk) >= CHUNK_ROWS:
                commit(chunk, done, final=False)
                chunk = []
        commit(chunk, total, final=True)

    errors = checked.errors
    if errors:
        with files.atomic_write(
            files.report_path(ctx.settings, ctx.tenant_id, ctx.job_id),
            "w",
            encoding="utf-8",
            newline="",
        ) as handle:
            csvformat.write_report(handle, errors)
    return {
        "file": "report" if errors else None,
        "report_filename": _report_name(ctx.params.get("filename")) if errors else None,
        "rows": total,
        **asdict(counts),
        "failed": len(errors),
        "errors_preview": [error.as_dict() for error in errors[:PREVIEW_ERRORS]],
    }


def _report_name(uploaded: object) -> str:
    """`projects.csv` → `projects-report.csv`: the name the report downloads as."""
    stem = str(uploaded or "import").rsplit("/", 1)[-1].removesuffix(".csv").removesuffix(".CSV")
    return f"{stem or 'import'}-report.csv"
