"""Liveness, readiness (database and broker reachable) and metrics endpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlparse

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from console.kit.metrics import metrics_endpoint

log = structlog.get_logger(__name__)
router = APIRouter(tags=["health"])
CHECK_TIMEOUT = 2.0


async def check_broker(url: str) -> None:
    """Raise if the Celery broker cannot be reached."""
    scheme = urlparse(url).scheme
    if scheme in ("redis", "rediss"):
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT)
        try:
            await client.ping()
        finally:
            await client.aclose()
    elif scheme == "filesystem":
        folder = Path(url.removeprefix("filesystem://"))
        if not await asyncio.to_thread(folder.is_dir):
            raise RuntimeError(f"broker folder {folder} is missing")
    elif scheme in ("amqp", "amqps", "pyamqp"):
        parsed = urlparse(url)
        _, writer = await asyncio.open_connection(parsed.hostname, parsed.port or 5672)
        writer.close()
    elif scheme != "memory":
        raise RuntimeError(f"unsupported broker scheme {scheme!r}")


@router.get("/livez", include_in_schema=False)
async def livez() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database and the broker answer (503 otherwise)."""
    checks: dict[str, str] = {}
    settings = request.app.state.settings

    async def run(name: str, check: object) -> None:
        try:
            await asyncio.wait_for(check, CHECK_TIMEOUT)  # type: ignore[arg-type]
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness_check_failed", check=name, error_type=type(exc).__name__)
            checks[name] = "unavailable"

    await asyncio.gather(
        run("database", request.app.state.db.ping()),
        run("broker", check_broker(settings.broker_url)),
    )
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


router.add_route("/metrics", metrics_endpoint, include_in_schema=False)
