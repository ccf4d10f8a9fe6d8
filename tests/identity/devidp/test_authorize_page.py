"""The sign-in page: clearly a dev tool, strict CSP, known users, CSRF, errors never redirect."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from console.identity.devidp import DevUser, create_dev_idp
from tests.identity.devidp.flow import (
    CALLBACK,
    CLIENT,
    ISSUER,
    ORIGIN,
    AuthRequest,
    Provider,
    csrf_token,
    redirect_params,
)

pytestmark = pytest.mark.anyio


async def test_the_page_says_what_it_is_and_who_is_asking(provider: Provider):
    page = await provider.open(AuthRequest())
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Development identity provider — not for production" in page.text
    assert CLIENT.client_id in page.text
    assert CALLBACK in page.text
    for scope_label in ("Your email address", "Your name"):
        assert scope_label in page.text


async def test_known_users_are_one_click_forms(provider: Provider):
    page = await provider.open(AuthRequest())
    forms = re.findall(r'<form method="post".*?</form>', page.text)
    emails = [re.search(r'name="email"[^>]*value="([^"]*)"', f) for f in forms]
    assert [m.group(1) for m in emails if m] == ["ada@demo.example", "vic@demo.example", ""]
    assert "Ada Admin" in page.text
    assert "Vic Viewer" in page.text
    assert all('name="csrf_token"' in f for f in forms)


async def test_clicking_a_known_user_signs_in_as_that_user(provider: Provider):
    request = AuthRequest()
    page = await provider.open(request)
    done = await provider.submit(
        request, page, decision="approve", email="vic@demo.example", name="Vic Viewer"
    )
    code = redirect_params(done)["code"]
    tokens = (await provider.exchange(request, code)).json()
    assert (await provider.claims(tokens["id_token"]))["name"] == "Vic Viewer"


async def test_the_page_needs_nothing_but_its_own_inline_styles(provider: Provider):
    page = await provider.open(AuthRequest())
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "style-src 'unsafe-inline'" in csp
    assert "form-action 'self' http://127.0.0.1:8000;" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text
    assert not re.search(r"\s(src|href)=", page.text)
    assert not re.search(r"\son[a-z]+=", page.text)
    assert re.search(r'<form method="post" action="authorize\?', page.text)


async def test_the_csrf_cookie_is_scoped_to_the_mount_and_hidden_from_scripts(
    provider: Provider,
):
    page = await provider.open(AuthRequest())
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("devidp_csrf=")
    assert "Path=/dev-idp/" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


async def test_cancel_returns_access_denied_with_state_and_issuer(provider: Provider):
    request = AuthRequest()
    page = await provider.open(request)
    returned = redirect_params(await provider.submit(request, page, decision="cancel"))
    assert returned.pop("error") == "access_denied"
    assert returned.pop("error_description")
    assert returned == {"state": request.state, "iss": ISSUER}


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/cb", f"{CALLBACK}/", f"{CALLBACK}?x=1", CALLBACK.upper(), None],
)
async def test_an_unregistered_redirect_uri_shows_an_error_and_never_redirects(
    provider: Provider, redirect_uri: str | None
):
    response = await provider.open(AuthRequest(extra={"redirect_uri": redirect_uri}))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "This sign-in request cannot continue" in response.text
    assert "invalid_request" in response.text
    assert "<script" not in response.text


async def test_a_posted_form_with_an_unregistered_redirect_uri_never_redirects(
    provider: Provider,
):
    request = AuthRequest()
    page = await provider.open(request)
    request.extra["redirect_uri"] = "https://evil.example/cb"
    response = await provider.submit(request, page, decision="cancel")
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_an_unknown_client_shows_an_error_and_never_redirects(provider: Provider):
    request = AuthRequest()
    params = request.params() | {"client_id": "nobody"}
    response = await provider.http.get("/dev-idp/authorize", params=params)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "invalid_client" in response.text


async def test_a_posted_form_without_the_pages_csrf_token_is_refused(provider: Provider):
    request = AuthRequest()
    page = await provider.open(request)
    fields = {"decision": "approve", "email": "ada@demo.example", "name": "Ada"}
    missing = await provider.http.post(request.url, data=fields)
    assert missing.status_code == 403
    assert f'<a href="{html.escape(request.url.removeprefix("/dev-idp/"))}">' in missing.text
    forged = await provider.http.post(request.url, data=fields | {"csrf_token": "1.abc"})
    assert forged.status_code == 403

    other_request = AuthRequest()
    token_for_another_request = await provider.http.post(
        other_request.url, data=fields | {"csrf_token": csrf_token(page)}
    )
    assert token_for_another_request.status_code == 403
    assert "location" not in token_for_another_request.headers


async def test_a_csrf_token_is_bound_to_the_browser_that_loaded_the_page(provider: Provider):
    request = AuthRequest()
    page = await provider.open(request)
    fields = {"decision": "approve", "email": "ada@demo.example", "csrf_token": csrf_token(page)}
    async with httpx.AsyncClient(transport=provider.transport(), base_url=ORIGIN) as other_browser:
        stolen = await other_browser.post(request.url, data=fields)
    assert stolen.status_code == 403
    provider.http.cookies.clear()
    assert (await provider.http.post(request.url, data=fields)).status_code == 403


@pytest.mark.parametrize(
    ("email", "name", "field"),
    [
        ("not-an-email", "X", "email"),
        ("", "X", "email"),
        ("a@b", "X", "email"),
        ("ok@demo.example", "x" * 201, "name"),
        ("ok@demo.example", "bad\x00name", "name"),
    ],
)
async def test_a_typed_user_is_validated_and_the_form_shown_again(
    provider: Provider, email: str, name: str, field: str
):
    request = AuthRequest()
    page = await provider.open(request)
    again = await provider.submit(request, page, decision="approve", email=email, name=name)
    assert again.status_code == 400
    assert "location" not in again.headers
    assert f'aria-describedby="{field}-error"' in again.text
    retry = await provider.submit(
        request, again, decision="approve", email="ok@demo.example", name="Ok"
    )
    assert "code" in redirect_params(retry)


async def test_a_typed_user_without_a_name_is_named_after_the_email(provider: Provider):
    tokens = await provider.tokens(AuthRequest(), email="sam@demo.example", name="  ")
    assert (await provider.claims(tokens["id_token"]))["name"] == "sam"


async def test_prompt_none_is_login_required(provider: Provider):
    returned = redirect_params(await provider.open(AuthRequest(extra={"prompt": "none"})))
    assert returned["error"] == "login_required"
    assert returned["iss"] == ISSUER


async def test_the_page_still_works_when_known_users_cannot_be_loaded():
    async def broken() -> Sequence[DevUser]:
        raise RuntimeError("database down")

    idp = create_dev_idp(issuer=ISSUER, clients=[CLIENT], known_users=broken)
    host = Starlette(routes=[Mount("/dev-idp", app=idp)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=ORIGIN) as c:
        browser = Provider(c, idp, host)
        request = AuthRequest()
        page = await browser.open(request)
        assert page.status_code == 200
        assert "Known users could not be loaded" in page.text
        assert "code" in await browser.sign_in(request, email="x@demo.example")
