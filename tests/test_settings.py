"""Settings: embedded defaults for dev; production refuses insecure values and says what to set."""

from __future__ import annotations

import pytest

from console.settings import ConfigurationError, Settings

SAFE_PROD = {
    "environment": "prod",
    "secret_key": "x" * 48,
    "database_url": "postgresql+asyncpg://console@db/console",
    "public_base_url": "https://console.example.com",
    "broker_url": "redis://redis:6379/0",
}


def test_dev_defaults_are_embedded():
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite:///var/")
    assert settings.broker_url.startswith("filesystem://")
    assert settings.flet_web_app_path == "/dashboard"
    settings.validate_for_startup()


def test_safe_production_settings_start():
    settings = Settings(_env_file=None, **SAFE_PROD)
    settings.validate_for_startup()
    assert settings.session_cookie_name == "__Host-console_session"
    assert settings.public_origin == "https://console.example.com"


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ({"secret_key": "dev-insecure-secret-key-change-me"}, "CONSOLE_SECRET_KEY"),
        ({"secret_key": "short"}, "CONSOLE_SECRET_KEY"),
        ({"database_url": "sqlite+aiosqlite:///var/console.db"}, "CONSOLE_DATABASE_URL"),
        ({"public_base_url": "http://console.example.com"}, "CONSOLE_PUBLIC_BASE_URL"),
        ({"broker_url": "filesystem://var/broker"}, "CONSOLE_BROKER_URL"),
    ],
)
def test_production_refuses_insecure_settings(override: dict[str, str], hint: str):
    settings = Settings(_env_file=None, **(SAFE_PROD | override))
    with pytest.raises(ConfigurationError) as error:
        settings.validate_for_startup()
    assert hint in str(error.value)
    assert "x" * 48 not in str(error.value)


def test_every_problem_is_reported_at_once():
    settings = Settings(_env_file=None, environment="prod")
    with pytest.raises(ConfigurationError) as error:
        settings.validate_for_startup()
    message = str(error.value)
    for hint in ("CONSOLE_SECRET_KEY", "CONSOLE_DATABASE_URL", "CONSOLE_PUBLIC_BASE_URL"):
        assert hint in message


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLET_WEB_APP_PATH", "admin/")
    monkeypatch.setenv("CONSOLE_CORS_ALLOWED_ORIGINS", "https://a.example, https://b.example/")
    settings = Settings(_env_file=None)
    assert settings.flet_web_app_path == "/admin"
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize("path", ["/", "/api/v1"])
def test_dashboard_path_must_not_shadow_the_api(path: str):
    with pytest.raises(ValueError, match="FLET_WEB_APP_PATH"):
        Settings(_env_file=None, flet_web_app_path=path)
