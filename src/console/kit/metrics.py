"""Prometheus metrics and the access log, labelled by route template, never by raw path."""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("console.access")

REQUESTS = Counter(
    "console_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "console_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _route_index(app: Any) -> tuple[dict[int, str], tuple[str, ...]]:
    """Full path templates of every route (FastAPI keeps included routers nested) and mounts."""
    index = getattr(app.state, "route_templates", None)
    if index is None:
        templates: dict[int, str] = {}
        mounts: list[str] = []
        for context in iter_route_contexts(app.routes):
            if isinstance(context.route, Mount):
                mounts.append(context.route.path)
            elif context.path:
                templates[id(context.original_route)] = context.path
        index = app.state.route_templates = (templates, tuple(mounts))
    return index


def route_template(scope: Scope, app: Any = None) -> str:
    """The matched route's full path template ("/api/v1/tenants/{tenant}/projects").

    `app` is the host app as the request entered it: a mounted sub-app (the dashboard) puts
    itself into scope["app"] on the way down."""
    app = app if app is not None else scope.get("app")
    if app is None or not hasattr(app, "state"):
        return "<unmatched>"
    templates, mounts = _route_index(app)
    route = scope.get("route")
    if route is not None and id(route) in templates:
        return templates[id(route)]
    path = scope["path"]
    for mount in mounts:
        if path == mount or path.startswith(mount + "/"):
            return mount
    return "<unmatched>"


class MetricsMiddleware:
    """Counts and times every HTTP request and writes one access-log line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host_app = scope.get("app")
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope, host_app)
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            if route not in ("/livez", "/readyz", "/metrics"):
                log.info(
                    "request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
