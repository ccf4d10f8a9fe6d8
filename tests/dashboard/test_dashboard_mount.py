"""The dashboard is mounted at FLET_WEB_APP_PATH and serves Flet's web client without a CDN."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

pytestmark = pytest.mark.anyio


async def test_dashboard_index_is_served_offline(client: AsyncClient):
    redirect = await client.get("/dashboard")
    assert redirect.status_code in (301, 307)
    index = await client.get("/dashboard/")
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    html = index.text
    assert 'href="/dashboard/"' in html
    for cdn in ("gstatic.com", "unpkg.com", "jsdelivr"):
        assert cdn not in html
    assert index.headers["x-content-type-options"] == "nosniff"


async def test_dashboard_client_routes_fall_back_to_the_app(client: AsyncClient):
    deep = await client.get("/dashboard/t/demo/projects")
    assert deep.status_code == 200
    assert "text/html" in deep.headers["content-type"]


async def test_no_cdn_mode_and_the_bundled_renderer(client: AsyncClient):
    index = (await client.get("/dashboard/")).text
    assert "flet.noCdn=true" in index.replace(" ", "")
    assert 'flet.webSocketEndpoint="/dashboard/ws"' in index
    canvaskit = await client.get("/dashboard/canvaskit/canvaskit.wasm")
    assert canvaskit.status_code == 200
    assert canvaskit.content[:4] == b"\0asm"
