"""The dashboard's half of sign-in: the Sign in button starts a sign-in through the API and
opens the provider's page (page.login); when the callback has verified everything, the session
adopts the new session cookie and lands on the tenant (on_login → adopt_session).

The identity provider is outside: its authorization URL is stubbed; the callback's verified
result is handed over as the callback gate does (Handoff + Flet's authorize callback)."""

from __future__ import annotations

import secrets

import pytest
from fastapi import FastAPI

from console.dashboard.handoff import SignInResult
from console.identity.models import IdentityProvider
from console.identity.oidc.models import AuthorizationRequest
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio
IDP = "https://idp.example.test"


@pytest.fixture
def stub_idp(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The IdP's authorization endpoint: records the states handed out."""
    states: list[str] = []

    async def authorization_request(provider, redirect_uri: str) -> AuthorizationRequest:
        state = secrets.token_urlsafe(16)
        states.append(state)
        return AuthorizationRequest(
            url=f"{IDP}/authorize?state={state}", state=state, nonce="n", code_verifier="v"
        )

    monkeypatch.setattr(app.state.signin_deps.oidc, "authorization_request", authorization_request)
    return states


async def tenant_with_sign_in(factory: Factory, name: str):
    tenant = await factory.tenant(name=name)
    async with factory.db.system_session() as s:
        s.add(IdentityProvider(tenant_id=tenant.id, issuer=IDP, client_id="console"))
    return tenant


async def start_sign_in(app: FastAPI, tabs, slug: str) -> InProcessBrowser:
    tab = await tabs().open(f"/t/{slug}/projects", cookies(app))
    assert tab.has_text("You will continue at your organisation's sign-in page.")
    await tab.click("Sign in", "FilledButton")
    return tab


async def callback(tab: InProcessBrowser, state: str) -> None:
    """What Flet's oauth_callback handler does once our callback gate accepted the response."""
    await tab.in_session(
        tab.flet_page._authorize_callback(
            {"state": state, "code": "code", "error": None, "error_description": None}
        )
    )


async def test_sign_in_opens_the_providers_page(
    app: FastAPI, factory: Factory, tabs, stub_idp: list[str]
):
    tenant = await tenant_with_sign_in(factory, "Acme Widgets")

    tab = await start_sign_in(app, tabs, tenant.slug)

    [state] = stub_idp
    assert tab.opened_urls == [f"{IDP}/authorize?state={state}"]
    assert tab.connection.oauth_states == [{"state": state}]
    assert "Continue in the sign-in window." in tab.snackbars()
    button = tab.find("FilledButton", text="Sign in")
    assert not button.get("disabled")
    assert tab.crashes == []


async def test_a_completed_sign_in_adopts_the_session_and_lands_on_the_tenant(
    app: FastAPI, factory: Factory, tabs, stub_idp: list[str]
):
    tenant = await tenant_with_sign_in(factory, "Acme Widgets")
    await factory.project(tenant, key="WEB", name="Website")
    member = await factory.actor(tenant, "member")
    tab = await start_sign_in(app, tabs, tenant.slug)
    [state] = stub_idp

    app.state.handoff.put(
        state, SignInResult(member.cookie, str(member.id), tenant_slug=tenant.slug)
    )
    await callback(tab, state)

    assert f"Signed in as {member.user.email}." in tab.snackbars()
    assert tab.flet_page.route == f"/t/{tenant.slug}/home"
    # The tenant's numbers, read as the member: its one project.
    assert tab.texts(tab.find(key="tile-active"))[1:] == ["1", "Active project"]
    # ...and it now follows sign-outs of that browser session.
    other = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    await other.click("Sign out", "PopupMenuItem")
    await tab.wait_for(lambda: "You signed out in another tab." in tab.snackbars())


async def test_a_sign_in_without_a_verified_result_does_not_sign_in(
    app: FastAPI, factory: Factory, tabs, stub_idp: list[str]
):
    tenant = await tenant_with_sign_in(factory, "Acme Widgets")
    tab = await start_sign_in(app, tabs, tenant.slug)
    [state] = stub_idp

    await callback(tab, state)  # the callback gate rejected it: nothing was handed over

    assert "Sign-in did not complete; please try again." in tab.snackbars()
    assert tab.has_text("Sign in to Acme Widgets")
    assert tab.flet_page.data.user is None


async def test_a_handed_over_cookie_the_api_rejects_does_not_sign_in(
    app: FastAPI, factory: Factory, tabs, stub_idp: list[str]
):
    tenant = await tenant_with_sign_in(factory, "Acme Widgets")
    tab = await start_sign_in(app, tabs, tenant.slug)
    [state] = stub_idp

    app.state.handoff.put(state, SignInResult("revoked-cookie", "x", tenant_slug=tenant.slug))
    await callback(tab, state)

    assert "Sign-in did not complete; please try again." in tab.snackbars()
    assert tab.flet_page.data.user is None


async def test_a_tenant_without_sign_in_offers_no_button(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")

    tab = await tabs().open(f"/t/{tenant.slug}/sign-in", cookies(app))

    assert tab.has_text("Sign-in is not configured for this tenant yet.")
    assert not tab.find_all("FilledButton", text="Sign in")


async def test_the_tenant_picker_checks_the_slug(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    tab = await tabs().open("/sign-in", cookies(app))

    await tab.fill("Tenant", "Not a slug!")
    await tab.click("Continue")
    assert tab.find("TextField", label="Tenant")["error"].startswith("Use the tenant's short name")

    await tab.fill("Tenant", tenant.slug.upper())
    await tab.submit("Tenant")
    assert tab.flet_page.route == f"/t/{tenant.slug}/sign-in"
    assert tab.has_text("Sign in to Acme Widgets")

    await tab.click("Platform operator? Sign in here")
    assert tab.flet_page.route == "/operator/sign-in"
    assert tab.has_text("Platform operators")
