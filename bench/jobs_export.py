"""Export throughput on PostgreSQL: the export handler against `COPY … TO STDOUT` (functions only;
bench/jobs.py prints the JSON).

    measure_export(owner_url, tenant_id, app_url=...) seeds (once) `rows` projects into one tenant
    with one INSERT … SELECT generate_series, then, in this process:
    - runs the export handler (workers/tasks/exports.py) with a JobContext like the runtime's
      (tenant-scoped sessions as the app's RLS-bound role, progress written to the job row at most
      every job_progress_interval_seconds), sampling this process's RSS (VmRSS) every 20 ms;
    - runs `COPY (SELECT <same columns> … ORDER BY key) TO STDOUT WITH (FORMAT csv)` into a file
      with psycopg, twice: the raw columns (the physical limit) and the handler's own expressions
      (formula escaping, UTC text timestamps), to separate database work from Python work;
    and returns rows/s, peak and growth of RSS, file sizes and the ratios.

    throwaway_database(admin_url) / drop_database(admin_url, name) make and remove a migrated
    database with an RLS-bound app role, as the test suite does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from console import migrate
from console.db import utcnow
from console.jobs import files
from console.jobs.models import Job
from console.settings import Settings
from workers import db as worker_db
from workers.context import JobCancelled
from workers.tasks import exports

APP_ROLE = "console_bench_app"


def plain_dsn(url: str) -> str:
    """A SQLAlchemy URL as a libpq DSN."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    """Peak VmRSS of this process while running (a daemon thread sampling every `interval`)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


@dataclass
class BenchJobContext:
    """The runtime's JobContext minus the watcher: progress rate-limited to the job row."""

    engine: Engine
    settings: Settings
    tenant_id: uuid.UUID
    job_id: uuid.UUID
    kind: str = "export"
    params: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1
    checkpoint: dict[str, Any] | None = None
    progress_writes: int = 0
    _last: float = 0.0

    def tenant_session(self) -> AbstractContextManager[Session]:
        return worker_db.tenant_session(self.engine, self.tenant_id)

    def save_checkpoint(self, session: Session, checkpoint: dict[str, Any]) -> None:
        session.execute(update(Job).where(Job.id == self.job_id).values(checkpoint=checkpoint))

    def check_cancelled(self) -> None:
        return None

    def progress(self, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self.settings.job_progress_interval_seconds:
            return
        self._last = now
        with worker_db.system_session(self.engine) as session:
            session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(
                    progress=min(1.0, done / total) if total else 0.0,
                    message=message,
                    heartbeat_at=utcnow(),
                )
            )
        self.progress_writes += 1


def _admin(admin_url: str, *statements: str) -> None:
    with psycopg.connect(plain_dsn(admin_url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def throwaway_database(
    admin_url: str, prefix: str = "console_bench_export"
) -> tuple[str, str, str]:
    """(name, owner URL, app URL) of a new database migrated to head, the app role granted; a
    failed migration drops it again."""
    import asyncio

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _admin(
        admin_url,
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
            END IF; END $$""",
        f"CREATE DATABASE {name}",
    )
    base = make_url(admin_url)
    owner = base.set(drivername="postgresql+asyncpg", database=name)
    app = owner.set(username=APP_ROLE, password=None)
    owner_url = owner.render_as_string(hide_password=False)
    app_url = app.render_as_string(hide_password=False)
    try:
        migrate.upgrade(owner_url)
        asyncio.run(migrate.grant_app_role(owner_url, app_url))
    except BaseException:
        drop_database(admin_url, name)
        raise
    return name, owner_url, app_url


def drop_database(admin_url: str, name: str) -> None:
    _admin(
        admin_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",  # noqa: S608 - our generated name
        f"DROP DATABASE IF EXISTS {name}",
    )


def seed(owner_url: str, tenant_id: uuid.UUID, rows: int) -> float:
    """`rows` projects in the tenant (skipped when already there); seconds it took."""
    started = time.perf_counter()
    with psycopg.connect(plain_dsn(owner_url)) as conn:
        conn.execute("SELECT set_config('console.scope', 'system', true)")
        conn.execute(
            "INSERT INTO tenants (id, slug, name, status, created_at, updated_at) "
            "VALUES (%s, %s, 'Export bench', 'active', now(), now()) ON CONFLICT DO NOTHING",
            (tenant_id, f"bench-{tenant_id.hex[:8]}"),
        )
        have = conn.execute(
            "SELECT count(*) FROM projects WHERE tenant_id = %s", (tenant_id,)
        ).fetchone()
        if have and have[0] >= rows:
            return 0.0
        conn.execute(
            """
            INSERT INTO projects (id, tenant_id, key, name, description, status, created_by_id,
                                  version, created_at, updated_at)
            SELECT gen_random_uuid(), %(tenant)s, 'P' || lpad(i::text, 7, '0'),
                   'Project ' || i || CASE WHEN i %% 7 = 0 THEN ', with "quotes"' ELSE '' END,
                   CASE WHEN i %% 10 = 0 THEN '=HYPERLINK("x") ' || i
                        WHEN i %% 3 = 0 THEN ''
                        ELSE 'Description of project ' || i END,
                   CASE WHEN i %% 5 = 0 THEN 'archived' ELSE 'active' END, NULL, 1,
                   now() - i * interval '1 second', now() - i * interval '1 second'
            FROM generate_series(1, %(rows)s) AS i
            ON CONFLICT (tenant_id, key) DO NOTHING
            """,
            {"tenant": tenant_id, "rows": rows},
        )
        conn.commit()
    with psycopg.connect(plain_dsn(owner_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE projects")
    return time.perf_counter() - started


@contextmanager
def _job_row(engine: Engine, tenant_id: uuid.UUID) -> Iterator[uuid.UUID]:
    job_id = uuid.uuid4()
    with worker_db.system_session(engine) as session:
        session.add(Job(id=job_id, tenant_id=tenant_id, kind="export", status="running", params={}))
    try:
        yield job_id
    finally:
        with worker_db.system_session(engine) as session:
            session.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": job_id})


def copy_to_file(app_url: str, tenant_id: uuid.UUID, query: str, path: Path) -> dict[str, Any]:
    """COPY (query) TO STDOUT WITH (FORMAT csv) into `path`, as the app role in tenant scope."""
    started = time.perf_counter()
    written = 0
    with psycopg.connect(plain_dsn(app_url)) as conn, open(path, "wb") as out:
        conn.execute("SELECT set_config('console.tenant_id', %s, true)", (str(tenant_id),))
        with conn.cursor().copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:  # type: ignore[arg-type]
            for data in copy:
                out.write(data)
                written += len(data)
    return {"seconds": time.perf_counter() - started, "bytes": written}


def measure_export(
    pg_url_sync: str,
    tenant_id: uuid.UUID,
    *,
    app_url: str | None = None,
    rows: int = 1_000_000,
    files_dir: Path | None = None,
    repeat: int = 1,
) -> dict[str, Any]:
    """Seed `rows` projects into the tenant of the (migrated) database at `pg_url_sync` (the
    owner's URL), export them with the handler as the app role (`app_url`, default the same), and
    compare with COPY. Returns a JSON-ready dict."""
    app_url = app_url or pg_url_sync
    seed_seconds = seed(pg_url_sync, tenant_id, rows)
    own_folder = files_dir is None
    folder = Path(files_dir or tempfile.mkdtemp(prefix="console-bench-export-"))
    settings = Settings(database_url=app_url, files_dir=folder)  # type: ignore[call-arg]
    engine = worker_db.create_sync_engine(app_url, pool_size=2)
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(repeat):
            with _job_row(engine, tenant_id) as job_id:
                ctx = BenchJobContext(engine, settings, tenant_id, job_id)
                with RssSampler() as rss:
                    started = time.perf_counter()
                    try:
                        result = exports.export_projects(ctx)
                    except JobCancelled:  # pragma: no cover - nothing cancels it
                        raise
                    seconds = time.perf_counter() - started
                path = files.export_path(settings, tenant_id, job_id)
                runs.append(
                    {
                        "rows": result["rows"],
                        "seconds": round(seconds, 3),
                        "rows_per_second": round(result["rows"] / seconds),
                        "bytes": result["bytes"],
                        "rss_baseline_mib": round(rss.baseline / 2**20, 1),
                        "rss_peak_mib": round(rss.peak / 2**20, 1),
                        "rss_growth_mib": round((rss.peak - rss.baseline) / 2**20, 1),
                        "rss_samples": rss.samples,
                        "progress_writes": ctx.progress_writes,
                    }
                )
                path.unlink(missing_ok=True)

        statement = exports.export_statement("postgresql", q=False, status=False)
        same_sql = str(
            statement.params(tenant_id=tenant_id).compile(
                dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
            )
        )
        raw_sql = (
            "SELECT key, name, description, status, created_at, updated_at FROM projects "
            "WHERE tenant_id = current_setting('console.tenant_id')::uuid ORDER BY key"
        )
        copy_raw = copy_to_file(app_url, tenant_id, raw_sql, folder / "copy-raw.csv")
        copy_same = copy_to_file(app_url, tenant_id, same_sql, folder / "copy-same.csv")
        for name in ("copy-raw.csv", "copy-same.csv"):
            (folder / name).unlink(missing_ok=True)
    finally:
        engine.dispose()
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)

    best = max(runs, key=lambda r: r["rows_per_second"])
    exported = best["rows"]
    return {
        "rows": exported,
        "seed_seconds": round(seed_seconds, 1),
        "handler": best,
        "handler_runs": runs,
        "copy_raw": {
            "seconds": round(copy_raw["seconds"], 3),
            "rows_per_second": round(exported / copy_raw["seconds"]),
            "bytes": copy_raw["bytes"],
        },
        "copy_same_expressions": {
            "seconds": round(copy_same["seconds"], 3),
            "rows_per_second": round(exported / copy_same["seconds"]),
            "bytes": copy_same["bytes"],
        },
        "handler_vs_copy_raw": round(best["rows_per_second"] * copy_raw["seconds"] / exported, 3),
        "handler_vs_copy_same": round(best["rows_per_second"] * copy_same["seconds"] / exported, 3),
        "target_rows_per_second": 50_000,
        "target_rss_mib": 200,
        "meets_target": best["rows_per_second"] >= 50_000 and best["rss_peak_mib"] < 200,
        "pid": os.getpid(),
    }


def run_throwaway(admin_url: str, *, rows: int = 1_000_000, repeat: int = 1) -> dict[str, Any]:
    """measure_export in a database made for the run and dropped after it."""
    name, owner_url, app_url = throwaway_database(admin_url)
    try:
        return measure_export(
            worker_db.sync_url(owner_url),
            uuid.uuid4(),
            app_url=worker_db.sync_url(app_url),
            rows=rows,
            repeat=repeat,
        )
    finally:
        drop_database(admin_url, name)
