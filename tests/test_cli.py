"""The CLI: migrate, tenants create|list|suspend|resume, users make-operator, tokens create."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("cli")
    return {
        **os.environ,
        "CONSOLE_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'cli.db'}",
        "CONSOLE_BROKER_URL": f"filesystem://{folder / 'broker'}",
        "CONSOLE_LOG_LEVEL": "WARNING",
    }


def console(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )


@pytest.mark.skipif(
    BACKEND != "sqlite", reason="the CLI is exercised once, on the embedded database"
)
def test_cli_manages_tenants_and_tokens(cli_env: dict[str, str]):
    assert console(cli_env, "migrate").returncode == 0
    created = console(
        cli_env, "tenants", "create", "globex", "Globex", "--admin-email", "hank@globex.example"
    )
    assert created.returncode == 0, created.stderr
    assert "Created tenant globex" in created.stdout

    again = console(
        cli_env, "tenants", "create", "globex", "Globex", "--admin-email", "x@y.example"
    )
    assert again.returncode == 1
    assert "taken" in again.stderr

    token = console(
        cli_env, "tokens", "create", "globex", "--email", "hank@globex.example", "--role", "admin"
    )
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("cnsl_")

    stranger = console(cli_env, "tokens", "create", "globex", "--email", "nobody@x.example")
    assert stranger.returncode == 1

    assert console(cli_env, "tenants", "suspend", "globex", "--reason", "test").returncode == 0
    listed = console(cli_env, "tenants", "list")
    assert "globex" in listed.stdout
    assert "suspended" in listed.stdout
    assert console(cli_env, "tenants", "resume", "globex").returncode == 0
    assert console(cli_env, "users", "make-operator", "ops@globex.example").returncode == 0
    assert console(cli_env, "tenants", "suspend", "nope").returncode == 1


@pytest.mark.skipif(
    BACKEND != "sqlite", reason="the CLI is exercised once, on the embedded database"
)
def test_serve_refuses_insecure_production_settings(cli_env: dict[str, str]):
    refused = console({**cli_env, "CONSOLE_ENVIRONMENT": "prod"}, "serve")
    assert refused.returncode == 2
    assert "CONSOLE_SECRET_KEY" in refused.stderr
    assert "Refusing to start in production" in refused.stderr
