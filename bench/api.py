"""List-projects throughput and latency on PostgreSQL; prints one JSON document.

Seeds 100 tenants x 1,000 projects into its own database (once), serves the app with
`console serve` (one uvicorn worker, as a role bound by row-level security), and drives
GET /api/v1/tenants/{t}/projects with API tokens from another process (wrk, or an asyncio
client when wrk is missing) in four scenarios: first page, search, deep page, deep search.

    python bench/api.py             # 20 s per scenario at concurrency 32 after a warm-up
    python bench/api.py --quick     # a few seconds, for smoke use
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from console import migrate
from console.identity.tokens import new_api_token
from console.kit.ids import new_id

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "CONSOLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "console_bench_app"
SLUG_PREFIX = "bench-"
TOKEN_NAME = "bench"  # noqa: S105 - the name of the bench tokens, not a secret
# Project names are "<team> <thing> <n>": the search term matches one team in five.
TEAMS = ("Falcon", "Harbor", "Granite", "Cobalt", "Meadow")
THINGS = ("api", "billing", "search", "mobile", "ledger", "portal", "sync", "reports")
SEARCH = "falcon"
PAGE_SIZE = 50
TARGET = {"req_per_s": 800, "p99_ms": 60}
REFERENCE = {
    "what": "full-stack-fastapi-template list-items, same machine and load",
    "req_per_s": 62.5,
    "p99_ms": 968,
}
PACKAGES = ("fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "asyncpg", "uvloop")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def plain_dsn(url: str) -> str:
    """A SQLAlchemy URL as a libpq DSN asyncpg understands."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Target:
    """The bench database: the owner runs migrations and seeds, the app role serves."""

    name: str
    owner_url: str
    app_url: str


@dataclass
class Scenario:
    name: str
    description: str
    paths: list[tuple[str, str]] = field(default_factory=list)  # (path, token)


# --- database --------------------------------------------------------------------------


async def ensure_database(name: str) -> Target:
    admin = await asyncpg.connect(plain_dsn(ADMIN_URL))
    try:
        await admin.execute(
            f"""DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                    CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
                END IF; END $$"""
        )
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            log(f"creating database {name}")
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = make_url(ADMIN_URL)
    return Target(
        name=name,
        owner_url=base.set(database=name).render_as_string(hide_password=False),
        app_url=base.set(database=name, username=APP_ROLE, password=None).render_as_string(
            hide_password=False
        ),
    )


async def drop_database(target: Target) -> None:
    admin = await asyncpg.connect(plain_dsn(ADMIN_URL))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            target.name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{target.name}"')
    finally:
        await admin.close()


def _project_rows(
    tenant_id: uuid.UUID, owner: uuid.UUID, index: int, count: int, rng: random.Random
) -> list[tuple[Any, ...]]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        created = start + timedelta(minutes=rng.randrange(0, 525_600))
        updated = created + timedelta(minutes=rng.randrange(0, 10_000))
        team, thing = rng.choice(TEAMS), rng.choice(THINGS)
        rows.append(
            (
                new_id(),
                tenant_id,
                f"P{n:05d}",
                f"{team} {thing} {n:04d}",
                f"Bench project {n} of tenant {index}: {thing} work owned by the {team} team.",
                "archived" if rng.random() < 0.1 else "active",
                owner,
                1,
                created,
                updated,
            )
        )
    return rows


async def seed(target: Target, tenants: int, projects: int) -> dict[str, Any]:
    """Tenants, an admin each, and their projects; skipped when the same shape is there."""
    conn = await asyncpg.connect(plain_dsn(target.owner_url))
    try:
        # The owner is bound by FORCE ROW LEVEL SECURITY unless it is a superuser.
        await conn.execute("SELECT set_config('console.scope', 'system', false)")
        have_tenants = await conn.fetchval(
            "SELECT count(*) FROM tenants WHERE slug LIKE $1", SLUG_PREFIX + "%"
        )
        have_projects = await conn.fetchval(
            "SELECT count(*) FROM projects p JOIN tenants t ON t.id = p.tenant_id "
            "WHERE t.slug LIKE $1",
            SLUG_PREFIX + "%",
        )
        if have_tenants == tenants and have_projects == tenants * projects:
            log(f"already seeded: {tenants} tenants x {projects} projects")
            return {"seeded": False, "seconds": 0.0}
        started = time.perf_counter()
        log(f"seeding {tenants} tenants x {projects} projects")
        rng = random.Random(42)
        now = datetime.now(UTC)
        async with conn.transaction():
            await conn.execute("DELETE FROM tenants WHERE slug LIKE $1", SLUG_PREFIX + "%")
            await conn.execute("DELETE FROM users WHERE email LIKE 'bench-%@bench.example'")
            tenant_rows, user_rows, member_rows, project_rows = [], [], [], []
            for i in range(tenants):
                tenant_id, user_id = new_id(), new_id()
                tenant_rows.append(
                    (tenant_id, f"{SLUG_PREFIX}{i:03d}", f"Bench {i}", "active", now, now)
                )
                user_rows.append((user_id, f"bench-{i:03d}@bench.example", f"Admin {i}", now, now))
                member_rows.append((new_id(), tenant_id, user_id, "admin", now, now))
                project_rows += _project_rows(tenant_id, user_id, i, projects, rng)
            await conn.copy_records_to_table(
                "tenants",
                records=tenant_rows,
                columns=("id", "slug", "name", "status", "created_at", "updated_at"),
            )
            await conn.copy_records_to_table(
                "users",
                records=[(*r[:3], False, *r[3:]) for r in user_rows],
                columns=("id", "email", "name", "is_operator", "created_at", "updated_at"),
            )
            await conn.copy_records_to_table(
                "memberships",
                records=member_rows,
                columns=("id", "tenant_id", "user_id", "role", "created_at", "updated_at"),
            )
            await conn.copy_records_to_table(
                "projects",
                records=project_rows,
                columns=(
                    "id",
                    "tenant_id",
                    "key",
                    "name",
                    "description",
                    "status",
                    "created_by_id",
                    "version",
                    "created_at",
                    "updated_at",
                ),
            )
        # VACUUM sets the visibility map, so counts can be index-only scans from the start.
        await conn.execute("VACUUM ANALYZE tenants, users, memberships, projects")
        seconds = round(time.perf_counter() - started, 2)
        log(f"seeded in {seconds} s")
        return {"seeded": True, "seconds": seconds}
    finally:
        await conn.close()


async def mint_tokens(target: Target, tenants: int, how_many: int) -> list[tuple[str, str]]:
    """Fresh viewer tokens for `how_many` tenants spread over the range: [(slug, secret)]."""
    conn = await asyncpg.connect(plain_dsn(target.owner_url))
    try:
        await conn.execute("SELECT set_config('console.scope', 'system', false)")
        await conn.execute("DELETE FROM api_tokens WHERE name = $1", TOKEN_NAME)
        step = max(1, tenants // how_many)
        slugs = [f"{SLUG_PREFIX}{i:03d}" for i in range(0, tenants, step)][:how_many]
        rows = await conn.fetch(
            "SELECT t.id, t.slug, m.user_id FROM tenants t "
            "JOIN memberships m ON m.tenant_id = t.id AND m.role = 'admin' "
            "WHERE t.slug = ANY($1::text[]) ORDER BY t.slug",
            slugs,
        )
        minted = []
        for row in rows:
            token = new_api_token()
            await conn.execute(
                "INSERT INTO api_tokens (id, tenant_id, owner_id, name, prefix, token_hash, role,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, 'viewer', now())",
                new_id(),
                row["id"],
                row["user_id"],
                TOKEN_NAME,
                token.prefix,
                token.token_hash,
            )
            minted.append((row["slug"], token.secret))
        return minted
    finally:
        await conn.close()


def backend_pids(target: Target) -> list[int]:
    """Local PostgreSQL backends serving the app role in the bench database (by process title)."""
    title = f"{APP_ROLE} {target.name} ".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if title in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a local process so far (None when it is gone or not ours)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def postgres_version(target: Target) -> str:
    conn = await asyncpg.connect(plain_dsn(target.owner_url))
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


# --- the server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def console_executable() -> str:
    beside = Path(sys.executable).parent / "console"
    found = str(beside) if beside.exists() else shutil.which("console")
    if not found:
        raise SystemExit("`console` is not installed (pip install -e .)")
    return found


class Server:
    """`console serve` as a subprocess (one uvicorn worker), connected as the app role."""

    def __init__(self, target: Target, port: int, workdir: Path, extra_env: dict[str, str]):
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_")}
        env.update(
            CONSOLE_ENVIRONMENT="dev",
            CONSOLE_DATABASE_URL=target.app_url,
            CONSOLE_MIGRATIONS_DATABASE_URL=target.owner_url,
            CONSOLE_BROKER_URL=os.environ.get(
                "CONSOLE_BENCH_BROKER_URL", "redis://127.0.0.1:6379/15"
            ),
            CONSOLE_LOG_LEVEL="WARNING",
            CONSOLE_SEED_DEMO="false",
        )
        env.update(extra_env)
        self.env = env
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI
                [console_executable(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,  # no stray .env file is read
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited; see {self.log_path}:\n{self.tail()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"the server was not ready within {timeout} s:\n{self.tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        assert self.process is not None
        return cpu_seconds(self.process.pid) or 0.0

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- scenarios -------------------------------------------------------------------------


def _page_path(slug: str, q: str | None = None, cursor: str | None = None) -> str:
    params = {"limit": str(PAGE_SIZE)}
    if q:
        params["q"] = q
    if cursor:
        params["cursor"] = cursor
    return f"/api/v1/tenants/{slug}/projects?" + str(httpx.QueryParams(params))


def _deep_path(
    client: httpx.Client, slug: str, token: str, q: str | None, depth: int
) -> tuple[str, int]:
    """Follow next_cursor to page `depth`, or to the last full page before the end; returns
    (path, page number)."""
    path, number = _page_path(slug, q), 1
    full = (path, number)
    while number <= depth:
        page = _get_page(client, path, token)
        if len(page["items"]) == PAGE_SIZE:
            full = (path, number)
        if page["next_cursor"] is None or number == depth:
            break
        path, number = _page_path(slug, q, page["next_cursor"]), number + 1
    return full


def _get_page(client: httpx.Client, path: str, token: str) -> dict[str, Any]:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise SystemExit(f"GET {path} -> {response.status_code}: {response.text[:500]}")
    return response.json()


def build_scenarios(
    base_url: str, tokens: list[tuple[str, str]], deep_page: int
) -> tuple[list[Scenario], dict[str, Any]]:
    """The four scenarios' (path, token) lists, each checked once (and cursors discovered)."""
    first = Scenario("first_page", "page 1, sorted by name")
    search = Scenario("search", f"page 1 of q={SEARCH} (about one row in {len(TEAMS)})")
    deep = Scenario("deep_page", f"page {deep_page} via next_cursor (of 20 at 1,000 rows)")
    deep_search = Scenario("deep_search", f"the last full page of q={SEARCH} (page 3 or 4)")
    shape: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for slug, token in tokens:
            first.paths.append((_page_path(slug), token))
            search.paths.append((_page_path(slug, SEARCH), token))
            deep_path, deep_number = _deep_path(client, slug, token, None, deep_page)
            deep.paths.append((deep_path, token))
            search_path, search_number = _deep_path(client, slug, token, SEARCH, deep_page)
            deep_search.paths.append((search_path, token))
            for scenario, path in (
                (first, first.paths[-1][0]),
                (search, search.paths[-1][0]),
                (deep, deep_path),
                (deep_search, search_path),
            ):
                page = _get_page(client, path, token)
                if not page["items"]:
                    raise SystemExit(f"{scenario.name}: {path} returned no items")
                entry = shape.setdefault(scenario.name, {"items": [], "total": []})
                entry["items"].append(len(page["items"]))
                entry["total"].append(page["total"])
            shape.setdefault("deep_page_number", []).append(deep_number)
            shape.setdefault("deep_search_page_number", []).append(search_number)

    def span(values: list[int]) -> int | list[int]:
        return values[0] if min(values) == max(values) else [min(values), max(values)]

    summary = {
        key: {k: span(v) for k, v in value.items()} if isinstance(value, dict) else span(value)
        for key, value in shape.items()
    }
    return [first, search, deep, deep_search], summary


# --- load generators -------------------------------------------------------------------

_WRK_SCRIPT = """
local requests = {%(requests)s}
local formatted = {}
local i = 0

init = function(args)
  for n, r in ipairs(requests) do
    formatted[n] = wrk.format("GET", r[1], {
      ["Authorization"] = "Bearer " .. r[2], ["Accept"] = "application/json"%(gzip)s
    })
  end
end

request = function()
  i = i %% #formatted + 1
  return formatted[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,' ..
    '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
    '"latency_us":{"min":%%d,"mean":%%.1f,"max":%%d,"p50":%%d,"p90":%%d,"p95":%%d,"p99":%%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


def run_wrk(
    base_url: str, paths: list[tuple[str, str]], seconds: float, concurrency: int, gzip: bool
) -> dict[str, Any]:
    requests = ", ".join(f"{{{_lua_string(p)}, {_lua_string(t)}}}" for p, t in paths)
    script = _WRK_SCRIPT % {
        "requests": requests,
        "gzip": ', ["Accept-Encoding"] = "gzip"' if gzip else "",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        completed = subprocess.run(  # noqa: S603 - wrk with our arguments
            [
                shutil.which("wrk") or "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                f.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(f.name)
    for line in completed.stdout.splitlines():
        if line.startswith("WRKJSON "):
            raw = json.loads(line.removeprefix("WRKJSON "))
            lat = raw["latency_us"]
            return {
                "requests": raw["requests"],
                "seconds": raw["duration_us"] / 1e6,
                "errors": sum(raw["errors"].values()),
                "error_kinds": {k: v for k, v in raw["errors"].items() if v},
                "latency_ms": {k: round(v / 1000, 2) for k, v in lat.items()},
            }
    raise SystemExit(f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")


def run_python_client(
    base_url: str, paths: list[tuple[str, str]], seconds: float, concurrency: int, gzip: bool
) -> dict[str, Any]:
    """The asyncio fallback, in a child process so it does not share the bench's interpreter."""
    spec = {
        "base_url": base_url,
        "paths": paths,
        "seconds": seconds,
        "concurrency": concurrency,
        "gzip": gzip,
    }
    completed = subprocess.run(  # noqa: S603 - this file, as a worker
        [sys.executable, __file__, "--load-worker"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the load worker failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


async def _load_worker(spec: dict[str, Any]) -> dict[str, Any]:
    paths = spec["paths"]
    headers = {"Accept": "application/json"}
    if not spec["gzip"]:
        headers["Accept-Encoding"] = "identity"
    latencies: list[float] = []
    errors = 0
    counter = 0
    limits = httpx.Limits(max_connections=spec["concurrency"])
    async with httpx.AsyncClient(
        base_url=spec["base_url"], headers=headers, limits=limits, timeout=10
    ) as client:
        started = time.perf_counter()
        deadline = started + spec["seconds"]

        async def user() -> None:
            nonlocal errors, counter
            while time.perf_counter() < deadline:
                path, token = paths[counter % len(paths)]
                counter += 1
                t0 = time.perf_counter()
                try:
                    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.gather(*(user() for _ in range(spec["concurrency"])))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors,
        "error_kinds": {"status_or_io": errors} if errors else {},
        "latency_ms": {
            "min": round(latencies[0] * 1000, 2),
            "mean": round(statistics.fmean(latencies) * 1000, 2),
            "max": round(latencies[-1] * 1000, 2),
            "p50": pct(50),
            "p90": pct(90),
            "p95": pct(95),
            "p99": pct(99),
        },
    }


# --- the run ---------------------------------------------------------------------------


def package_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """Installed versions of these distributions (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment(loadgen: str, pg_version: str) -> dict[str, Any]:
    versions = package_versions(PACKAGES)
    wrk_version = None
    if loadgen == "wrk":
        wrk = shutil.which("wrk") or "wrk"
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
        wrk_version = (out.stdout or out.stderr).split("[")[0].strip() or None
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
        "postgresql": pg_version,
        "packages": versions,
        "load_generator": wrk_version or loadgen,
        "git": git or None,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _postgres_cpu(target: Target) -> dict[int, float]:
    return {pid: cpu for pid in backend_pids(target) if (cpu := cpu_seconds(pid)) is not None}


class PostgresCpu:
    """CPU of the bench database's backends over a run, sampled so that backends the pool opens
    and closes meanwhile count too (one that lives less than a sample interval is missed)."""

    def __init__(self, target: Target, interval: float = 0.25) -> None:
        self.target, self.interval = target, interval
        self.before = _postgres_cpu(target)
        self.latest = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.latest.update(_postgres_cpu(self.target))

    def stop(self) -> tuple[float, int]:
        """(CPU seconds used during the run, backends seen)."""
        self._stop.set()
        self._thread.join()
        self.latest.update(_postgres_cpu(self.target))
        used = sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.latest.items())
        return used, len(self.latest)


def measure(
    server: Server, target: Target, scenario: Scenario, args: argparse.Namespace, runner: Any
) -> dict[str, Any]:
    loadavg = os.getloadavg()[0]
    postgres = PostgresCpu(target)
    cpu_before = server.cpu_seconds()
    result = runner(server.base_url, scenario.paths, args.duration, args.concurrency, args.gzip)
    cpu_used = server.cpu_seconds() - cpu_before
    pg_used, pg_backends = postgres.stop()
    rps = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    latency = result["latency_ms"]

    def per_request(seconds: float) -> float | None:
        return round(seconds * 1000 / result["requests"], 3) if result["requests"] else None

    return {
        "description": scenario.description,
        "req_per_s": round(rps, 1),
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "p99_ms": latency["p99"],
        "max_ms": latency["max"],
        "mean_ms": latency["mean"],
        "requests": result["requests"],
        "errors": result["errors"],
        "error_kinds": result["error_kinds"],
        "server_cpu_ms_per_request": per_request(cpu_used),
        "postgres_cpu_ms_per_request": per_request(pg_used) if pg_backends else None,
        "postgres_backends": pg_backends,
        "loadavg_1m_before": round(loadavg, 2),
        "meets_target": rps >= TARGET["req_per_s"]
        and latency["p99"] <= TARGET["p99_ms"]
        and result["errors"] == 0,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of warm-up load")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--projects", type=int, default=1000, help="projects per tenant")
    parser.add_argument("--token-tenants", type=int, default=8, help="tenants the load spreads on")
    parser.add_argument("--deep-page", type=int, default=15, help="page number of 'deep'")
    parser.add_argument("--database", default="console_bench")
    parser.add_argument("--scenario", action="append", help="run only these (repeatable)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip")
    parser.add_argument(
        "--pool-size",
        type=int,
        help="the server's CONSOLE_DATABASE_POOL_SIZE (default: the concurrency; 0: the app's)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. CONSOLE_TOKEN_CACHE_SECONDS=0",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the database first")
    parser.add_argument("--drop", action="store_true", help="drop the bench database afterwards")
    parser.add_argument("--load-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = min(args.duration, 3.0), min(args.warmup, 1.0)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.load_worker:
        print(json.dumps(asyncio.run(_load_worker(json.loads(sys.stdin.read())))))
        return
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "python"
        if loadgen == "python":
            log("wrk not found (apt-get install wrk): using the asyncio client, which is slower")
    runner = run_wrk if loadgen == "wrk" else run_python_client

    if args.fresh:
        base = make_url(ADMIN_URL).set(database=args.database).render_as_string(False)
        asyncio.run(drop_database(Target(args.database, base, base)))
    target = asyncio.run(ensure_database(args.database))
    log("migrating")
    migrate.upgrade(target.owner_url)
    asyncio.run(migrate.grant_app_role(target.owner_url, target.app_url))
    seeding = asyncio.run(seed(target, args.tenants, args.projects))
    tokens = asyncio.run(mint_tokens(target, args.tenants, args.token_tenants))
    pg_version = asyncio.run(postgres_version(target))

    extra_env: dict[str, str] = {}
    # One connection per in-flight request: the app's default pool (10 + 10 overflow) queues
    # requests at the bench's concurrency (bench/README.md).
    pool_size = args.concurrency if args.pool_size is None else args.pool_size
    if pool_size:
        extra_env["CONSOLE_DATABASE_POOL_SIZE"] = str(pool_size)
    extra_env.update(item.split("=", 1) for item in args.server_env)
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        server = Server(target, free_port(), Path(tmp), extra_env)
        try:
            server.start()
            server.wait_ready()
            log(f"server up at {server.base_url}; checking pages")
            scenarios, shape = build_scenarios(server.base_url, tokens, args.deep_page)
            if args.scenario:
                scenarios = [s for s in scenarios if s.name in args.scenario]
            if args.warmup > 0:
                log(f"warming up for {args.warmup} s")
                mixed = [p for s in scenarios for p in s.paths]
                runner(server.base_url, mixed, args.warmup, args.concurrency, args.gzip)
            results = {}
            for scenario in scenarios:
                log(f"{scenario.name}: {args.duration} s at concurrency {args.concurrency}")
                results[scenario.name] = measure(server, target, scenario, args, runner)
                log(
                    f"  {results[scenario.name]['req_per_s']} req/s, "
                    f"p99 {results[scenario.name]['p99_ms']} ms"
                )
        except BaseException:
            log(f"server log tail:\n{server.tail()}")
            raise
        finally:
            server.stop()
    if args.drop:
        asyncio.run(drop_database(target))

    document = {
        "benchmark": "list-projects (GET /api/v1/tenants/{tenant}/projects?limit=50)",
        "auth": "API token (Authorization: Bearer), viewer role",
        "load": {
            "generator": loadgen,
            "concurrency": args.concurrency,
            "seconds_per_scenario": args.duration,
            "warmup_seconds": args.warmup,
            "accept_gzip": args.gzip,
            "tenants_under_load": len(tokens),
            "server": "console serve (uvicorn, 1 worker)",
            "server_env": extra_env,
        },
        "data": {
            "tenants": args.tenants,
            "projects_per_tenant": args.projects,
            "seed": seeding,
            "pages": shape,
        },
        "scenarios": results,
        "target": TARGET,
        "reference": REFERENCE,
        "environment": environment(loadgen, pg_version),
    }
    text = json.dumps(document, indent=2)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
