"""PKCE is required (S256 only) and codes are single-use, short-lived and bound to their request."""

from __future__ import annotations

import pytest

from tests.identity.devidp.flow import (
    CALLBACK,
    ISSUER,
    OTHER_CLIENT,
    AuthRequest,
    Provider,
    redirect_params,
)

pytestmark = pytest.mark.anyio


async def test_a_wrong_code_verifier_is_an_invalid_grant(provider: Provider):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    response = await provider.exchange(request, code, verifier="x" * 43)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_missing_code_verifier_is_refused(provider: Provider):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    response = await provider.exchange(request, code, verifier="")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge": "too-short"},
    ],
    ids=["no-pkce", "no-challenge", "no-method-means-plain", "plain", "malformed"],
)
async def test_authorization_without_s256_pkce_is_refused_back_to_the_client(
    provider: Provider, pkce: dict[str, str | None]
):
    request = AuthRequest(extra=pkce)
    returned = redirect_params(await provider.open(request))
    assert returned["error"] == "invalid_request"
    assert returned["state"] == request.state
    assert returned["iss"] == ISSUER
    assert "code" not in returned


async def test_a_missing_nonce_is_refused(provider: Provider):
    returned = redirect_params(await provider.open(AuthRequest(extra={"nonce": None})))
    assert returned["error"] == "invalid_request"


async def test_a_code_is_single_use_and_its_replay_revokes_the_tokens(provider: Provider):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    first = await provider.exchange(request, code)
    assert first.status_code == 200
    replay = await provider.exchange(request, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert (await provider.http.get("/dev-idp/userinfo", headers=bearer)).status_code == 401


async def test_a_code_expires_after_sixty_seconds(provider: Provider):
    store = provider.app.state.store
    now = store.clock()
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    store.clock = lambda: now + 61
    response = await provider.exchange(request, code)
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_client(provider: Provider):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    stolen = await provider.exchange(request, code, client=OTHER_CLIENT)
    assert stolen.json()["error"] == "invalid_grant"
    assert (await provider.exchange(request, code)).json()["error"] == "invalid_grant"


async def test_a_code_is_bound_to_its_redirect_uri(provider: Provider):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    request.redirect_uri = f"{CALLBACK}/other"
    assert (await provider.exchange(request, code)).json()["error"] == "invalid_grant"


async def test_a_redeemed_nonce_cannot_be_used_again(provider: Provider):
    request = AuthRequest()
    await provider.tokens(request)
    again = AuthRequest(nonce=request.nonce)
    assert redirect_params(await provider.open(again))["error"] == "invalid_request"


async def test_a_double_submitted_sign_in_yields_one_usable_code(provider: Provider):
    request = AuthRequest()
    page = await provider.open(request)
    fields = {"decision": "approve", "email": "ada@demo.example", "name": "Ada"}
    first = redirect_params(await provider.submit(request, page, **fields))["code"]
    second = redirect_params(await provider.submit(request, page, **fields))["code"]
    assert (await provider.exchange(request, second)).status_code == 200
    assert (await provider.exchange(request, first)).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("auth", ["basic", "post"])
async def test_a_wrong_client_secret_is_an_invalid_client(provider: Provider, auth: str):
    request = AuthRequest()
    code = (await provider.sign_in(request))["code"]
    response = await provider.exchange(request, code, auth=auth, secret="wrong")
    assert response.json()["error"] == "invalid_client"
    assert response.status_code == 401
    assert (await provider.exchange(request, code)).status_code == 200


async def test_the_token_endpoint_wants_a_form_without_repeats(provider: Provider):
    json_body = await provider.http.post("/dev-idp/token", json={"grant_type": "x"})
    assert json_body.json()["error"] == "invalid_request"
    repeated = await provider.http.post(
        "/dev-idp/token",
        content="code=a&code=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"
