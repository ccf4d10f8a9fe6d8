"""The authorization code flow end to end: PKCE S256, a verified id_token, userinfo."""

from __future__ import annotations

import base64
import hashlib

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.identity.devidp.flow import (
    CALLBACK,
    CLIENT,
    ISSUER,
    AuthRequest,
    Provider,
    redirect_params,
)

pytestmark = pytest.mark.anyio


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@pytest.mark.parametrize("auth", ["basic", "post"])
async def test_code_flow_issues_an_id_token_verifiable_with_the_jwks(provider: Provider, auth: str):
    request = AuthRequest()
    returned = await provider.sign_in(request, email="Ada@Demo.Example", name="Ada Admin")
    assert set(returned) == {"code", "state", "iss"}
    assert returned["state"] == request.state
    assert returned["iss"] == ISSUER

    response = await provider.exchange(request, returned["code"], auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert "refresh_token" not in tokens

    jwks = KeySet.import_key_set((await provider.http.get("/dev-idp/jwks")).json())
    id_token = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"])
    assert id_token.header["kid"] == jwks.keys[0].kid
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": CLIENT.client_id},
        azp={"essential": True, "value": CLIENT.client_id},
        nonce={"essential": True, "value": request.nonce},
        at_hash={"essential": True, "value": at_hash(tokens["access_token"])},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
    ).validate(id_token.claims)
    claims = id_token.claims
    assert claims["aud"] == CLIENT.client_id
    assert claims["email"] == "Ada@demo.example"
    assert claims["email_verified"] is True
    assert claims["name"] == "Ada Admin"
    assert claims["exp"] > claims["iat"] >= claims["auth_time"] - 1


async def test_sub_is_stable_per_email_whatever_its_case(provider: Provider):
    first = await provider.tokens(AuthRequest(), email="ada@demo.example")
    second = await provider.tokens(AuthRequest(), email="ADA@demo.EXAMPLE")
    other = await provider.tokens(AuthRequest(), email="vic@demo.example")
    subs = [(await provider.claims(t["id_token"]))["sub"] for t in (first, second, other)]
    assert subs[0] == subs[1] != subs[2]


async def test_userinfo_answers_the_bearer_of_the_access_token(provider: Provider):
    tokens = await provider.tokens(AuthRequest(), email="vic@demo.example", name="Vic")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = await provider.http.get("/dev-idp/userinfo", headers=bearer)
    assert response.status_code == 200
    sub = (await provider.claims(tokens["id_token"]))["sub"]
    assert response.json() == {
        "sub": sub,
        "email": "vic@demo.example",
        "email_verified": True,
        "name": "Vic",
    }


async def test_claims_follow_the_granted_scopes(provider: Provider):
    tokens = await provider.tokens(AuthRequest(scope="openid"))
    claims = await provider.claims(tokens["id_token"])
    assert {"sub", "nonce"} <= claims.keys()
    assert not {"email", "name"} & claims.keys()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    userinfo = (await provider.http.get("/dev-idp/userinfo", headers=bearer)).json()
    assert set(userinfo) == {"sub"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic Y29uc29sZTp4"])
async def test_userinfo_refuses_without_a_valid_bearer_token(
    provider: Provider, authorization: str | None
):
    headers = {"Authorization": authorization} if authorization else {}
    response = await provider.http.get("/dev-idp/userinfo", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")


async def test_a_request_without_openid_scope_is_refused(provider: Provider):
    request = AuthRequest(scope="email profile")
    response = await provider.open(request)
    assert response.headers["location"].startswith(f"{CALLBACK}?")
    returned = redirect_params(response)
    assert returned["error"] == "invalid_scope"
    assert returned["state"] == request.state
    assert returned["iss"] == ISSUER
