"""Interoperability: tenant B signs in through an identity provider this project did not write,
npm's oauth2-mock-server (on http://localhost:<port>, the console on 127.0.0.1: another site),
configured only through its hooks (tests/e2e/mock_idp.mjs)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.conftest import TENANT_B_USER, Console, MockIdP, TenantB
from tests.e2e.flutter import (
    account_button,
    expect,
    open_dashboard,
    shot,
    sign_in_button,
    sign_in_screen,
)

pytestmark = pytest.mark.needs_node

CLIENT_ID = "contract-check"
REDIRECT_URI = "http://127.0.0.1:9/callback"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(idp: MockIdP, *, nonce: str, challenge: str) -> dict[str, str]:
    """The parameters the provider redirects back with (it approves without a screen)."""
    answer = httpx.get(
        idp.issuer + "/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email profile",
            "state": "s1",
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _redeem(idp: MockIdP, code: str, verifier: str | None) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    form |= {"client_id": CLIENT_ID} | ({"code_verifier": verifier} if verifier else {})
    return httpx.post(idp.issuer + "/token", data=form)


def test_mock_server_echoes_the_nonce_and_verifies_pkce(mock_idp: MockIdP):
    """What the console relies on, checked against the provider directly."""
    discovery = httpx.get(mock_idp.issuer + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == mock_idp.issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]

    # A wrong verifier is refused, and the code is spent by the attempt.
    verifier, challenge = _pkce()
    params = _authorize(mock_idp, nonce="n-1", challenge=challenge)
    assert params["state"] == "s1"
    assert params["iss"] == mock_idp.issuer  # RFC 9207, added by the launcher's hook
    wrong = _redeem(mock_idp, params["code"], _pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_request"
    assert "does not match" in wrong.json()["error_description"]
    assert _redeem(mock_idp, params["code"], verifier).status_code == 400

    # Without a verifier (the launcher makes PKCE mandatory).
    _, challenge = _pkce()
    params = _authorize(mock_idp, nonce="n-2", challenge=challenge)
    assert _redeem(mock_idp, params["code"], None).status_code == 400

    # The right verifier: a signed id_token with our nonce and the configured user.
    verifier, challenge = _pkce()
    params = _authorize(mock_idp, nonce="n-3", challenge=challenge)
    tokens = _redeem(mock_idp, params["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    keys = KeySet.import_key_set(httpx.get(discovery["jwks_uri"]).json())
    claims = jwt.decode(tokens.json()["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["nonce"] == "n-3"
    assert claims["iss"] == mock_idp.issuer
    assert claims["aud"] == CLIENT_ID
    assert {k: claims[k] for k in TENANT_B_USER} == TENANT_B_USER


def test_tenant_b_signs_in_through_oauth2_mock_server(
    console: Console, mock_idp: MockIdP, tenant_b: TenantB, new_context
):
    assert tenant_b.provider["issuer"] == mock_idp.issuer
    assert tenant_b.provider["client_secret_set"]
    assert tenant_b.check["ok"], tenant_b.check
    authorizations_before = len(mock_idp.events_of("authorize"))
    tokens_before = len(mock_idp.events_of("token"))

    context = new_context()
    callbacks: list[int] = []
    context.on(
        "response", lambda r: callbacks.append(r.status) if "/oauth_callback" in r.url else None
    )
    page = context.new_page()
    open_dashboard(page, console.url(f"/dashboard/t/{tenant_b.slug}/sign-in"))
    expect(sign_in_screen(page, f"Sign in to {tenant_b.name}")).to_be_visible()
    shot(page, "interop-01-tenant-b-sign-in")

    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    if not popup.is_closed():  # the provider approves at once; the callback closes it
        popup.wait_for_event("close")

    expect(account_button(page, TENANT_B_USER["email"])).to_be_visible()
    expect(page.get_by_text("No projects yet")).to_be_visible()
    assert page.url == console.url(f"/dashboard/t/{tenant_b.slug}/home")
    shot(page, "interop-02-tenant-b-signed-in")
    assert callbacks == [200]

    authorizations = mock_idp.events_of("authorize", at_least=authorizations_before + 1)
    assert authorizations[authorizations_before:] == [
        {"event": "authorize", "nonce": True, "method": "S256", "refused": None}
    ]
    tokens = mock_idp.events_of("token", at_least=tokens_before + 1)[tokens_before:]
    assert [e["verifier"] for e in tokens] == [True]

    cookie = next(c for c in context.cookies() if c["name"] == "console_session")
    with httpx.Client(
        base_url=console.base, headers={"Cookie": f"console_session={cookie['value']}"}
    ) as api:
        assert api.get("/api/v1/me").json()["email"] == TENANT_B_USER["email"]
        tenants = api.get("/api/v1/tenants").json()
    assert [(t["slug"], t["role"]) for t in tenants] == [(tenant_b.slug, "admin")]
