"""Signing in end to end, in-process: the API starts a sign-in bound to the browser, the identity
provider's form is filled in, its redirect reaches the callback gate, and the console's session
cookie comes back. Every way the callback can be misused is a 400 that creates nothing; who may
join or be linked follows the tenant's rules.

The Flet session that would normally start the sign-in is absent here, so a good callback answers
"Signed in … reload" (200)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from starlette.applications import Starlette
from starlette.routing import Mount

from console.audit.models import AuditEvent
from console.db import utcnow
from console.identity.devidp import DevClient, create_dev_idp
from console.identity.models import Identity, PendingSignIn, User, UserSession
from console.identity.providers import DEV_CLIENT_ID, dev_client_secret
from console.kit.crypto import hash_token
from console.tenancy.models import Invitation, Membership, Tenant
from tests.conftest import ORIGIN, as_cookie, as_token
from tests.factories import Factory, unique
from tests.identity.browser import Browser, browser_client, query_of
from tests.network import InProcessNetwork

pytestmark = pytest.mark.anyio

ME = "/api/v1/me"
SESSIONS = "/api/v1/auth/sessions"
# Another site (localhost, not 127.0.0.1), like a real tenant's identity provider.
OTHER_IDP_ORIGIN = "http://localhost:9100"
OTHER_ISSUER = f"{OTHER_IDP_ORIGIN}/idp"


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def dev_idp(app: FastAPI) -> Provider:
    """The app's own development provider (at /dev-idp), as a tenant would configure it."""
    settings = app.state.settings
    return Provider(settings.dev_idp_issuer, DEV_CLIENT_ID, dev_client_secret(settings))


@pytest.fixture(scope="module")
def other_idp(app: FastAPI, network: InProcessNetwork) -> Iterator[Provider]:
    """A second provider, as another organisation would run it: it vouches for whatever email
    its user types, so it also plays the malicious provider of a hostile tenant admin."""
    client = DevClient("tenant-app", "tenant-secret", (app.state.settings.oauth_callback_url,))
    idp = create_dev_idp(issuer=OTHER_ISSUER, clients=[client])
    network.serve(OTHER_IDP_ORIGIN, Starlette(routes=[Mount("/idp", app=idp)]))
    yield Provider(OTHER_ISSUER, client.client_id, client.client_secret)
    network.forget(OTHER_IDP_ORIGIN)


NewBrowser = Callable[[], Awaitable[Browser]]


@pytest.fixture
async def new_browser(app: FastAPI, network: InProcessNetwork) -> AsyncIterator[NewBrowser]:
    """Browsers with their own cookie jars, each having opened the dashboard once."""
    clients: list[httpx.AsyncClient] = []

    async def open_one() -> Browser:
        clients.append(browser_client(network))
        browser = Browser(app, clients[-1])
        await browser.open_dashboard()
        return browser

    yield open_one
    for client in clients:
        await client.aclose()


@pytest.fixture
async def browser(new_browser: NewBrowser) -> Browser:
    return await new_browser()


async def use_provider(
    client: httpx.AsyncClient,
    factory: Factory,
    tenant: Tenant,
    provider: Provider,
    **settings: object,
) -> None:
    """Configure the tenant's identity provider through the API, as one of its admins."""
    admin = await factory.actor(tenant, "admin")
    body = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        **settings,
    }
    response = await client.put(
        f"/api/v1/tenants/{tenant.slug}/identity-provider", json=body, headers=as_token(admin)
    )
    assert response.status_code == 200, response.text


async def tenant_with(
    client: httpx.AsyncClient, factory: Factory, provider: Provider, **settings: object
) -> Tenant:
    tenant = await factory.tenant()
    await use_provider(client, factory, tenant, provider, **settings)
    return tenant


def new_email(domain: str = "example.com") -> str:
    return f"{unique('person')}@{domain}"


def session_cookie_header(response: httpx.Response, name: str) -> str:
    found = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def assert_refused(response: httpx.Response, *phrases: str) -> None:
    """The callback's failure page: 400 HTML, naming what went wrong, setting no session."""
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "Sign-in failed" in response.text
    for phrase in phrases:
        assert phrase in response.text
    assert not any("console_session" in h for h in response.headers.get_list("set-cookie"))


def with_query(url: str, **changes: str | None) -> str:
    """`url` with query parameters replaced (None removes one)."""
    parts = urlsplit(url)
    query = {**query_of(url), **changes}
    kept = urlencode({k: v for k, v in query.items() if v is not None})
    return urlunsplit(parts._replace(query=kept))


async def user_by_email(factory: Factory, email: str) -> User | None:
    async with factory.db.system_session() as s:
        return await s.scalar(select(User).where(User.email == email))


async def live_sessions(factory: Factory, user_id: uuid.UUID) -> int:
    async with factory.db.system_session() as s:
        return await s.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        )


async def identities(factory: Factory, user_id: uuid.UUID) -> set[str]:
    """The issuers a user is linked to."""
    async with factory.db.system_session() as s:
        return set(await s.scalars(select(Identity.issuer).where(Identity.user_id == user_id)))


async def role_in(factory: Factory, tenant: Tenant, user_id: uuid.UUID) -> str | None:
    async with factory.db.system_session() as s:
        return await s.scalar(
            select(Membership.role).where(
                Membership.tenant_id == tenant.id, Membership.user_id == user_id
            )
        )


async def events(factory: Factory, tenant: Tenant, action: str) -> list[AuditEvent]:
    async with factory.db.system_session() as s:
        return list(
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant.id, AuditEvent.action == action
                )
            )
        )


# --- the good flow ------------------------------------------------------------------------------


async def test_a_member_signs_in_and_gets_a_session_cookie(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "member")

    started = await browser.start(tenant.slug)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["expires_in"] == app.state.settings.signin_timeout_seconds
    url = body["authorization_url"]
    assert url.startswith(f"{dev_idp.issuer}/authorize?")
    sent = query_of(url)
    assert sent["state"] == body["state"]
    assert sent["code_challenge_method"] == "S256"
    assert sent["redirect_uri"] == app.state.settings.oauth_callback_url
    assert {"nonce", "code_challenge"} <= sent.keys()

    location = await browser.approve(url, member.email, "Mia Member")
    returned = query_of(location)
    assert returned["state"] == body["state"]
    assert returned["iss"] == dev_idp.issuer
    done = await browser.callback(location)

    assert done.status_code == 200, done.text
    assert "Signed in" in done.text
    assert "reload" in done.text
    name = app.state.settings.session_cookie_name
    cookie = session_cookie_header(done, name).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # http://127.0.0.1 in tests; production is https

    me = await browser.http.get(ME)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(member.id)
    assert me.json()["authenticated_via"] == "session"
    assert await identities(factory, member.id) == {dev_idp.issuer}
    [signed_in] = await events(factory, tenant, "user.signed_in")
    assert signed_in.target_id == str(member.id)
    assert signed_in.actor_label == member.email


async def test_the_binding_cookie_comes_from_the_dashboard(app: FastAPI, new_browser: NewBrowser):
    settings = app.state.settings
    browser = await new_browser()
    browser.http.cookies.clear()
    first = await browser.http.get("/dashboard/")
    header = session_cookie_header(first, settings.binding_cookie_name).lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "path=/" in header
    # A browser that already has one keeps it.
    again = await browser.http.get("/dashboard/")
    assert not any(
        h.startswith(settings.binding_cookie_name) for h in again.headers.get_list("set-cookie")
    )


# --- the callback gate --------------------------------------------------------------------------


async def test_a_state_is_used_once(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "viewer")
    location = await browser.approve(await browser.authorization_url(tenant.slug), member.email)
    assert (await browser.callback(location)).status_code == 200
    assert await live_sessions(factory, member.id) == 1

    replayed = await browser.callback(location)
    assert_refused(replayed, "expired or was already used")
    assert await live_sessions(factory, member.id) == 1


async def test_an_unknown_or_missing_state_is_refused(browser: Browser, dev_idp: Provider):
    base = f"{ORIGIN}/dashboard/oauth_callback"
    unknown = f"{base}?{urlencode({'state': 'x' * 43, 'code': 'c', 'iss': dev_idp.issuer})}"
    assert_refused(await browser.callback(unknown), "expired or was already used")
    assert_refused(await browser.http.get(f"{base}?code=c"), "missing its state")
    assert_refused(await browser.http.get(f"{base}?state={'s' * 300}&code=c"))


async def test_a_callback_in_another_browser_is_refused_and_signs_nobody_in(
    client: httpx.AsyncClient, factory: Factory, new_browser: NewBrowser, dev_idp: Provider
):
    """The swap: an attacker starts a sign-in and gets the victim to complete it (or to land on
    the callback with the attacker's own code). The victim's browser is not the one that started
    it, so nobody is signed in: neither the victim nor the attacker."""
    tenant = await tenant_with(client, factory, dev_idp)
    victim_user = await factory.member(tenant, "admin")
    attacker_user = await factory.member(tenant, "viewer")
    attacker, victim = await new_browser(), await new_browser()

    # 1. The victim signs in at the provider through the attacker's authorization URL.
    url = await attacker.authorization_url(tenant.slug)
    location = await victim.approve(url, victim_user.email)
    assert_refused(await victim.callback(location), "started in another browser")
    assert victim.session is None
    assert await live_sessions(factory, victim_user.id) == 0
    # The gate refused before any code exchange: the attacker gets nothing either.
    assert attacker.session is None

    # 2. The attacker's own completed sign-in, opened in the victim's browser.
    url = await attacker.authorization_url(tenant.slug)
    location = await attacker.approve(url, attacker_user.email)
    assert_refused(await victim.callback(location), "started in another browser")
    assert victim.session is None
    assert await live_sessions(factory, attacker_user.id) == 0

    # 3. A browser without any binding cookie.
    stranger = await new_browser()
    stranger.http.cookies.delete(stranger.app.state.settings.binding_cookie_name)
    assert_refused(await stranger.callback(location), "started in another browser")
    assert await live_sessions(factory, attacker_user.id) == 0


async def test_an_expired_sign_in_is_refused(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "viewer")
    url = await browser.authorization_url(tenant.slug)
    location = await browser.approve(url, member.email)
    async with factory.db.system_session() as s:
        expired = await s.execute(
            update(PendingSignIn)
            .where(PendingSignIn.state_hash == hash_token(query_of(url)["state"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert expired.rowcount == 1
    assert_refused(await browser.callback(location), "expired")
    assert await live_sessions(factory, member.id) == 0


@pytest.mark.parametrize(
    ("iss", "phrase"),
    [
        ("http://127.0.0.1:8000/evil-idp", "different identity provider"),
        (OTHER_ISSUER, "different identity provider"),
        # The dev provider advertises RFC 9207, so the parameter may not be dropped either.
        (None, "did not say which identity provider"),
    ],
)
async def test_an_iss_parameter_of_another_issuer_is_refused(
    client: httpx.AsyncClient,
    factory: Factory,
    browser: Browser,
    dev_idp: Provider,
    iss: str | None,
    phrase: str,
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "viewer")
    location = await browser.approve(await browser.authorization_url(tenant.slug), member.email)
    assert_refused(await browser.callback(with_query(location, iss=iss)), phrase)
    assert await live_sessions(factory, member.id) == 0
    # The state was spent on the refused attempt: the genuine answer cannot be replayed after.
    assert_refused(await browser.callback(location), "already used")


async def test_a_provider_error_is_shown_and_nothing_is_created(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    url = await browser.authorization_url(tenant.slug)
    cancelled = await browser.at_provider(url, "cancel")
    location = cancelled.headers["location"]
    assert query_of(location)["error"] == "access_denied"
    page = await browser.callback(location)
    assert_refused(page, "The identity provider said:")
    assert "denied" in page.text
    assert "You can close this window." in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_the_failure_page_escapes_what_the_provider_said(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    url = await browser.authorization_url(tenant.slug)
    location = with_query(
        f"{ORIGIN}/dashboard/oauth_callback",
        state=query_of(url)["state"],
        error="access_denied",
        error_description="<script>alert(1)</script>",
    )
    page = await browser.callback(location)
    assert_refused(page, "&lt;script&gt;")
    assert "<script>" not in page.text


# --- who may come in ----------------------------------------------------------------------------


async def test_an_invitation_is_accepted_on_first_sign_in(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    email = new_email()
    invitation = await factory.invitation(tenant, email=email, role="member")

    done = await browser.sign_in(tenant.slug, email.upper(), "Ivy Invited")
    assert done.status_code == 200, done.text

    user = await user_by_email(factory, email)
    assert user is not None
    assert user.name == "Ivy Invited"
    assert await role_in(factory, tenant, user.id) == "member"
    async with factory.db.system_session() as s:
        accepted = await s.get(Invitation, invitation.id)
        assert accepted is not None
        assert accepted.accepted_at is not None
        assert accepted.accepted_by_id == user.id
    [event] = await events(factory, tenant, "invitation.accepted")
    assert event.target_id == str(user.id)
    assert event.data == {"role": "member"}
    assert (await browser.http.get(ME)).json()["email"] == email


async def test_an_uninvited_person_is_refused_and_nothing_is_created(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)  # join_policy invite_only (default)
    email = new_email()
    done = await browser.sign_in(tenant.slug, email)
    assert_refused(done, f"{email} is not a member of {tenant.name}", "ask one of its admins")
    assert await user_by_email(factory, email) is None
    assert (await browser.http.get(ME)).status_code == 401


async def test_an_open_tenant_admits_viewers_from_its_allowed_domains_only(
    client: httpx.AsyncClient, factory: Factory, new_browser: NewBrowser, dev_idp: Provider
):
    tenant = await tenant_with(
        client,
        factory,
        dev_idp,
        join_policy="open",
        allowed_email_domains=["Allowed.Example", "second.example"],
    )
    allowed = new_email("allowed.example")
    done = await (await new_browser()).sign_in(tenant.slug, allowed)
    assert done.status_code == 200, done.text
    user = await user_by_email(factory, allowed)
    assert user is not None
    assert await role_in(factory, tenant, user.id) == "viewer"
    [joined] = await events(factory, tenant, "member.joined")
    assert joined.data == {"role": "viewer"}

    for outsider in (new_email("other.example"), new_email("sub.allowed.example")):
        refused = await (await new_browser()).sign_in(tenant.slug, outsider)
        assert_refused(refused, "is not a member")
        assert await user_by_email(factory, outsider) is None


async def test_a_suspended_tenant_cannot_be_signed_in_to(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "admin")
    url = await browser.authorization_url(tenant.slug)  # started while still active
    operator = await factory.actor(None, None, operator=True)
    suspended = await client.post(
        f"/api/v1/platform/tenants/{tenant.id}/suspend",
        json={"reason": "unpaid"},
        headers=as_cookie(operator, app),
    )
    assert suspended.status_code == 200, suspended.text

    refused = await browser.start(tenant.slug)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "suspended" in refused.json()["detail"]

    assert_refused(await browser.callback(await browser.approve(url, member.email)), "suspended")
    assert await live_sessions(factory, member.id) == 0


async def test_a_tenant_without_a_provider_or_an_unknown_tenant_cannot_be_signed_in_to(
    factory: Factory, browser: Browser
):
    tenant = await factory.tenant()
    missing = await browser.start(tenant.slug)
    assert missing.status_code == 400
    assert "no sign-in configured" in missing.json()["detail"]
    unknown = await browser.start("no-such-tenant")
    assert unknown.status_code == 400
    assert "No tenant" in unknown.json()["detail"]


async def test_platform_sign_in_admits_operators_only(
    factory: Factory, new_browser: NewBrowser, dev_idp: Provider
):
    operator = await factory.user(operator=True)
    browser = await new_browser()
    url = await browser.authorization_url(None)
    assert url.startswith(f"{dev_idp.issuer}/authorize?")
    done = await browser.callback(await browser.approve(url, operator.email))
    assert done.status_code == 200, done.text
    me = (await browser.http.get(ME)).json()
    assert (me["id"], me["is_operator"]) == (str(operator.id), True)

    tenant = await factory.tenant()
    member = await factory.member(tenant, "admin")
    refused = await (await new_browser()).sign_in(None, member.email)
    assert_refused(refused, "is not a platform operator")
    assert await live_sessions(factory, member.id) == 0
    assert await identities(factory, member.id) == set()

    stranger = new_email()
    assert_refused(await (await new_browser()).sign_in(None, stranger), "not a platform operator")
    assert await user_by_email(factory, stranger) is None


# --- account linking ----------------------------------------------------------------------------


async def set_provider(
    client: httpx.AsyncClient, factory: Factory, tenant: Tenant, issuer: str
) -> None:
    """Give a tenant a provider of its own (its admin's API call)."""
    admin = await factory.actor(tenant, "admin")
    response = await client.put(
        f"/api/v1/tenants/{tenant.slug}/identity-provider",
        json={"issuer": issuer, "client_id": "home"},
        headers={"Authorization": f"Bearer {admin.api_token}"},
    )
    assert response.status_code == 200, response.text


async def opens(app: FastAPI, client: httpx.AsyncClient, cookie: str, slug: str) -> int:
    name = app.state.settings.session_cookie_name
    response = await client.get(
        f"/api/v1/tenants/{slug}/projects", headers={"Cookie": f"{name}={cookie}", "Origin": ORIGIN}
    )
    return response.status_code


async def tenants_listed(app: FastAPI, client: httpx.AsyncClient, cookie: str) -> set[str]:
    name = app.state.settings.session_cookie_name
    listed = await client.get("/api/v1/tenants", headers={"Cookie": f"{name}={cookie}"})
    return {t["slug"] for t in listed.json()}


async def test_a_hostile_tenants_provider_opens_nothing_beyond_its_tenant(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    browser: Browser,
    other_idp: Provider,
):
    """A hostile tenant admin runs their own provider, which asserts any email. It can sign a
    member of another tenant in (after inviting them), but that session opens only the hostile
    tenant: the victim's home tenant trusts another provider and is not even listed."""
    victim_home = await factory.tenant()
    await set_provider(client, factory, victim_home, "https://login.victim-home.example")
    victim = await factory.member(victim_home, "admin")
    hostile = await tenant_with(client, factory, other_idp)
    await factory.invitation(hostile, email=victim.email, role="viewer")

    done = await browser.sign_in(hostile.slug, victim.email)
    assert done.status_code == 200, done.text
    cookie = browser.session
    assert cookie
    assert await opens(app, client, cookie, hostile.slug) == 200
    refused = await opens(app, client, cookie, victim_home.slug)
    assert refused == 403
    assert await tenants_listed(app, client, cookie) == {hostile.slug}


async def test_a_tenants_provider_cannot_sign_in_an_operator(
    client: httpx.AsyncClient, factory: Factory, browser: Browser, other_idp: Provider
):
    operator = await factory.user(operator=True)
    hostile = await tenant_with(client, factory, other_idp)
    await factory.member(hostile, "admin", user=operator)  # even one who is a member here

    done = await browser.sign_in(hostile.slug, operator.email)
    assert_refused(done, "platform operator")
    assert await identities(factory, operator.id) == set()
    assert await live_sessions(factory, operator.id) == 0


async def test_a_first_admin_who_never_signed_in_is_linked_by_email(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    new_browser: NewBrowser,
    other_idp: Provider,
):
    operator = await factory.actor(None, None, operator=True)
    email = new_email("new-org.example")
    created = await client.post(
        "/api/v1/platform/tenants",
        json={"slug": unique("org"), "name": "New Org", "admin_email": email},
        headers=as_cookie(operator, app),
    )
    assert created.status_code == 201, created.text
    tenant = await factory_tenant(factory, created.json()["id"])
    await use_provider(client, factory, tenant, other_idp)
    first_admin = await user_by_email(factory, email)
    assert first_admin is not None

    browser = await new_browser()
    done = await browser.sign_in(tenant.slug, email, "First Admin")
    assert done.status_code == 200, done.text
    assert (await browser.http.get(ME)).json()["id"] == str(first_admin.id)
    assert await identities(factory, first_admin.id) == {other_idp.issuer}
    assert await role_in(factory, tenant, first_admin.id) == "admin"

    # Later sign-ins go through the link, by subject.
    again = await (await new_browser()).sign_in(tenant.slug, email)
    assert again.status_code == 200, again.text


async def factory_tenant(factory: Factory, tenant_id: str) -> Tenant:
    async with factory.db.system_session() as s:
        tenant = await s.get(Tenant, uuid.UUID(tenant_id))
        assert tenant is not None
        return tenant


# --- starting a sign-in -------------------------------------------------------------------------


async def test_starting_needs_the_binding_cookie_and_the_consoles_origin(
    factory: Factory, browser: Browser, dev_idp: Provider
):
    browser.http.cookies.delete(browser.app.state.settings.binding_cookie_name)
    unbound = await browser.start(None)
    assert unbound.status_code == 400
    assert unbound.headers["content-type"] == "application/problem+json"
    assert "binding" in unbound.json()["detail"]

    await browser.open_dashboard()
    for origin in ("https://evil.example", "null", None):
        foreign = await browser.start(None, origin=origin)
        assert foreign.status_code == 403, (origin, foreign.text)
        assert foreign.headers["content-type"] == "application/problem+json"
    assert (await browser.start(None)).status_code == 200


# --- signing out and my sessions ----------------------------------------------------------------


async def test_signing_out_revokes_the_session_and_clears_the_cookie(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, browser: Browser, dev_idp: Provider
):
    tenant = await tenant_with(client, factory, dev_idp)
    member = await factory.member(tenant, "viewer")
    assert (await browser.sign_in(tenant.slug, member.email)).status_code == 200
    cookie = browser.session
    assert cookie is not None
    assert await live_sessions(factory, member.id) == 1

    out = await browser.http.post("/api/v1/auth/sign-out", headers={"Origin": ORIGIN})
    assert out.status_code == 204, out.text
    cleared = session_cookie_header(out, app.state.settings.session_cookie_name).lower()
    assert "max-age=0" in cleared
    assert "path=/" in cleared
    assert await live_sessions(factory, member.id) == 0
    assert browser.session is None
    # The old cookie value is dead, not just forgotten by this browser.
    name = app.state.settings.session_cookie_name
    me = await client.get(ME, headers={"Cookie": f"{name}={cookie}", "Origin": ORIGIN})
    assert me.status_code == 401


async def test_my_sessions_are_listed_and_revocable_but_not_someone_elses(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant = await factory.tenant()
    me = await factory.actor(tenant, "viewer")
    other_cookie = await factory.cookie(me.user)  # another browser of mine
    someone = await factory.actor(tenant, "viewer")

    listed = await client.get(SESSIONS, headers=as_cookie(me, app))
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 2
    [current] = [s for s in sessions if s["current"]]
    [other] = [s for s in sessions if not s["current"]]
    assert other["id"] != current["id"]
    via_token = (await client.get(SESSIONS, headers=as_token(me))).json()
    assert {s["id"] for s in via_token} == {current["id"], other["id"]}
    assert not any(s["current"] for s in via_token)

    theirs = (await client.get(SESSIONS, headers=as_cookie(someone, app))).json()
    [their_session] = theirs
    refused = await client.delete(f"{SESSIONS}/{their_session['id']}", headers=as_cookie(me, app))
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert await live_sessions(factory, someone.id) == 1
    missing = await client.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=as_cookie(me, app))
    assert missing.status_code == 404

    revoked = await client.delete(f"{SESSIONS}/{other['id']}", headers=as_cookie(me, app))
    assert revoked.status_code == 204
    name = app.state.settings.session_cookie_name
    gone = await client.get(ME, headers={"Cookie": f"{name}={other_cookie}", "Origin": ORIGIN})
    assert gone.status_code == 401
    left = (await client.get(SESSIONS, headers=as_cookie(me, app))).json()
    assert [s["id"] for s in left] == [current["id"]]


async def test_a_link_made_in_one_tenant_does_not_carry_rights_gained_elsewhere_later(
    app: FastAPI,
    client: httpx.AsyncClient,
    factory: Factory,
    new_browser: NewBrowser,
    other_idp: Provider,
):
    """Linked while they belonged to X only; later an operator made them the admin of Z, which
    signs in through another provider. X's provider still signs them in to X — but that session
    does not open Z."""
    x = await tenant_with(client, factory, other_idp)
    user = await factory.member(x, "admin")
    assert (await (await new_browser()).sign_in(x.slug, user.email)).status_code == 200
    assert await identities(factory, user.id) == {other_idp.issuer}

    operator = await factory.actor(None, None, operator=True)
    z_slug = unique("z")
    created = await client.post(
        "/api/v1/platform/tenants",
        json={
            "slug": z_slug,
            "name": "Zed",
            "admin_email": user.email,
            "identity_provider": {"issuer": "https://login.zed.example", "client_id": "c"},
        },
        headers=as_cookie(operator, app),
    )
    assert created.status_code == 201, created.text

    browser = await new_browser()
    assert (await browser.sign_in(x.slug, user.email)).status_code == 200
    assert browser.session
    assert await opens(app, client, browser.session, x.slug) == 200
    assert await opens(app, client, browser.session, z_slug) == 403
    assert z_slug not in await tenants_listed(app, client, browser.session)


async def test_a_person_in_two_tenants_that_trust_the_same_provider_signs_in_to_either(
    client: httpx.AsyncClient, factory: Factory, new_browser: NewBrowser, other_idp: Provider
):
    """The legitimate case: both organisations use one provider (say, the same corporate IdP),
    so the link made in the first also serves the invitation of the second, and both ways in."""
    first = await tenant_with(client, factory, other_idp)
    second = await tenant_with(client, factory, other_idp)
    user = await factory.member(first, "member")
    assert (await (await new_browser()).sign_in(first.slug, user.email)).status_code == 200
    await factory.invitation(second, email=user.email, role="viewer")
    assert (await (await new_browser()).sign_in(second.slug, user.email)).status_code == 200
    assert await role_in(factory, second, user.id) == "viewer"
    assert (await (await new_browser()).sign_in(first.slug, user.email)).status_code == 200
    assert await identities(factory, user.id) == {other_idp.issuer}
