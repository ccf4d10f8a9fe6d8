"""Health, readiness, metrics by route template, security headers, request ids, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from console.app import create_app
from tests.conftest import ORIGIN, as_token, make_settings
from tests.factories import Factory

pytestmark = pytest.mark.anyio


@pytest.fixture
async def other_app(test_database, tmp_path) -> AsyncIterator[FastAPI]:
    """The app with settings of the test's choosing (set via request.param-free helper)."""
    apps: list[FastAPI] = []

    async def build(**overrides: object) -> FastAPI:
        application = create_app(make_settings(test_database, tmp_path, **overrides))
        apps.append(application)
        return application

    yield build  # type: ignore[misc]
    for application in apps:
        await application.state.db.dispose()


async def test_livez_and_readyz(client: httpx.AsyncClient):
    assert (await client.get("/livez")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_readyz_is_503_when_the_broker_is_unreachable(other_app):
    app = await other_app(broker_url="redis://127.0.0.1:1/0")
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c,
    ):
        ready = await c.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "broker": "unavailable"}


async def test_metrics_are_labelled_by_route_template(client: httpx.AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await client.get(f"/api/v1/tenants/{tenant.slug}/projects", headers=as_token(viewer))
    await client.get("/no/such/path")
    await client.get("/dashboard/t/some-tenant/projects")
    text = (await client.get("/metrics")).text
    assert 'route="/dashboard",status="200"' in text
    assert "some-tenant" not in text
    assert 'route="/api/v1/tenants/{tenant}/projects"' in text
    assert tenant.slug not in text
    assert 'route="<unmatched>",status="404"' in text


async def test_api_responses_carry_security_headers_and_a_request_id(client: httpx.AsyncClient):
    response = await client.get("/api/v1/me")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers
    assert len(response.headers["x-request-id"]) == 32
    assert "access-control-allow-origin" not in response.headers


async def test_https_adds_hsts_and_trusted_request_ids_are_kept(other_app):
    app = await other_app(public_base_url="https://console.example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        response = await c.get("/livez", headers={"X-Request-ID": "abc-123-def-456"})
        hostile = await c.get("/livez", headers={"X-Request-ID": "<script>"})
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-request-id"] == "abc-123-def-456"
    assert hostile.headers["x-request-id"] != "<script>"


async def test_cors_is_closed_by_default_and_opens_only_to_listed_origins(other_app):
    app = await other_app(cors_allowed_origins=["https://admin.example"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        allowed = await c.options(
            "/api/v1/me",
            headers={"Origin": "https://admin.example", "Access-Control-Request-Method": "GET"},
        )
        refused = await c.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert allowed.headers["access-control-allow-origin"] == "https://admin.example"
    assert "access-control-allow-origin" not in refused.headers


async def test_unexpected_errors_are_500_problems_without_tracebacks(other_app):
    app = await other_app()

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=ORIGIN
    ) as c:
        response = await c.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_api_docs_are_served_without_a_cdn_under_a_strict_csp(client: httpx.AsyncClient):
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "/api/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "cdn.jsdelivr" not in docs.text
    csp = docs.headers["content-security-policy"]
    assert "'sha256-" in csp
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-eval" not in csp
    bundle = await client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
