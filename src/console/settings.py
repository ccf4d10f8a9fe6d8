"""The one Settings object: environment variables (CONSOLE_*) and `.env`, read once."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the known dev default
VAR_DIR = Path("var")


class Environment(StrEnum):
    DEV = "dev"
    PROD = "prod"


class ConfigurationError(RuntimeError):
    """Settings that must not be used in this environment; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONSOLE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Environment = Environment.DEV
    database_url: str = f"sqlite+aiosqlite:///{VAR_DIR}/console.db"
    # Owner connection used by `console migrate`; the app itself should connect as a role that
    # cannot bypass row-level security. Defaults to database_url.
    migrations_database_url: str | None = None
    database_pool_size: int = 20
    broker_url: str = f"filesystem://{VAR_DIR}/broker"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000")
    flet_web_app_path: str = Field(default="/dashboard", validation_alias="FLET_WEB_APP_PATH")
    session_lifetime_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    session_idle_timeout_seconds: int = Field(default=24 * 3600, ge=60)
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    log_json: bool | None = None
    seed_demo: bool = True
    # Counts above this are reported as "at least" so a page never scans a whole big table.
    count_limit: int = Field(default=10_000, ge=100)
    # Sign-in: the development identity provider (served at /dev-idp; never in production) and
    # the platform operators' provider.
    dev_idp_enabled: bool | None = None
    platform_oidc_issuer: str | None = None
    platform_oidc_client_id: str | None = None
    platform_oidc_client_secret: SecretStr | None = None
    signin_timeout_seconds: int = Field(default=600, ge=60, le=3600)
    # Abuse limits are shared across processes when this is set (e.g. redis://redis:6379/1).
    rate_limit_redis_url: str | None = None
    rate_limit_enabled: bool = True
    # The dashboard's API client talks to this app in-process unless a base URL is given.
    dashboard_api_base_url: str | None = None
    dashboard_session_timeout_seconds: int = Field(default=600, ge=30)
    # How long an API token's authentication may be served from this process's memory.
    token_cache_seconds: float = Field(default=5.0, ge=0)
    # Jobs. Files (uploads, exports) live under files_dir, shared by web and workers.
    files_dir: Path = VAR_DIR / "files"
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    upload_link_seconds: int = Field(default=900, ge=30, le=86_400)
    download_link_seconds: int = Field(default=600, ge=30, le=86_400)
    export_retention_hours: int = Field(default=72, ge=1)
    # A running job whose heartbeat is older than the lease is taken over or failed.
    job_lease_seconds: float = Field(default=15.0, ge=3)
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    job_progress_interval_seconds: float = Field(default=0.25, ge=0.05)
    job_cancel_poll_seconds: float = Field(default=0.05, ge=0.02)
    job_feed_interval_seconds: float = Field(default=0.5, ge=0.05)
    # Above the longest job: Redis redelivers unacknowledged messages after this.
    broker_visibility_timeout_seconds: int = Field(default=4 * 3600, ge=60)
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    worker_pool: Literal["threads", "prefork", "solo"] = "threads"
    # Touched every few seconds while the worker's watcher loop runs: a liveness probe that
    # needs no broker round trip (its age tells whether the worker is stuck).
    worker_liveness_file: Path | None = None
    # `console run` starts a worker in its own process unless this is false.
    embedded_worker: bool = True

    @field_validator("flet_web_app_path")
    @classmethod
    def _normalise_mount(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path == "/" or path.startswith("/api"):
            raise ValueError("FLET_WEB_APP_PATH must be a sub-path such as /dashboard")
        return path

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_https(self) -> bool:
        return self.public_base_url.scheme == "https"

    @property
    def public_origin(self) -> str:
        url = self.public_base_url
        default_port = {"http": 80, "https": 443}[url.scheme]
        port = "" if url.port in (None, default_port) else f":{url.port}"
        return f"{url.scheme}://{url.host}{port}"

    @property
    def trusted_origins(self) -> frozenset[str]:
        """Origins whose cookie-authenticated unsafe requests are accepted."""
        return frozenset({self.public_origin, *self.cors_allowed_origins})

    @property
    def session_cookie_name(self) -> str:
        return "__Host-console_session" if self.is_https else "console_session"

    @property
    def dev_idp(self) -> bool:
        """The development identity provider runs (dev only, on unless switched off)."""
        return (not self.is_prod) if self.dev_idp_enabled is None else self.dev_idp_enabled

    @property
    def dev_idp_issuer(self) -> str:
        return f"{self.public_origin}/dev-idp"

    @property
    def binding_cookie_name(self) -> str:
        return "__Host-console_binding" if self.is_https else "console_binding"

    @property
    def oauth_callback_url(self) -> str:
        return f"{self.public_origin}{self.flet_web_app_path}/oauth_callback"

    @property
    def json_logs(self) -> bool:
        return self.is_prod if self.log_json is None else self.log_json

    def validate_for_startup(self) -> None:
        """Refuse production settings that would run insecurely."""
        if not self.is_prod:
            return
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < 32:
            problems.append(
                "CONSOLE_SECRET_KEY is the development default or shorter than 32 characters: "
                "set it to a random value, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`"
            )
        if self.is_sqlite:
            problems.append(
                "CONSOLE_DATABASE_URL points at SQLite: set it to PostgreSQL, e.g. "
                "postgresql+asyncpg://console:...@db:5432/console"
            )
        if not self.is_https:
            problems.append(
                "CONSOLE_PUBLIC_BASE_URL is not https: set it to the public https:// address "
                "users open (cookies are marked Secure there)"
            )
        if self.broker_url.startswith(("filesystem://", "memory://")):
            problems.append(
                "CONSOLE_BROKER_URL is an embedded broker: set it to redis://host:6379/0"
            )
        if self.dev_idp:
            problems.append(
                "CONSOLE_DEV_IDP_ENABLED: the development identity provider cannot run in "
                "production; unset it and configure CONSOLE_PLATFORM_OIDC_* instead"
            )
        if problems:
            raise ConfigurationError(
                "Refusing to start in production:\n  - " + "\n  - ".join(problems)
            )


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
