"""Dashboard sessions at scale: server RSS per idle signed-in session and click -> patch
latency; prints one JSON document.

For each N, a fresh `console serve` (one uvicorn worker, PostgreSQL as the RLS-bound app role)
gets N real Flet sessions over real websockets (bench/dashboard_client.py): each signed in
with its own user's server-side session cookie (made by the identity service, as sign-in
does) and the browser-binding cookie, from the console's own Origin, on
/dashboard/t/<slug>/projects showing the first page of a tenant's 50 projects. Then 10% of
the sessions click their way to the "Projects" section (the one on screen: navigation rail,
drawer or header link) once a second (spread over the second) for `--seconds`.

    python bench/dashboard.py                                 # make bench-dashboard
    python bench/dashboard.py --sessions 100,500 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api import (  # noqa: E402
    Server,
    Target,
    console_executable,
    cpu_seconds,
    free_port,
    package_versions,
)
from bench.dashboard_client import USER_AGENT, Tab, walk  # noqa: E402
from console.dashboard.views.projects import PAGE_SIZE  # noqa: E402

ADMIN_URL = os.environ.get(
    "CONSOLE_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
TARGET_RSS_KIB_PER_SESSION = 300
TARGET_CLICK_P95_MS = 100
TARGET_CLICK_SESSIONS = 500
PACKAGES = ("flet", "flet-web", "fastapi", "uvicorn", "websockets", "msgpack", "uvloop")
# "ValueError: ...", "websockets.exceptions.InvalidState: ...", "KeyError" (a traceback's end).
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|State|Closed|Interrupt)\b")
TEAMS = ("Falcon", "Harbor", "Granite", "Cobalt", "Meadow")
THINGS = ("api", "billing", "search", "mobile", "ledger", "portal", "sync", "reports")


def log(message: str) -> None:
    print(f"[bench-dashboard] {message}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


async def seed(
    owner_url: str, tenants: int, projects: int, users: int
) -> list[tuple[str, str, int]]:
    """Tenants with `projects` projects each, `users` users (members of one tenant each, round
    robin) and one server-side session per user; returns [(tenant slug, cookie, rows)]."""
    from console.db import Database
    from console.identity import service as identity_service
    from console.identity.models import User
    from console.projects.models import Project
    from console.tenancy.models import Membership, Tenant

    rng = random.Random(7)
    db = Database(owner_url, pool_size=2)
    try:
        async with db.system_session() as s:
            rows = [
                Tenant(slug=f"bench-dash-{i:02d}", name=f"Bench tenant {i}") for i in range(tenants)
            ]
            s.add_all(rows)
            await s.flush()
            people = [
                User(email=f"dash-{j:04d}@bench.example", name=f"Bench user {j}")
                for j in range(users)
            ]
            s.add_all(people)
            await s.flush()
            s.add_all(
                Membership(tenant_id=rows[j % tenants].id, user_id=u.id, role="member")
                for j, u in enumerate(people)
            )
            start = datetime(2025, 1, 1, tzinfo=UTC)
            for t in rows:
                for n in range(projects):
                    created = start + timedelta(minutes=rng.randrange(0, 525_600))
                    team, thing = rng.choice(TEAMS), rng.choice(THINGS)
                    s.add(
                        Project(
                            tenant_id=t.id,
                            key=f"P{n:05d}",
                            name=f"{team} {thing} {n:04d}",
                            description=f"Bench project {n}: {thing} work of the {team} team.",
                            status="archived" if rng.random() < 0.1 else "active",
                            created_by_id=people[0].id,
                            created_at=created,
                            updated_at=created + timedelta(minutes=rng.randrange(0, 10_000)),
                        )
                    )
            await s.flush()
            out = []
            for j, user in enumerate(people):
                cookie, _ = await identity_service.start_session(
                    s, user, timedelta(days=1), ip="127.0.0.1", user_agent=USER_AGENT
                )
                out.append((rows[j % tenants].slug, cookie, min(projects, PAGE_SIZE)))
        return out
    finally:
        await db.dispose()


class DashboardServer(Server):
    """`console serve` as bench/api.py starts it; it dies with the bench (PR_SET_PDEATHSIG)
    and, with `nice`, runs at that niceness (negative: ahead of whatever else shares the box;
    the JSON records it)."""

    def __init__(self, *args: Any, nice: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nice = nice

    def _preexec(self) -> None:  # pragma: no cover - runs in the child before exec
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if self.nice:
            os.nice(self.nice)

    def start(self) -> None:
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI
                [console_executable(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=self._preexec,  # the bench runs no threads when it starts one
            )


# --- measurements --------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def wait_all(events: list[asyncio.Event], within: float, *, any_of: bool = False) -> None:
    """Until every event (or, with `any_of`, one) is set, or `within` seconds."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    _, pending = await asyncio.wait(
        waits,
        timeout=within,
        return_when=asyncio.FIRST_COMPLETED if any_of else asyncio.ALL_COMPLETED,
    )
    for task in pending:
        task.cancel()


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "count": len(ordered),
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": round(ordered[-1], 1),
        "mean": round(statistics.fmean(ordered), 1),
    }


class Bench:
    def __init__(self, server: Server, args: argparse.Namespace) -> None:
        self.server = server
        self.args = args
        assert server.process is not None
        self.pid = server.process.pid
        self.origin = server.base_url
        self.ws_url = server.base_url.replace("http://", "ws://") + "/dashboard/ws"
        self.compression = None if args.compression == "none" else "deflate"

    def tab(self, number: int, account: tuple[str, str, int]) -> Tab:
        slug, cookie, rows = account
        cookies = {
            "console_session": cookie,
            # The gate sets this HttpOnly cookie on the dashboard's HTTP responses; a browser
            # sends it back with the websocket handshake.
            "console_binding": secrets.token_urlsafe(24),
        }
        return Tab(number, slug, cookies, rows)

    async def open_tabs(self, tabs: list[Tab], parallel: int) -> dict[str, Any]:
        """Open the tabs, at most `parallel` registering at a time; wait for their rows."""
        gate = asyncio.Semaphore(parallel)
        failures: list[str] = []

        async def one(tab: Tab) -> None:
            async with gate:
                try:
                    await tab.open(self.ws_url, self.origin, self.compression)
                    await wait_all([tab.ready, tab.closed], self.args.ready_timeout, any_of=True)
                    if not tab.ready.is_set():
                        reason = "closed" if tab.closed.is_set() else "timeout"
                        failures.append(
                            f"tab {tab.number}: {reason} {tab.errors + tab.crashes} "
                            f"{json.dumps(tab.describe(), default=str)}"[:2000]
                        )
                except Exception as exc:
                    failures.append(f"tab {tab.number}: {exc!r}"[:300])

        started = time.perf_counter()
        cpu0 = cpu_seconds(self.pid) or 0.0
        await asyncio.gather(*(one(t) for t in tabs))
        elapsed = time.perf_counter() - started
        cpu = (cpu_seconds(self.pid) or 0.0) - cpu0
        ready = [t for t in tabs if t.ready.is_set()]
        return {
            "tabs": len(tabs),
            "ready": len(ready),
            "seconds": round(elapsed, 1),
            "open_to_rows_ms": percentiles([(t.ready_at - t.opened_at) * 1000 for t in ready]),
            "server_cpu_ms_per_session": round(cpu * 1000 / max(1, len(tabs)), 1),
            "failures": failures[:10],
            "failure_count": len(failures),
        }

    async def settle(self, seconds: float) -> list[int]:
        """RSS samples, once a second, until three in a row are within 1% or `seconds`."""
        samples = [rss_kib(self.pid)]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            samples.append(rss_kib(self.pid))
            last = samples[-3:]
            if len(last) == 3 and max(last) - min(last) <= 0.01 * max(last):
                break
        return samples

    async def clicks(self, tabs: list[Tab], seconds: float, fraction: float) -> dict[str, Any]:
        """`fraction` of the tabs click once a second each, phases spread over the second; a
        tab whose previous click has not finished reloading skips its turn (counted)."""
        count = max(1, round(len(tabs) * fraction))
        step = len(tabs) / count
        clickers = [tabs[int(i * step)] for i in range(count)]
        for tab in clickers:
            tab.first_patch_ms.clear()
            tab.reloaded_ms.clear()
        skipped = sent = 0
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5

        async def clicker(tab: Tab, phase: float) -> None:
            nonlocal skipped, sent
            for second in range(int(seconds)):
                at = start + second + phase
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if tab.busy or tab.button_id is None or tab.closed.is_set():
                    skipped += 1
                    continue
                sent += 1
                await tab.click()

        # Websocket pings to tabs that do not click, 10 a second: how long the server's event
        # loop (and the machine) takes to answer anything at all, next to the clicks.
        clicking = set(clickers)
        idle = [t for t in tabs if t not in clicking] or tabs
        pings: list[float] = []

        async def prober() -> None:
            end = start + seconds
            n = 0
            while loop.time() < end:
                tab = idle[n % len(idle)]
                n += 1
                if tab.ws is not None and not tab.closed.is_set():
                    with contextlib.suppress(Exception):
                        pong = await tab.ws.ping()
                        pings.append(await asyncio.wait_for(pong, 10) * 1000)
                await asyncio.sleep(0.1)

        cpu0, client0 = cpu_seconds(self.pid) or 0.0, client_cpu()
        wall0 = time.perf_counter()
        loadavg = os.getloadavg()[0]
        await asyncio.gather(prober(), *(clicker(t, i / count) for i, t in enumerate(clickers)))
        # The clicks still in flight get up to 10 s to finish.
        await wait_all([t.click_done for t in clickers], 10)
        wall = time.perf_counter() - wall0
        server_cpu = (cpu_seconds(self.pid) or 0.0) - cpu0
        first = [ms for t in clickers for ms in t.first_patch_ms]
        reloaded = [ms for t in clickers for ms in t.reloaded_ms]
        return {
            "clicking_sessions": count,
            "offered_clicks_per_second": count,
            "seconds": seconds,
            "clicks_sent": sent,
            "clicks_skipped_previous_still_loading": skipped,
            "clicks_unanswered": sum(1 for t in clickers if t.busy),
            "click_to_first_patch_ms": percentiles(first),
            "click_to_rows_reloaded_ms": percentiles(reloaded),
            "idle_tab_ping_rtt_ms": percentiles(pings),
            "server_cpu_percent": round(server_cpu / wall * 100, 1),
            "server_cpu_ms_per_click": round(server_cpu * 1000 / max(1, sent), 1),
            "client_cpu_percent": round((client_cpu() - client0) / wall * 100, 1),
            "loadavg_1m_before": round(loadavg, 2),
        }


async def measure(
    server: Server, accounts: list[tuple[str, str, int]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    bench = Bench(server, args)
    result: dict[str, Any] = {"sessions": n}
    tabs: list[Tab] = []
    try:
        # Warm-up: one signed-in tab that clicks once (imports, caches, pools), then baseline.
        warm = bench.tab(0, accounts[0])
        tabs.append(warm)
        opened = await bench.open_tabs([warm], 1)
        if not opened["ready"]:
            raise RuntimeError(f"the warm-up tab did not load: {opened}")
        await warm.click()
        await wait_all([warm.click_done], 10)
        await asyncio.sleep(2)
        baseline = (await bench.settle(10))[-1]
        result["warmup_tab"] = {
            "register_to_rows_ms": round((warm.ready_at - warm.opened_at) * 1000, 1),
            "click_to_first_patch_ms": [round(ms, 1) for ms in warm.first_patch_ms[:1]],
            "click_to_rows_reloaded_ms": [round(ms, 1) for ms in warm.reloaded_ms[:1]],
            "controls_on_screen": sum(1 for _ in walk(warm.page)) if warm.page else None,
            "websocket_extensions": warm.extensions or None,
            "clicked": warm.click_kind,
        }
        log(f"N={n}: baseline RSS {baseline / 1024:.1f} MiB; opening {n} tabs")
        cpu_client0 = client_cpu()
        more = [bench.tab(i + 1, accounts[i + 1]) for i in range(n)]
        tabs.extend(more)
        result["open"] = await bench.open_tabs(more, args.parallel)
        result["open"]["client_cpu_s"] = round(client_cpu() - cpu_client0, 1)
        log(f"N={n}: {result['open']}")
        samples = await bench.settle(args.settle)
        settled = samples[-1]
        ready = result["open"]["ready"]
        per_session = (settled - baseline) / n
        result["memory"] = {
            "rss_baseline_kib": baseline,
            "rss_settled_kib": settled,
            "rss_settled_mib": round(settled / 1024, 1),
            "rss_samples_kib": samples,
            "kib_per_session": round(per_session, 1),
            "sessions_ready": ready,
            "target_kib_per_session": TARGET_RSS_KIB_PER_SESSION,
            "pass": ready == n and per_session <= TARGET_RSS_KIB_PER_SESSION,
        }
        log(f"N={n}: RSS {settled / 1024:.1f} MiB, {per_session:.1f} KiB per session")
        live = [t for t in more if t.ready.is_set() and not t.closed.is_set()]
        log(f"N={n}: clicking for {args.seconds} s ({args.click_fraction:.0%} of {len(live)})")
        result["clicks"] = await bench.clicks(live, args.seconds, args.click_fraction)
        result["memory"]["rss_after_clicks_kib"] = rss_kib(bench.pid)
        log(f"N={n}: {result['clicks']}")
        result["tabs_closed_by_server"] = sum(1 for t in tabs if t.closed.is_set())
        result["crashes"] = sorted({c for t in tabs for c in t.crashes})[:5]
        result["client_errors"] = sorted({e for t in tabs for e in t.errors})[:5]
        result["frames_received"] = sum(t.frames for t in tabs)
    finally:
        with contextlib.suppress(OSError):
            result["log_offset"] = server.log_path.stat().st_size
        for t in tabs:
            t.closed.set()  # closing from our side is not an error
        await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)
    return result


def source_digest() -> str:
    """What the server runs: a digest of src/ as it is on disk (others may be editing it)."""
    import hashlib

    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def server_log_summary(server: Server, measured_until: int | None) -> dict[str, Any]:
    """The server log (level WARNING): lines, and the exceptions it shows, counted apart for
    the measurement and for the teardown (when the bench closes its tabs) by byte offset."""
    try:
        raw = server.log_path.read_bytes()
    except OSError:
        return {"lines": 0}
    split = len(raw) if measured_until is None else measured_until

    def summary(text: str) -> dict[str, Any]:
        lines = text.splitlines()
        exceptions = Counter(
            line[:200]
            for line in lines
            if line
            and not line[0].isspace()
            and not line.startswith(("Traceback", "During handling", "The above exception"))
            and EXCEPTION_LINE.match(line)
        )
        first = text.find("Traceback")
        return {
            "lines": len(lines),
            "exceptions": dict(exceptions.most_common(8)),
            "first_traceback": text[first : first + 2500] if first >= 0 else None,
        }

    return {
        "during_measurement": summary(raw[:split].decode(errors="replace")),
        "teardown": summary(raw[split:].decode(errors="replace")),
    }


def _git(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - git of this checkout
        [shutil.which("git") or "git", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def environment() -> dict[str, Any]:
    versions = package_versions(PACKAGES)
    git = _git("status", "--porcelain", "src").splitlines()
    head = _git("rev-parse", "--short", "HEAD").strip()
    return {
        "git_head": head or None,
        # The working tree is what the server ran: uncommitted source changes are listed.
        "src_uncommitted": [line[3:] for line in git],
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.jobs_export import drop_database, throwaway_database

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(args.sessions) * 2 + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    env = environment()
    name, owner_url, app_url = throwaway_database(ADMIN_URL, prefix="console_bench_dashboard")
    log(f"database {name}")
    runs: list[dict[str, Any]] = []
    try:
        started = time.perf_counter()
        accounts = asyncio.run(seed(owner_url, args.tenants, args.projects, max(args.sessions) + 1))
        log(f"seeded {len(accounts)} users with sessions in {time.perf_counter() - started:.1f} s")
        target = Target(name=name, owner_url=owner_url, app_url=app_url)
        for n in args.sessions:
            with tempfile.TemporaryDirectory(prefix="console-bench-dashboard-") as tmp:
                port = free_port()
                server = DashboardServer(
                    target,
                    port,
                    Path(tmp),
                    {
                        "CONSOLE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                        "CONSOLE_BROKER_URL": f"filesystem://{tmp}/broker",
                        "CONSOLE_FILES_DIR": f"{tmp}/files",
                        **dict(item.split("=", 1) for item in args.server_env),
                    },
                    nice=args.server_nice,
                )
                source = source_digest()
                try:
                    server.start()
                    server.wait_ready()
                    log(f"N={n}: server pid {server.process.pid} at {server.base_url}")  # type: ignore[union-attr]
                    result = asyncio.run(_measure(server, accounts, n, args))
                except Exception as exc:
                    log(f"N={n} failed: {exc!r}\n{server.tail()}")
                    result = {"sessions": n, "error": f"{exc!r}"[:2000]}
                finally:
                    server.stop()
                result["server_log"] = server_log_summary(server, result.pop("log_offset", None))
                result["src_digest"] = source
                result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
                runs.append(result)
    finally:
        with contextlib.suppress(Exception):
            drop_database(ADMIN_URL, name)
            log(f"dropped {name}")
    at_target = next((r for r in runs if r["sessions"] == TARGET_CLICK_SESSIONS), None)
    click_p95 = (
        at_target.get("clicks", {}).get("click_to_first_patch_ms", {}).get("p95")
        if at_target
        else None
    )
    memory = [r["memory"]["kib_per_session"] for r in runs if "memory" in r]
    return {
        "benchmark": "dashboard: idle signed-in sessions on /t/<slug>/projects, and clicks",
        "setup": {
            "server": "console serve (uvicorn, 1 worker), PostgreSQL as the RLS-bound app role",
            "sessions": args.sessions,
            "projects_view": f"{args.projects} projects per tenant, {args.tenants} tenants, "
            "one member user and server-side session per tab",
            "click": "go to the 'Projects' section again (the one on screen; navigation rail "
            "destination, or header link): the view is rebuilt and its first page reloaded "
            "through the API",
            "click_fraction": args.click_fraction,
            "seconds": args.seconds,
            "websocket_compression": args.compression,
            "register_parallelism": args.parallel,
            "server_nice": args.server_nice,
        },
        "runs": runs,
        "targets": {
            "rss_kib_per_idle_session": {
                "target": f"<= {TARGET_RSS_KIB_PER_SESSION}",
                "measured": memory,
                "pass": bool(memory) and all(m <= TARGET_RSS_KIB_PER_SESSION for m in memory),
            },
            "click_to_patch_p95_ms_at_500": {
                "target": f"<= {TARGET_CLICK_P95_MS}",
                "measured": click_p95,
                "pass": None if click_p95 is None else click_p95 <= TARGET_CLICK_P95_MS,
            },
        },
        "environment": env,
    }


async def _measure(
    server: Server, accounts: list[tuple[str, str, int]], n: int, args: argparse.Namespace
) -> dict[str, Any]:
    return await measure(server, accounts, n, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sessions",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[100, 500, 1000],
        help="comma-separated N (default 100,500,1000)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="click phase per N")
    parser.add_argument("--click-fraction", type=float, default=0.1)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--projects", type=int, default=50, help="projects per tenant")
    parser.add_argument("--parallel", type=int, default=8, help="tabs registering at a time")
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--settle", type=float, default=20.0, help="max seconds to settle RSS")
    parser.add_argument("--compression", choices=("deflate", "none"), default="deflate")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="extra env"
    )
    parser.add_argument(
        "--server-nice",
        type=int,
        default=0,
        help="niceness of the server (e.g. -10 on a box shared with other work; needs root)",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: server, database


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # Started in the background by a shell, SIGINT may be ignored: TERM cleans up too.
    signal.signal(signal.SIGTERM, _terminate)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    document = run(args)
    text = json.dumps(document, indent=2)
    output = args.output or ROOT / "bench" / "results" / f"dashboard-{int(time.time())}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
