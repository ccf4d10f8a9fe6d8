"""create_app(settings): the FastAPI app with its lifespan, middleware, routers and dashboard."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import flet.fastapi as flet_fastapi
import httpx
import structlog
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from console import __version__
from console.audit.router import router as audit_router
from console.dashboard.app import create_dashboard
from console.dashboard.callback import oauth_callback
from console.dashboard.handoff import Handoff
from console.db import Database
from console.identity.auth_router import router as auth_router
from console.identity.dev_signin import create_dev_idp_app
from console.identity.oidc import OIDCClient
from console.identity.router import router as identity_router
from console.identity.service import TokenCache
from console.identity.signin import SignInDeps
from console.jobs.dispatch import CeleryDispatcher, JobDispatcher
from console.jobs.feed import JobFeed
from console.jobs.router import router as jobs_router
from console.jobs.router import uploads_router
from console.kit import health
from console.kit.crypto import SecretBox
from console.kit.docs import install_docs
from console.kit.errors import (
    UnhandledErrorMiddleware,
    install_error_handlers,
    problem_responses,
)
from console.kit.logging import configure_logging
from console.kit.metrics import MetricsMiddleware
from console.kit.ratelimit import ConsoleLimits, NoLimits, RateLimiter
from console.kit.requestctx import RequestContextMiddleware
from console.kit.security import SecurityHeadersMiddleware
from console.overview.router import router as overview_router
from console.platform.router import router as platform_router
from console.projects.router import router as projects_router
from console.settings import Settings, get_settings
from console.tenancy.router import router as tenancy_router

log = structlog.get_logger(__name__)
GC_YOUNG_THRESHOLD = 10_000


async def check_database_role(db: Database, settings: Settings) -> None:
    """On PostgreSQL the app must not connect as a role that bypasses row-level security."""
    if db.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
    if row.rolsuper or row.rolbypassrls:
        message = (
            "The database role bypasses row-level security (superuser or BYPASSRLS): connect "
            "the app as an ordinary role and run `console migrate` with "
            "CONSOLE_MIGRATIONS_DATABASE_URL set to the owner."
        )
        if settings.is_prod:
            raise RuntimeError(message)
        log.warning("database_role_bypasses_rls", hint=message)


def tune_gc() -> Callable[[], None]:
    """Keep Python's cyclic GC off the request path; returns how to undo it.

    Under load a request's short-lived objects pushed the youngest generation past its default
    threshold (700) about every third request, and each full collection re-scanned the ~150k
    objects that live as long as the process (modules, routes, schemas, mappers, Flet): a third
    of a request's CPU and ~90 ms pauses (bench/README.md). So: freeze what exists after startup,
    and collect the young generation every 10,000 net allocations instead.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])

    def restore() -> None:
        gc.set_threshold(*thresholds)
        gc.unfreeze()

    return restore


def create_app(
    settings: Settings | None = None,
    *,
    oidc_transport: httpx.AsyncBaseTransport | None = None,
    job_dispatcher: JobDispatcher | None = None,
) -> FastAPI:
    """The app; `oidc_transport` replaces the network for requests to identity providers
    (tests serve providers, and the app's own dev provider, in-process); `job_dispatcher`
    replaces Celery for sending jobs' doorbells."""
    settings = settings or get_settings()
    settings.validate_for_startup()
    configure_logging(settings.log_level, settings.json_logs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await check_database_role(app.state.db, settings)
        await anyio.Path(settings.files_dir).mkdir(parents=True, exist_ok=True)
        # Mounted Flet apps get no lifespan of their own: without this, closed sessions and
        # expired OAuth states are never evicted.
        await flet_fastapi.app_manager.start()
        log.info("console_started", version=__version__, environment=settings.environment.value)
        restore_gc = tune_gc()
        try:
            yield
        finally:
            restore_gc()
            await flet_fastapi.app_manager.shutdown()
            await app.state.job_feed.aclose()
            close_dispatcher = getattr(app.state.job_dispatcher, "aclose", None)
            if close_dispatcher is not None:
                await close_dispatcher()
            await app.state.limits.aclose()
            await app.state.oidc_http.aclose()
            await app.state.db.dispose()

    app = FastAPI(
        title="Console API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served by kit.docs, without a CDN
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        responses=problem_responses(400, 401, 403, 404, 409, 422, 428, 500),
    )
    if settings.broker_url.startswith("filesystem://"):
        Path(settings.broker_url.removeprefix("filesystem://")).mkdir(parents=True, exist_ok=True)
    app.state.settings = settings
    app.state.db = Database(settings.database_url, pool_size=settings.database_pool_size)
    app.state.token_cache = TokenCache(settings.token_cache_seconds)
    secret = settings.secret_key.get_secret_value()
    app.state.limits = (
        ConsoleLimits(RateLimiter.from_url(settings.rate_limit_redis_url, key_secret=secret))
        if settings.rate_limit_enabled
        else NoLimits()
    )
    app.state.oidc_http = httpx.AsyncClient(
        timeout=httpx.Timeout(10.0), follow_redirects=False, transport=oidc_transport
    )
    app.state.signin_deps = SignInDeps(
        settings=settings, oidc=OIDCClient(app.state.oidc_http), box=SecretBox(secret)
    )
    app.state.handoff = Handoff()
    app.state.job_dispatcher = job_dispatcher or CeleryDispatcher(settings)
    app.state.job_feed = JobFeed(app.state.db, settings.job_feed_interval_seconds)
    install_error_handlers(app)

    api = APIRouter(prefix="/api/v1")
    for router in (
        identity_router,
        auth_router,
        tenancy_router,
        projects_router,
        overview_router,
        jobs_router,
        uploads_router,
        audit_router,
        platform_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health.router)
    install_docs(app, app.openapi_url or "/api/v1/openapi.json")
    # Registered before the mount, so it shadows Flet's own unchecked callback handler.
    app.add_api_route(
        f"{settings.flet_web_app_path}/oauth_callback", oauth_callback, include_in_schema=False
    )
    if settings.dev_idp:
        app.mount("/dev-idp", create_dev_idp_app(settings, app.state.db))
    app.mount(settings.flet_web_app_path, create_dashboard(settings, app, app.state.handoff))

    # Outermost last: request id → metrics/access log → security headers → CORS → gzip → errors.
    app.add_middleware(UnhandledErrorMiddleware)
    # Level 6 (zlib's default), not Starlette's 9: the same size for JSON pages at half the CPU
    # (a 17 KB page of 50 projects: 3.1 KB either way, 117 vs 214 us).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    if settings.cors_allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "X-Request-ID", "X-Total-Count"],
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_https)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
