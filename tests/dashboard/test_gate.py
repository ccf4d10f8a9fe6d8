"""The dashboard behind its gate, through the whole app: the websocket speaks Flet's protocol
with the browser's cookies on the handshake; foreign origins are refused; the HTML gets the
binding cookie and a Content-Security-Policy naming its inline scripts."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from flet_web.fastapi.flet_app_manager import app_manager
from flet_web.fastapi.oauth_state import OAuthState

from tests.conftest import ORIGIN, as_cookie
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import (
    WebSocketBrowser,
    evict_flet_sessions,
    flet_sessions,
    refused_with,
)
from tests.factories import Factory

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
async def evict_sessions_of_the_test() -> AsyncIterator[None]:
    """Close the Flet sessions a test's websockets left behind (on_close runs)."""
    before = set(flet_sessions())
    yield
    await evict_flet_sessions(set(flet_sessions()) - before)


async def test_a_signed_in_browser_gets_its_projects_over_the_websocket(
    app: FastAPI, factory: Factory
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="WEB", name="Website")
    await factory.project(tenant, key="API", name="Public API")

    async with WebSocketBrowser.connect(
        app, f"/t/{tenant.slug}/projects", cookies=cookies(app, member)
    ) as tab:
        await tab.wait_for(lambda: tab.find_all("DataTable") and tab.table(), what="projects")
        assert [row[0] for row in tab.table()] == ["API", "WEB"]
        assert tab.find("AppBar", text="Acme Widgets")
        assert tab.find_all("FilledButton", text="New project")

        # Input round trip over the wire: props update, submit event, push_route invoke.
        await tab.fill("Search projects", "web")
        await tab.submit("Search projects")
        await tab.wait_for(lambda: [r[0] for r in tab.table()] == ["WEB"], what="the search")
        assert tab.page["route"] == f"/t/{tenant.slug}/projects?q=web"
        assert tab.crashes == []


async def test_an_anonymous_browser_gets_the_tenants_sign_in(app: FastAPI, factory: Factory):
    tenant = await factory.tenant(name="Acme Widgets")

    async with WebSocketBrowser.connect(
        app, f"/t/{tenant.slug}/projects", cookies=cookies(app)
    ) as tab:
        await tab.wait_for_text("Sign in to Acme Widgets")
        assert not tab.find_all("DataTable")


async def test_refresh_reattaches_the_session_and_rechecks_the_cookie(
    app: FastAPI, factory: Factory, client: httpx.AsyncClient
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    jar = cookies(app, member)

    async with WebSocketBrowser.connect(app, f"/t/{tenant.slug}/projects", cookies=jar) as tab:
        await tab.wait_for(lambda: bool(tab.find_all("DataTable")), what="the projects view")
        session_id = tab.session_id

    # Signed out elsewhere (another tab's sign-out revokes the session row; cookie still sent).
    assert (await client.post("/api/v1/auth/sign-out", headers=as_cookie(member, app))).is_success

    async with WebSocketBrowser.connect(
        app, f"/t/{tenant.slug}/projects", cookies=jar, session_id=session_id
    ) as again:
        await again.wait_for_text("Sign in to Acme Widgets")
        assert again.session_id == session_id  # the same server session, not a new one
        assert "You were signed out." in again.snackbars()


async def test_a_closed_tab_is_torn_down_when_its_session_is_evicted(
    app: FastAPI, factory: Factory
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    async with WebSocketBrowser.connect(
        app, f"/t/{tenant.slug}/projects", cookies=cookies(app, member)
    ) as tab:
        await tab.wait_for(lambda: bool(tab.find_all("DataTable")), what="the projects view")
    [(key, session)] = [(k, s) for k, s in flet_sessions().items() if s.id == tab.session_id]
    state = session.page.data
    # Disconnected, and kept for a reconnect until its timeout.
    await tab.wait_for(lambda: session.connection is None, what="the disconnect")

    await evict_flet_sessions({key})

    assert session.page.data is None
    assert state.api._http.is_closed
    assert state.router.current is None


async def test_sign_out_reaches_another_websocket_tab_of_the_browser(
    app: FastAPI, factory: Factory
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    jar = cookies(app, member)
    route = f"/t/{tenant.slug}/projects"

    async with (
        WebSocketBrowser.connect(app, route, cookies=jar) as first,
        WebSocketBrowser.connect(app, route, cookies=jar) as second,
    ):
        for tab in (first, second):
            await tab.wait_for(lambda tab=tab: bool(tab.find_all("DataTable")))
        assert first.session_id != second.session_id

        await first.click("Sign out", "PopupMenuItem")

        await first.wait_for(lambda: "You are signed out." in first.snackbars())
        await second.wait_for(lambda: "You signed out in another tab." in second.snackbars())
        await second.wait_for_text("Sign in to Acme Widgets")


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://127.0.0.1:8000.evil.example", "null", None],
    ids=["foreign", "lookalike", "null", "missing"],
)
async def test_a_websocket_from_a_foreign_origin_is_refused(
    app: FastAPI, factory: Factory, origin: str | None
):
    member = await factory.actor(await factory.tenant(), "member")

    code = await refused_with(app, cookies=cookies(app, member), origin=origin)

    assert code == 1008


async def test_the_trusted_origin_is_accepted(app: FastAPI):
    assert await refused_with(app, cookies=cookies(app), origin=ORIGIN) is None


async def test_flets_oauth_state_cookie_cannot_attach_to_another_session(
    app: FastAPI, factory: Factory
):
    """Flet re-attaches whatever session a `flet_oauth_state` cookie names; the gate keeps all
    cookies away from Flet (they reach the dashboard only through HANDSHAKE)."""
    tenant = await factory.tenant(name="Acme Widgets")
    victim = await factory.actor(tenant, "admin")
    async with WebSocketBrowser.connect(
        app, f"/t/{tenant.slug}/projects", cookies=cookies(app, victim)
    ) as tab:
        await tab.wait_for(lambda: bool(tab.find_all("DataTable")), what="the victim's view")
        victim_session = tab.session_id
        [key] = [k for k, s in flet_sessions().items() if s.id == victim_session]
        app_manager.store_state(
            "stolen",
            OAuthState(session_id=key, expires_at=datetime.now(UTC) + timedelta(minutes=5)),
        )

        attacker_jar = {**cookies(app), "flet_oauth_state": "stolen"}
        async with WebSocketBrowser.connect(
            app, f"/t/{tenant.slug}/projects", cookies=attacker_jar
        ) as attacker:
            await attacker.wait_for_text("Sign in to Acme Widgets")
            assert attacker.session_id != victim_session
            assert not attacker.find_all("DataTable")

    app_manager.retrieve_state("stolen")


def inline_script_hashes(html: str) -> list[str]:
    scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S | re.I)
    return [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts]


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/t/acme/projects"])
async def test_the_dashboard_html_sets_the_binding_cookie_and_its_csp(
    client: httpx.AsyncClient, app: FastAPI, path: str
):
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    [set_cookie] = response.headers.get_list("set-cookie")
    name = app.state.settings.binding_cookie_name
    assert re.match(rf"^{name}=[A-Za-z0-9_-]{{32}}; ", set_cookie)
    attributes = set(set_cookie.split("; ")[1:])
    assert {"Path=/", "HttpOnly", "SameSite=Lax"} <= attributes
    assert "Secure" not in attributes  # plain http in tests; Secure on https

    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    hashes = inline_script_hashes(response.text)
    assert hashes, "Flet's index.html has inline scripts"
    script_src = csp["script-src"].split()
    assert script_src[:2] == ["'self'", "'wasm-unsafe-eval'"]
    assert sorted(script_src[2:]) == sorted(f"'sha256-{h}'" for h in hashes)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert csp["connect-src"] == "'self'"
    assert response.headers["cache-control"] == "no-store"


async def test_a_browser_that_has_the_binding_cookie_keeps_it(
    client: httpx.AsyncClient, app: FastAPI
):
    name = app.state.settings.binding_cookie_name
    response = await client.get("/dashboard/", headers={"Cookie": f"{name}=already-bound"})

    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "content-security-policy" in response.headers


async def test_assets_are_not_held_for_a_csp(client: httpx.AsyncClient):
    response = await client.get("/dashboard/flutter_bootstrap.js")

    assert response.status_code == 200
    assert "content-security-policy" not in response.headers
    assert response.headers.get("cache-control") != "no-store"
