"""Background jobs: cancel latency, worker death, per-tenant fairness, export throughput and
live-update fan-out;
prints one JSON document.

Everything runs against a throwaway PostgreSQL database (migrated, served to the app and the
workers as a role bound by row-level security) and, for the Redis broker, Redis database 14 under
a key prefix of this run; both, the worker processes and the temp folders are removed afterwards,
also when a measurement fails or the run is interrupted.

    python bench/jobs.py                          # make bench-jobs: all five, ~6 minutes
    python bench/jobs.py --only cancel,death      # a subset
    python bench/jobs.py --quick                  # smoke: fewer cancels, 100,000 rows, 2 s fan-out
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # `bench.jobs_runtime` must be the module the workers import (it registers their handler).
    sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get(
    "CONSOLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CONSOLE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
MEASUREMENTS = ("cancel", "death", "fairness", "export", "fanout")
BROKERS = ("filesystem", "redis")
POOLS = ("threads", "prefork")
CANCEL_TARGET_P95_MS = 250
EXPORT_TARGET_ROWS_PER_S = 50_000
EXPORT_TARGET_RSS_MIB = 200
PACKAGES = ("celery", "kombu", "redis", "psycopg", "sqlalchemy", "asyncpg", "fastapi")


def log(message: str) -> None:
    print(f"[bench-jobs] {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Run:
    """What this run made, so that cleanup() can remove all of it."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.folder = Path(tempfile.mkdtemp(prefix=f"console-bench-jobs-{self.id}-"))
        self.redis_prefix = f"console-bench-jobs-{self.id}-"
        self.database: str | None = None
        self.owner_url = self.app_url = ""
        self.children: list[subprocess.Popen[str]] = []

    def create_database(self) -> None:
        from bench.jobs_export import throwaway_database

        started = time.perf_counter()
        self.database, self.owner_url, self.app_url = throwaway_database(
            ADMIN_URL, prefix="console_bench_jobs"
        )
        log(f"database {self.database} migrated in {time.perf_counter() - started:.1f} s")

    def settings(self) -> Any:
        from console.settings import Settings

        return Settings(  # type: ignore[call-arg]
            database_url=self.app_url,
            migrations_database_url=self.owner_url,
            broker_url=f"filesystem://{self.folder / 'broker'}",
            files_dir=self.folder / "files",
            public_base_url="http://127.0.0.1:8000",
            seed_demo=False,
            log_level="WARNING",
            rate_limit_enabled=False,
            token_cache_seconds=0,
            embedded_worker=False,
        )

    def cleanup(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait(10)
        if self.database:
            from bench.jobs_export import drop_database

            try:
                drop_database(ADMIN_URL, self.database)
                report["database_dropped"] = self.database
            except Exception as exc:
                report["database_drop_error"] = repr(exc)
        try:
            from bench.jobs_runtime import delete_redis_keys

            report["redis_keys_deleted_at_end"] = delete_redis_keys(REDIS_URL, self.redis_prefix)
        except Exception as exc:
            report["redis_cleanup_error"] = repr(exc)
        shutil.rmtree(self.folder, ignore_errors=True)
        report["temp_folder_removed"] = not self.folder.exists()
        return report


# --- measurements --------------------------------------------------------------------------


def run_cancel(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    from bench.jobs_runtime import measure_cancel_latency

    results = []
    for broker in args.brokers:
        for pool in args.pools:
            log(f"cancel latency: {broker} x {pool}, {args.cancels} cancels")
            try:
                result = measure_cancel_latency(
                    run.settings(), broker, pool, args.cancels, key_prefix=run.redis_prefix
                )
                result["pass"] = result["p95_ms"] < CANCEL_TARGET_P95_MS
                result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
            except Exception as exc:
                result = {"broker": broker, "pool": pool, "error": f"{exc!r}"[:4000], "pass": False}
            log(f"  {result}")
            results.append(result)
    return {
        "what": "cancel request committed -> row recorded cancelled by the worker "
        "(after its handler stopped)",
        "target_p95_ms": CANCEL_TARGET_P95_MS,
        "runs": results,
        "pass": all(r["pass"] for r in results),
    }


def run_death(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    from bench.jobs_runtime import measure_worker_death

    lease = args.lease or run.settings().job_lease_seconds
    results = []
    for broker, pool in args.death:
        log(f"worker death: {broker} x {pool}, lease {lease} s")
        try:
            result = measure_worker_death(
                run.settings(), lease, broker, pool, key_prefix=run.redis_prefix
            )
            result["limit_s"] = 2 * lease
            result["pass"] = bool(result["within_2x_lease"])
            result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
        except Exception as exc:
            result = {"broker": broker, "pool": pool, "error": f"{exc!r}"[:4000], "pass": False}
        log(f"  {result}")
        results.append(result)
    return {
        "what": "kill -9 of a worker's process group mid-job, a new worker started at once -> "
        "job running again (or failed with a reason)",
        "lease_s": lease,
        "target_s": 2 * lease,
        "runs": results,
        "pass": all(r["pass"] for r in results),
    }


def run_fairness(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    from bench.jobs_runtime import measure_fairness

    results = []
    for broker in ("filesystem", "redis"):
        log(f"fairness: {broker}, A queues 12 x 1 s jobs, then B queues 2 (one worker, 2 slots)")
        try:
            result = measure_fairness(run.settings(), broker, key_prefix=run.redis_prefix)
        except Exception as exc:
            result = {"broker": broker, "error": f"{exc!r}"[:4000], "pass": False}
        log(f"  {result}")
        results.append(result)
    return {
        "what": "B's first job starts within one job's duration of being queued behind A's "
        "burst; idle slot-seconds = 2 x makespan - busy time",
        "runs": results,
        "pass": all(r["pass"] for r in results),
    }


def run_export(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """In a child process, so its RSS is a worker's (no web app, no other bench loaded)."""
    from workers import db as worker_db

    spec = {
        "owner_url": worker_db.sync_url(run.owner_url),
        "app_url": worker_db.sync_url(run.app_url),
        "rows": args.rows,
        "repeat": args.export_repeat,
        "files_dir": str(run.folder / "export-files"),
    }
    log(f"export: {args.rows:,} rows (seeding takes about a minute per million)")
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(Path(__file__).resolve()), "--export-child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        preexec_fn=_die_with_parent,
    )
    run.children.append(child)
    out, _ = child.communicate(json.dumps(spec))
    if child.returncode != 0:
        raise RuntimeError(f"the export child exited with {child.returncode}")
    result: dict[str, Any] = json.loads(out)
    handler = result["handler"]
    result["pass_rows_per_second"] = handler["rows_per_second"] >= EXPORT_TARGET_ROWS_PER_S
    result["pass_rss"] = handler["rss_peak_mib"] < EXPORT_TARGET_RSS_MIB
    result["pass"] = result["pass_rows_per_second"] and result["pass_rss"]
    return result


def _export_child() -> None:
    from bench.jobs_export import measure_export

    spec = json.loads(sys.stdin.read())
    result = measure_export(
        spec["owner_url"],
        uuid.uuid4(),
        app_url=spec["app_url"],
        rows=spec["rows"],
        repeat=spec["repeat"],
        files_dir=Path(spec["files_dir"]),
    )
    print(json.dumps(result))


class _NoDispatch:
    """The web app's doorbell sender, silenced: no worker runs during the fan-out."""

    async def dispatch(self, job_id: uuid.UUID, *, task_id: str, countdown: float = 0) -> None:
        return None


async def _fanout(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    from asgi_lifespan import LifespanManager

    from bench.jobs_feed import measure_fanout_series
    from console.app import create_app

    app = create_app(run.settings(), job_dispatcher=_NoDispatch())
    async with LifespanManager(app):
        return await measure_fanout_series(app, args.views, args.fanout_seconds)


def run_fanout(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    log(f"feed fan-out: {args.views} views, {args.fanout_seconds} s each")
    result = asyncio.run(_fanout(run, args))
    for entry in result["runs"]:
        # One query per interval, plus the first one when the poller starts.
        allowed = entry["seconds"] / entry["feed_interval_seconds"] + 1
        entry["pass"] = (
            entry["feed_queries"] <= allowed
            and entry["views_without_changes"] == 0
            and entry["subscribers_left"] == 0
        )
    per_view = [r["feed_queries_per_second"] for r in result["runs"]]
    result["what"] = (
        "status-feed queries/s with N open job views (each consuming every change) while 3 jobs "
        "change every 100 ms, vs every view polling GET /jobs/{id} at the same interval"
    )
    result["flat"] = max(per_view) - min(per_view) <= 1 / result["runs"][0]["seconds"] + 0.01
    result["pass"] = result["flat"] and all(r["pass"] for r in result["runs"])
    return result


# --- the document --------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    servers: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        import psycopg

        from bench.jobs_export import plain_dsn

        with psycopg.connect(plain_dsn(ADMIN_URL)) as conn:
            servers["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        servers["redis"] = client.info("server")["redis_version"]
        client.close()
    git = subprocess.run(  # noqa: S603 - git describe of this checkout
        [shutil.which("git") or "git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        **servers,
        "packages": versions,
        "git": git or None,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, text.split(",")):
        broker, _, pool = item.partition(":")
        if broker not in BROKERS or pool not in POOLS:
            raise argparse.ArgumentTypeError(f"{item!r}: BROKER:POOL, e.g. filesystem:threads")
        pairs.append((broker, pool))
    return pairs


def _names(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {allowed}")
        return names

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", type=_names(MEASUREMENTS), default=list(MEASUREMENTS), help="e.g. cancel,export"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run (small numbers)")
    parser.add_argument("--cancels", type=int, default=30, help="cancels per broker x pool")
    parser.add_argument("--brokers", type=_names(BROKERS), default=list(BROKERS))
    parser.add_argument("--pools", type=_names(POOLS), default=list(POOLS))
    parser.add_argument(
        "--death",
        type=_pairs,
        default=[("filesystem", "threads"), ("redis", "prefork")],
        help="BROKER:POOL pairs for the worker-death runs",
    )
    parser.add_argument("--lease", type=float, help="job lease for worker death (default: 15 s)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="projects to export")
    parser.add_argument("--export-repeat", type=int, default=2, help="handler runs (best kept)")
    parser.add_argument("--views", type=lambda t: [int(v) for v in t.split(",")], default=None)
    parser.add_argument("--fanout-seconds", type=float, default=10.0)
    parser.add_argument(
        "--output", type=Path, help="where to keep the JSON (default bench/results/jobs-<time>)"
    )
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.views is None:
        args.views = [1, 100, 1000]
    if args.quick:
        args.cancels = min(args.cancels, 5)
        args.rows = min(args.rows, 100_000)
        args.export_repeat = 1
        args.fanout_seconds = min(args.fanout_seconds, 2.0)
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: cleanup runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.export_child:
        _export_child()
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    run = Run()
    # Nothing in this process may touch the default var/broker (workers.app builds an app from
    # the environment's settings when imported).
    os.environ["CONSOLE_BROKER_URL"] = f"filesystem://{run.folder / 'default-broker'}"
    document: dict[str, Any] = {
        "benchmark": "jobs",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
    }
    measurements: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        run.create_database()
        steps = {
            "cancel": run_cancel,
            "death": run_death,
            "fairness": run_fairness,
            "fanout": run_fanout,
            "export": run_export,
        }
        # Workers first: the fan-out leaves "running" rows a later worker's reaper would pick up.
        for name in ("cancel", "death", "fairness", "fanout", "export"):
            if name not in args.only:
                continue
            step_started = time.perf_counter()
            try:
                measurements[name] = steps[name](run, args)
            except Exception as exc:
                log(f"{name} failed: {exc!r}")
                measurements[name] = {"error": f"{exc!r}"[:4000], "pass": False}
            measurements[name]["wall_seconds"] = round(time.perf_counter() - step_started, 1)
    finally:
        document["cleanup"] = run.cleanup()
    document["measurements"] = measurements
    document["summary"] = {name: m.get("pass", False) for name, m in measurements.items()}
    document["environment"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    document["wall_seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(document, indent=2)
    print(text)
    output = args.output or ROOT / "bench" / "results" / f"jobs-{datetime.now():%Y%m%dT%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    log(f"saved {output}")
    errors = [name for name, m in measurements.items() if "error" in m]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
