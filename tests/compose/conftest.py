"""Fixtures for the docker-compose.yml / Dockerfile checks (run by `make check-compose`).

The tools come from PyPI into .tools/deploy/bin (scripts/deploy/compose-tools.sh). Without them
these tests skip with the reason, unless CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1 (check-compose sets
it), which makes a missing tool a failure. No Docker engine is needed: `docker-compose config`
renders and validates the file offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
TOOLS_BIN = ROOT / ".tools" / "deploy" / "bin"
REQUIRE_TOOLS = os.environ.get("CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS") == "1"
CONSOLE_SERVICES = ("migrate", "web", "worker")
SECRETS = ("CONSOLE_SECRET_KEY", "POSTGRES_PASSWORD", "CONSOLE_DB_APP_PASSWORD")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wheel_smoke: builds the wheel and installs it into a fresh venv (check-compose only)",
    )


def tool(name: str) -> Path:
    """A deploy tool's binary, or skip (fail under CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1)."""
    override = os.environ.get(f"CONSOLE_{name.upper().replace('-', '_')}")
    path = Path(override) if override else TOOLS_BIN / name
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = (
        f"{name} is not installed at {path}: run scripts/deploy/compose-tools.sh "
        "(or `make check-compose`)"
    )
    if REQUIRE_TOOLS:
        pytest.fail(reason + " [CONSOLE_TEST_REQUIRE_DEPLOY_TOOLS=1]")
    pytest.skip(reason)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the caller's CONSOLE_*/POSTGRES_* values (they would override
    the env file: compose gives the shell's variables precedence)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONSOLE_", "POSTGRES_", "COMPOSE_"))
    }
    env.update(extra)
    return env


def env_file_text(overrides: dict[str, str | None] | None = None) -> str:
    """.env.example with some variables replaced (a None value removes the variable)."""
    overrides = dict(overrides or {})
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line)
        if match and match.group(1) in overrides:
            value = overrides.pop(match.group(1))
            if value is not None:
                lines.append(f"{match.group(1)}={value}")
            continue
        lines.append(line)
    lines += [f"{k}={v}" for k, v in overrides.items() if v is not None]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    return tool("docker-compose")


@pytest.fixture(scope="session")
def run_compose(
    compose_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs `docker-compose --env-file <file> -f docker-compose.yml ARGS` (the binary itself)."""
    folder = tmp_path_factory.mktemp("compose-env")

    def run(
        *args: str, env_overrides: dict[str, str | None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env_file = folder / f"env-{len(list(folder.iterdir()))}"
        env_file.write_text(env_file_text(env_overrides))
        return subprocess.run(
            [
                str(compose_bin),
                "--project-directory",
                str(ROOT),
                "--env-file",
                str(env_file),
                "-f",
                str(COMPOSE_FILE),
                *args,
            ],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def render(
    run_compose: Callable[..., subprocess.CompletedProcess[str]],
) -> Callable[..., dict[str, Any]]:
    """The fully resolved model (`config --format json`) for .env.example plus overrides."""

    def rendered(env_overrides: dict[str, str | None] | None = None) -> dict[str, Any]:
        result = run_compose("config", "--format", "json", env_overrides=env_overrides)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return rendered


@pytest.fixture(scope="session")
def config(render: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return render()


@pytest.fixture(scope="session")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return config["services"]
