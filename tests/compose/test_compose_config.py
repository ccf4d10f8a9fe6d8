"""Policy checks on docker-compose.yml as Docker Compose v2 resolves it (`config --format json`).

The real binary validates the file against the Compose spec; these tests then hold it to what a
deployment of the console needs: healthchecks and restart policies, pinned images, start order,
secrets that must come from .env, one shared image, least privilege, and settings the console
itself accepts at startup.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import yaml

from console.settings import Settings
from tests.compose.conftest import COMPOSE_FILE, CONSOLE_SERVICES, SECRETS

THIRD_PARTY = ("postgres", "redis")
FILES_DIR = "/var/lib/console/files"


def durations(value: str) -> float:
    """Seconds in a Go duration such as '1m30s' (what `config` prints)."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    assert parts, value
    return sum(float(n) * units[u] for n, u in parts)


def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


# --- the file itself --------------------------------------------------------------------------


def test_config_is_valid_with_env_example(run_compose: Callable[..., Any]) -> None:
    result = run_compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_no_obsolete_version_key() -> None:
    assert "version" not in raw()
    assert not re.search(r"^version\s*:", COMPOSE_FILE.read_text(), re.M)


@pytest.mark.parametrize("variable", SECRETS)
def test_missing_secret_fails_with_its_message(
    run_compose: Callable[..., Any], variable: str
) -> None:
    result = run_compose("config", "-q", env_overrides={variable: None})
    assert result.returncode != 0
    assert f"set {variable} in .env" in result.stderr, result.stderr


@pytest.mark.parametrize("variable", SECRETS)
def test_empty_secret_fails_too(run_compose: Callable[..., Any], variable: str) -> None:
    result = run_compose("config", "-q", env_overrides={variable: ""})
    assert result.returncode != 0
    assert f"set {variable} in .env" in result.stderr, result.stderr


def test_services(services: dict[str, Any]) -> None:
    assert set(services) == {*THIRD_PARTY, *CONSOLE_SERVICES}


# --- health, restarts, start order ------------------------------------------------------------


@pytest.mark.parametrize("name", [*THIRD_PARTY, "web", "worker"])
def test_long_running_services_have_a_healthcheck(services: dict[str, Any], name: str) -> None:
    check = services[name].get("healthcheck") or {}
    assert not check.get("disable"), name
    test = check.get("test")
    assert test, name
    assert test[0] in ("CMD", "CMD-SHELL"), (name, test)
    for key in ("interval", "timeout"):
        assert key in check, (name, key)
    assert check.get("retries", 0) >= 3
    assert services[name]["restart"] == "unless-stopped"


def test_migrate_is_one_shot(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"].get("disable") is True  # not the image's web check
    conditions = {k: v["condition"] for k, v in migrate["depends_on"].items()}
    assert conditions == {"postgres": "service_healthy"}


@pytest.mark.parametrize("name", ["web", "worker"])
def test_web_and_worker_start_after_migrations_and_redis(
    services: dict[str, Any], name: str
) -> None:
    conditions = {k: v["condition"] for k, v in services[name]["depends_on"].items()}
    assert conditions["migrate"] == "service_completed_successfully"
    assert conditions["redis"] == "service_healthy"


def test_commands(services: dict[str, Any]) -> None:
    assert services["web"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]


def test_postgres_and_redis_checks(services: dict[str, Any]) -> None:
    pg = services["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in pg
    # Over TCP: the entrypoint's temporary init server listens on the socket only.
    assert any(a.startswith("--host=") for a in pg)
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]


def test_web_healthcheck_uses_python_stdlib(services: dict[str, Any]) -> None:
    test = services["web"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in test[3]
    assert "/readyz" in test[3]
    compile(test[3], "web-healthcheck", "exec")


def test_worker_healthcheck_pings_its_own_node(services: dict[str, Any]) -> None:
    test = services["worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "control.ping" in test[3]
    assert "gethostname" in test[3]
    compile(test[3], "worker-healthcheck", "exec")


def test_grace_periods(services: dict[str, Any]) -> None:
    # uvicorn drains for 25 s; Celery's warm shutdown waits for running jobs.
    assert durations(services["web"]["stop_grace_period"]) >= 30
    assert durations(services["worker"]["stop_grace_period"]) >= 120


# --- images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_third_party_images_are_pinned(services: dict[str, Any], name: str) -> None:
    image = services[name]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo, image
    assert tag not in ("", "latest"), image
    # A specific release (major.minor[.patch]), not a floating major like "17" or "alpine".
    assert re.match(r"^\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$", tag), image
    assert "build" not in services[name]


def test_console_services_share_one_image(services: dict[str, Any]) -> None:
    images = {services[n]["image"] for n in CONSOLE_SERVICES}
    assert images == {"console:local"}
    builds = {repr(services[n]["build"]) for n in CONSOLE_SERVICES}
    assert len(builds) == 1
    assert services["web"]["build"]["dockerfile"] == "Dockerfile"


def test_console_image_can_come_from_a_registry(render: Callable[..., Any]) -> None:
    services = render({"CONSOLE_IMAGE": "registry.example.com/console:1.2.3"})["services"]
    assert {services[n]["image"] for n in CONSOLE_SERVICES} == {
        "registry.example.com/console:1.2.3"
    }


# --- exposure and privileges ------------------------------------------------------------------


def test_only_web_publishes_a_port(services: dict[str, Any]) -> None:
    published = {n for n, s in services.items() if s.get("ports")}
    assert published == {"web"}
    (port,) = services["web"]["ports"]
    assert port["target"] == 8000
    assert port["published"] == "8000"
    assert port["host_ip"] == "127.0.0.1"  # loopback unless CONSOLE_BIND_ADDRESS says otherwise


@pytest.mark.parametrize("name", CONSOLE_SERVICES)
def test_console_containers_are_hardened(services: dict[str, Any], name: str) -> None:
    service = services[name]
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "cap_add" not in service
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["init"] is True  # signals forwarded, zombies reaped
    assert any(t.split(":")[0] == "/tmp" for t in service["tmpfs"])  # noqa: S108 - a tmpfs
    assert not service.get("privileged")
    assert "user" not in service  # the image's non-root 10001


@pytest.mark.parametrize("name", THIRD_PARTY)
def test_third_party_containers_get_no_new_privileges(services: dict[str, Any], name: str) -> None:
    assert "no-new-privileges:true" in services[name]["security_opt"]
    assert not services[name].get("privileged")


def test_state_lives_in_named_volumes(config: dict[str, Any]) -> None:
    services = config["services"]

    def mounts(name: str) -> dict[str, str]:
        return {
            v["target"]: v["source"]
            for v in services[name].get("volumes", [])
            if v["type"] == "volume"
        }

    assert mounts("postgres") == {"/var/lib/postgresql/data": "postgres-data"}
    assert mounts("redis") == {"/data": "redis-data"}
    assert mounts("web") == mounts("worker") == {FILES_DIR: "console-files"}
    assert "console-files" in config["volumes"]
    for name in ("web", "worker"):
        assert services[name]["environment"]["CONSOLE_FILES_DIR"] == FILES_DIR
    # No bind mounts of the host's files into any container.
    for name, service in services.items():
        assert all(v["type"] != "bind" for v in service.get("volumes", [])), name


# --- secrets and settings ---------------------------------------------------------------------

SECRETISH = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|_KEY)$")
INTERPOLATED = re.compile(r"^\$\{[A-Z0-9_]+(:\?[^}]+|:-)\}$")


def _environments(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        env = node.get("environment")
        if isinstance(env, dict):
            found.append(env)
        for value in node.values():
            found += _environments(value)
    elif isinstance(node, list):
        for value in node:
            found += _environments(value)
    return found


def test_no_secret_is_hard_coded() -> None:
    """Every secret-like variable and every password in a URL is interpolated: required
    (`${VAR:?message}`) or empty by default (`${VAR:-}`), never a literal."""
    envs = _environments(raw())
    assert envs
    for env in envs:
        for key, value in env.items():
            if SECRETISH.search(key):
                assert INTERPOLATED.match(str(value)), (key, value)
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value)):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", password), (key, value)
    text = COMPOSE_FILE.read_text()
    assert "change-me" not in text
    # No long random-looking literal (a pasted key or token: mixed case and digits).
    for word in re.findall(r"[A-Za-z0-9_\-+/=]{20,}", text):
        assert not all(re.search(p, word) for p in ("[a-z]", "[A-Z]", "[0-9]")), word


def test_secrets_flow_from_the_env_file(render: Callable[..., Any]) -> None:
    values = {name: secrets.token_urlsafe(24) for name in SECRETS}
    services = render(values)["services"]
    key, owner, app = (values[n] for n in SECRETS)
    for name in CONSOLE_SERVICES:
        env = services[name]["environment"]
        assert env["CONSOLE_SECRET_KEY"] == key
        assert f"console_app:{app}@postgres:5432/console" in env["CONSOLE_DATABASE_URL"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == owner
    assert services["postgres"]["environment"]["CONSOLE_DB_APP_PASSWORD"] == app
    # Only the one-shot migrate (and the admin CLI run through it) holds the owner's password.
    assert owner in services["migrate"]["environment"]["CONSOLE_MIGRATIONS_DATABASE_URL"]
    for name in ("web", "worker"):
        assert "CONSOLE_MIGRATIONS_DATABASE_URL" not in services[name]["environment"]
        assert owner not in repr(services[name])


def test_postgres_creates_the_app_role(config: dict[str, Any]) -> None:
    (mount,) = config["services"]["postgres"]["configs"]
    assert mount["target"].startswith("/docker-entrypoint-initdb.d/")
    script = config["configs"][mount["source"]]["content"]
    assert "CREATE ROLE console_app LOGIN PASSWORD :'app_password'" in script
    assert "CONSOLE_DB_APP_PASSWORD" in script
    assert "ON_ERROR_STOP=1" in script


def settings_of(environment: dict[str, str]) -> Settings:
    """The console's Settings as a container with this environment would read them."""
    with mock.patch.dict(os.environ, {k: str(v) for k, v in environment.items()}, clear=True):
        return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", CONSOLE_SERVICES)
def test_default_stack_is_local_dev_on_postgres_and_redis(
    services: dict[str, Any], name: str
) -> None:
    settings = settings_of(services[name]["environment"])
    settings.validate_for_startup()
    assert not settings.is_prod
    assert settings.dev_idp  # how a local user signs in
    assert str(settings.public_base_url).rstrip("/") == "http://localhost:8000"
    assert settings.database_url.startswith("postgresql+asyncpg://console_app:")
    assert settings.broker_url == "redis://redis:6379/0"
    assert settings.rate_limit_redis_url == "redis://redis:6379/1"
    assert str(settings.files_dir) == FILES_DIR


PROD = {
    "CONSOLE_ENVIRONMENT": "prod",
    "CONSOLE_PUBLIC_BASE_URL": "https://console.example.com",
    "CONSOLE_PLATFORM_OIDC_ISSUER": "https://login.example.com/realms/platform",
    "CONSOLE_PLATFORM_OIDC_CLIENT_ID": "console",
    "CONSOLE_PLATFORM_OIDC_CLIENT_SECRET": "oidc-client-secret-from-the-provider",
}


@pytest.mark.parametrize("name", CONSOLE_SERVICES)
def test_production_settings_pass_the_console_startup_checks(
    render: Callable[..., Any], name: str
) -> None:
    values = {n: secrets.token_urlsafe(48) for n in SECRETS}
    services = render({**values, **PROD})["services"]
    settings = settings_of(services[name]["environment"])
    settings.validate_for_startup()  # raises ConfigurationError with what is missing
    assert settings.is_prod
    assert settings.is_https
    assert not settings.dev_idp
    assert settings.platform_oidc_issuer == PROD["CONSOLE_PLATFORM_OIDC_ISSUER"]


def test_production_refuses_the_example_placeholder_secret(render: Callable[..., Any]) -> None:
    from console.settings import ConfigurationError

    services = render(PROD)["services"]
    with pytest.raises(ConfigurationError, match="CONSOLE_SECRET_KEY"):
        settings_of(services["web"]["environment"]).validate_for_startup()
