"""The image's install step without Docker: build the wheel, install it into a fresh venv (the
image's Python 3.12 when this machine has one), and run what the container runs: `console --help`,
`console migrate` (the Alembic scripts must be inside the package) and `console serve` (health,
the dashboard's Flutter client from the flet-web wheel and its bundled fonts, graceful SIGTERM).

The venv is cached in .tools/deploy/wheel-smoke/<key> (key: the interpreter and the wheel's
declared dependencies) and the console's wheel is reinstalled into it on every run; a fresh clone
installs everything (about a minute). Runs in `make check-compose` (CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS
=1) or with CONSOLE_TEST_WHEEL_SMOKE=1; skipped otherwise.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

from tests.compose.conftest import REQUIRE_TOOLS, ROOT
from tests.compose.test_compose_config import raw
from tests.compose.test_dockerfile import healthcheck_code

pytestmark = [
    pytest.mark.wheel_smoke,
    pytest.mark.skipif(
        not (REQUIRE_TOOLS or os.environ.get("CONSOLE_TEST_WHEEL_SMOKE") == "1"),
        reason="the wheel smoke test runs in `make check-compose` "
        "(or set CONSOLE_TEST_WHEEL_SMOKE=1)",
    ),
]

CACHE = (ROOT / ".tools" / "deploy").resolve() / "wheel-smoke"
ASSETS = ROOT / "src" / "console" / "dashboard" / "assets"
IMAGE_PYTHON = "3.12"
FONT_SUFFIXES = (".ttf", ".otf", ".woff", ".woff2")


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("timeout", 600)
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def interpreter() -> str:
    """The image's Python when this machine has it (PATH or pyenv), else this one."""
    candidates = [os.environ.get("CONSOLE_TEST_SMOKE_PYTHON"), f"python{IMAGE_PYTHON}"]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        pattern = f"{root.stdout.strip()}/versions/{IMAGE_PYTHON}.*/bin/python{IMAGE_PYTHON}"
        candidates += sorted(glob.glob(pattern), reverse=True)
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; print(sys.version_info >= (3, 11))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, ROOT)
    (built,) = out.glob("console-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path) -> Path:
    python = interpreter()
    version = run(python, "-c", "import sys; print(sys.version)").stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = Parser().parsestr(archive.read(meta).decode()).get_all("Requires-Dist") or []
    key = hashlib.sha256("\n".join([version, *sorted(requires)]).encode()).hexdigest()[:16]
    folder = CACHE / key
    marker = folder / ".dependencies-installed"
    pip = [folder / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        run(python, "-m", "venv", folder)
        run(*pip, "install", "-q", wheel)  # the wheel and every declared dependency
        marker.write_text(version + "\n")
    else:
        run(*pip, "install", "-q", "--no-deps", "--force-reinstall", wheel)
    run(*pip, "check")
    return folder


@pytest.fixture(scope="module")
def package_dir(venv: Path) -> Path:
    code = "import console, pathlib; print(pathlib.Path(console.__file__).parent)"
    path = Path(run(venv / "bin" / "python", "-c", code, cwd="/").stdout.strip())
    assert path.is_relative_to(venv), "console must come from the venv, not the source tree"
    return path


def container_env(folder: Path, **extra: str) -> dict[str, str]:
    """What the image sets, with this test's folder for the database, broker and files."""
    for name in ("home", "tmp", "files", "broker"):
        (folder / name).mkdir(exist_ok=True)
    return {
        "PATH": f"{folder.parent}/bin:/usr/bin:/bin",
        "HOME": str(folder / "home"),
        "TMPDIR": str(folder / "tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "CONSOLE_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/console.db",
        "CONSOLE_BROKER_URL": f"filesystem://{folder}/broker",
        "CONSOLE_FILES_DIR": str(folder / "files"),
        **extra,
    }


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty working directory, like the image's /app (no .env, no source tree)."""
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def migrated(venv: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    return run(venv / "bin" / "console", "migrate", cwd=workdir, env=container_env(workdir))


def test_console_help(venv: Path, workdir: Path) -> None:
    out = run(venv / "bin" / "console", "--help", cwd=workdir, env=container_env(workdir)).stdout
    for command in ("serve", "worker", "migrate", "tenants", "users", "tokens"):
        assert command in out


def test_dashboard_assets_are_package_data(package_dir: Path) -> None:
    wanted = {p.relative_to(ASSETS) for p in ASSETS.rglob("*") if p.is_file()}
    wanted = {p for p in wanted if "__pycache__" not in p.parts}
    assert wanted, f"no dashboard assets in {ASSETS}"
    installed = package_dir / "dashboard" / "assets"
    for relative in sorted(wanted):
        assert (installed / relative).is_file(), f"{relative} is missing from the wheel"
        assert (installed / relative).stat().st_size == (ASSETS / relative).stat().st_size
    fonts = [p for p in wanted if p.parts[0] == "fonts" and p.suffix in FONT_SUFFIXES]
    assert fonts, "the bundled fallback fonts are missing"


def test_flutter_client_comes_from_the_flet_web_wheel(venv: Path) -> None:
    code = "import flet_web; print(flet_web.get_package_web_dir())"
    web = Path(run(venv / "bin" / "python", "-c", code, cwd="/").stdout.strip())
    assert web.is_relative_to(venv)
    for name in ("index.html", "flutter_bootstrap.js", "main.dart.js", "canvaskit/canvaskit.wasm"):
        assert (web / name).is_file(), name


def test_migrate_finds_the_packaged_migrations(
    migrated: subprocess.CompletedProcess[str], package_dir: Path
) -> None:
    assert "latest revision" in migrated.stdout
    assert any((package_dir / "migrations" / "versions").glob("0001_*.py"))


@pytest.fixture(scope="module")
def server(
    venv: Path, workdir: Path, migrated: subprocess.CompletedProcess[str]
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = container_env(workdir, CONSOLE_PUBLIC_BASE_URL=base)
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(
        [str(venv / "bin" / "console"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/livez", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"console serve did not come up:\n{(workdir / 'serve.log').read_text()}")
        time.sleep(0.5)
    yield base, process
    if process.poll() is None:
        process.kill()
        process.wait(10)
    log.close()


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return response.status, response.read()


def test_served_health(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    assert get(f"{base}/livez")[0] == 200
    assert get(f"{base}/readyz")[0] == 200


@pytest.mark.parametrize("source", ["Dockerfile HEALTHCHECK", "compose web healthcheck"])
def test_the_healthchecks_pass_against_the_server(
    server: tuple[str, subprocess.Popen[str]], venv: Path, source: str
) -> None:
    base, _ = server
    code = (
        healthcheck_code()
        if source.startswith("Dockerfile")
        else raw()["services"]["web"]["healthcheck"]["test"][3]
    )
    assert "http://127.0.0.1:8000/" in code
    run(venv / "bin" / "python", "-c", code.replace("http://127.0.0.1:8000", base), timeout=30)


def test_dashboard_is_served_without_a_cdn(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    status, body = get(f"{base}/dashboard/")
    assert status == 200
    html = body.decode()
    assert "flutter_bootstrap.js" in html
    for cdn in ("gstatic.com", "unpkg.com", "jsdelivr.net", "cdnjs"):
        assert cdn not in html, cdn
    assert get(f"{base}/dashboard/main.dart.js")[0] == 200


def test_bundled_fonts_are_served(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    fonts = sorted(p for p in (ASSETS / "fonts").iterdir() if p.suffix in FONT_SUFFIXES)
    assert fonts
    for font in fonts:
        status, body = get(f"{base}/dashboard/fonts/{font.name}")
        assert status == 200, font.name
        assert body == font.read_bytes(), font.name


def test_sigterm_shuts_down_gracefully(
    server: tuple[str, subprocess.Popen[str]], workdir: Path
) -> None:
    """What `docker stop` (through compose's init) sends: uvicorn drains, then exits (it re-raises
    the signal after a clean shutdown, so -SIGTERM is a clean exit too)."""
    _, process = server
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in (workdir / "serve.log").read_text()


# --- the worker and its compose healthcheck (needs a Redis broker, as in compose) ---------------

REDIS = ("127.0.0.1", 6379)


def redis_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def worker_healthcheck(python: Path, env: dict[str, str], cwd: Path) -> int:
    code = raw()["services"]["worker"]["healthcheck"]["test"][3]
    return subprocess.run(
        [str(python), "-c", code], cwd=cwd, env=env, capture_output=True, timeout=60, check=False
    ).returncode


def test_worker_healthcheck_and_warm_shutdown(
    venv: Path, workdir: Path, migrated: subprocess.CompletedProcess[str]
) -> None:
    """`console worker` from the wheel on a Redis broker: the compose healthcheck fails while no
    worker of this host answers and passes once it does; SIGTERM is a warm shutdown."""
    if not redis_reachable():
        reason = f"no Redis at {REDIS[0]}:{REDIS[1]} for the worker smoke test"
        if REQUIRE_TOOLS:  # make check-compose (CI) runs it for real
            pytest.fail(reason)
        pytest.skip(reason)
    # A key prefix of its own: other test runs may share this Redis.
    prefix = f"wheel-smoke-{os.getpid()}-{int(time.time())}:"
    env = container_env(
        workdir,
        CONSOLE_BROKER_URL=f"redis://{REDIS[0]}:{REDIS[1]}/15?global_keyprefix={prefix}",
        CONSOLE_WORKER_CONCURRENCY="1",
    )
    python = venv / "bin" / "python"
    assert worker_healthcheck(python, env, workdir) != 0, "healthy without a worker"
    log_path = workdir / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "console"), "worker"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while worker_healthcheck(python, env, workdir) != 0:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) in (0, -signal.SIGTERM), log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert "warm shutdown" in log_path.read_text().lower()
