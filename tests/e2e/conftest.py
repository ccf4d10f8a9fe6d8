"""The browser suite: the real console in a subprocess (`console run` on 127.0.0.1, its own
database — SQLite, or PostgreSQL in the PostgreSQL pass — and broker folder), Debian's Chromium
driven by Playwright, and an identity provider this project did not write (npm's
oauth2-mock-server, on `localhost`).

Skipped, with the reason shown, when Chromium or the Playwright package is missing; the
interoperability tests also need Node and `.tools/npm/node_modules/oauth2-mock-server`
(`npm install --prefix .tools/npm --no-save --no-audit --no-fund oauth2-mock-server@8.2.3`).
Screenshots and the console's log land in tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import httpx
import pytest

from tests.backends import (
    DatabaseUnderTest,
    create_postgres,
    create_sqlite,
    drop_postgres,
    postgres_reachable,
)
from tests.conftest import BACKEND, REQUIRE_BROWSER, REQUIRE_POSTGRES
from tests.e2e.flutter import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("CONSOLE_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NPM_TOOLS = ROOT / ".tools" / "npm"
MOCK_SERVER = NPM_TOOLS / "node_modules" / "oauth2-mock-server"
MOCK_SERVER_VERSION = "8.2.3"
INSTALL_MOCK = (
    "npm install --prefix .tools/npm --no-save --no-audit --no-fund "
    f"oauth2-mock-server@{MOCK_SERVER_VERSION}"
)
SHUTDOWN_SECONDS = 10
SECRET_KEY = "e2e-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# Tenant B signs in through oauth2-mock-server as this user (its first admin).
TENANT_B = "b"
TENANT_B_NAME = "Tenant B"
TENANT_B_USER = {
    "sub": "bea-0001",
    "email": "bea@tenant-b.example",
    "email_verified": True,
    "name": "Bea Builder",
}


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get update && apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (the interop identity provider runs on Node >= 20)"
    if not (MOCK_SERVER / "package.json").exists():
        return f"oauth2-mock-server is not installed: run `{INSTALL_MOCK}`"
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_node: needs Node and oauth2-mock-server (skipped with the reason)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser, node = _browser_missing(), _node_missing()
    if REQUIRE_BROWSER and (browser or node):
        raise pytest.UsageError(f"CONSOLE_TEST_REQUIRE_BROWSER=1 but {browser or node}")
    for item in items:
        if HERE not in Path(str(item.fspath)).parents:
            continue
        if browser and "browser" in item.fixturenames:
            item.add_marker(pytest.mark.skip(reason=f"browser tests: {browser}"))
        elif node and item.get_closest_marker("needs_node"):
            item.add_marker(pytest.mark.skip(reason=f"interop tests: {node}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:.0f}s\n{tail}")


def _stop(process: subprocess.Popen[Any], timeout: float = 30) -> float:
    """SIGTERM, then SIGKILL after `timeout`; the seconds it took to exit."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    return time.monotonic() - started


@dataclass
class Console:
    """The console under test, reached at `base` (http://127.0.0.1:<port>)."""

    base: str
    port: int
    env: dict[str, str]
    workdir: Path
    log: Path

    @property
    def foreign_base(self) -> str:
        """The same server under another origin (another site, even)."""
        return f"http://localhost:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def cli(self, *args: str) -> str:
        """Run `console <args>` against this console's database; its stdout."""
        done = subprocess.run(
            [*_console_command(), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"console {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout.strip()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def sign_ins_started(self) -> int:
        """How many sign-ins the console has started (POST /api/v1/auth/sign-in answered)."""
        return self.log_text().count("path=/api/v1/auth/sign-in ")


def _console_command() -> list[str]:
    script = Path(sys.executable).with_name("console")
    return [str(script)] if script.exists() else [sys.executable, "-m", "console.cli"]


def _console_env(workdir: Path, port: int, database: DatabaseUnderTest) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSOLE_", "FLET_"))}
    env |= {
        "CONSOLE_ENVIRONMENT": "dev",
        "CONSOLE_DATABASE_URL": database.app_url,
        "CONSOLE_MIGRATIONS_DATABASE_URL": database.owner_url,
        "CONSOLE_BROKER_URL": f"filesystem://{workdir / 'broker'}",
        "CONSOLE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CONSOLE_SECRET_KEY": SECRET_KEY,
        "CONSOLE_LOG_LEVEL": "INFO",
        "CONSOLE_LOG_JSON": "false",
        "PYTHONUNBUFFERED": "1",
    }
    return env


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def console_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseUnderTest]:
    """An empty database for the console under test: a SQLite file, or in the PostgreSQL pass
    a throwaway PostgreSQL database the console reaches as a role bound by row-level security
    (`console run` migrates it as the owner)."""
    if BACKEND != "postgres":
        yield create_sqlite(tmp_path_factory.mktemp("e2e-db"))
        return
    reason = asyncio.run(postgres_reachable())
    if reason:
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    database = asyncio.run(create_postgres("e2e"))
    try:
        yield database
    finally:
        asyncio.run(drop_postgres(database))


@pytest.fixture(scope="session")
def console(
    tmp_path_factory: pytest.TempPathFactory, artifacts: Path, console_database: DatabaseUnderTest
) -> Iterator[Console]:
    """`console run` (migrate, seed the demo tenant, serve) in a subprocess; its log is kept."""
    workdir = tmp_path_factory.mktemp("e2e-console")
    port = free_port()
    env = _console_env(workdir, port, console_database)
    log = workdir / "console.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_console_command(), "run", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=workdir,  # no developer .env is read
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Console(f"http://127.0.0.1:{port}", port, env, workdir, log)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"console exited with {process.returncode}:\n{running.log_text()}")
        try:
            return httpx.get(running.url("/readyz"), timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_until(ready, 90, "the console", log)
        yield running
    finally:
        took = _stop(process)
        shutil.copyfile(log, artifacts / "console.log")
    # Nothing the suite did may leave a request hanging (uvicorn waits up to 25 s for them).
    assert took < SHUTDOWN_SECONDS, f"the console took {took:.1f}s to shut down"


@dataclass
class MockIdP:
    """oauth2-mock-server behind tests/e2e/mock_idp.mjs; `events` are its JSON log lines."""

    issuer: str
    process: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def events_of(self, kind: str, *, at_least: int = 0) -> list[dict[str, Any]]:
        """Its `kind` events, once there are `at_least` of them (they are read in a thread)."""
        deadline = time.monotonic() + 5
        while True:
            found = [e for e in list(self.events) if e.get("event") == kind]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture(scope="session")
def mock_idp() -> Iterator[MockIdP]:
    env = dict(os.environ) | {
        "MOCK_IDP_MODULES": str(NPM_TOOLS),
        "MOCK_IDP_HOST": "127.0.0.1",  # the issuer is then http://localhost:<port>
        "MOCK_IDP_PORT": "0",
        "MOCK_IDP_USER": json.dumps(TENANT_B_USER),
    }
    process = subprocess.Popen(
        ["node", str(HERE / "mock_idp.mjs")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stdout = cast(IO[str], process.stdout)  # stdout=PIPE: never None
    first = stdout.readline()
    try:
        issuer = json.loads(first)["issuer"]
    except (ValueError, KeyError):
        _stop(process)
        raise RuntimeError(f"oauth2-mock-server did not start: {first}") from None
    idp = MockIdP(issuer, process)

    def read() -> None:
        for line in stdout:
            with contextlib.suppress(ValueError):
                idp.events.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    try:
        yield idp
    finally:
        _stop(process, 5)


@dataclass(frozen=True)
class TenantB:
    slug: str
    name: str
    admin_token: str
    provider: dict[str, Any]
    check: dict[str, Any]


@pytest.fixture(scope="session")
def tenant_b(console: Console, mock_idp: MockIdP) -> TenantB:
    """Tenant B (CLI) with its own identity provider, oauth2-mock-server (API, admin token)."""
    console.cli(
        "tenants", "create", TENANT_B, TENANT_B_NAME, "--admin-email", TENANT_B_USER["email"]
    )
    token = console.cli(
        "tokens", "create", TENANT_B, "--email", TENANT_B_USER["email"], "--role", "admin"
    ).splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=console.base, headers=headers, timeout=15) as api:
        put = api.put(
            f"/api/v1/tenants/{TENANT_B}/identity-provider",
            json={
                "issuer": mock_idp.issuer,
                "client_id": "console-tenant-b",
                "client_secret": "tenant-b-client-secret",
                "scopes": ["openid", "email", "profile"],
            },
        )
        assert put.status_code == 200, put.text
        check = api.post(f"/api/v1/tenants/{TENANT_B}/identity-provider/check")
        assert check.status_code == 200, check.text
    return TenantB(TENANT_B, TENANT_B_NAME, token, put.json(), check.json())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not for the session: the sync API keeps an event loop
    running in this thread while it is started, and the async tests after this folder need
    the thread free."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile (user-data-dir).
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Any) -> Iterator[Callable[..., Any]]:
    """Fresh browser contexts (cookie jars) for one test; all closed at its end."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 720}, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
