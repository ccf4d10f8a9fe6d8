"""Interoperability: Authlib's own OAuth client (what the console uses) completes the flow."""

from __future__ import annotations

import secrets
import warnings

import httpx
import pytest
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.identity.devidp.flow import CALLBACK, CLIENT, ISSUER, Provider, csrf_token

with warnings.catch_warnings():
    # Authlib 1.9.8 deprecates its httpx integration (in favour of httpx2) when it is imported.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
async def test_authlib_client_signs_in_and_validates_the_id_token(
    provider: Provider, auth_method: str
):
    metadata = (await provider.http.get("/dev-idp/.well-known/openid-configuration")).json()
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    async with AsyncOAuth2Client(
        CLIENT.client_id,
        CLIENT.client_secret,
        scope="openid email profile",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
        transport=provider.transport(),
    ) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        page = await provider.http.get(url)
        done = await provider.http.post(
            url,
            data={"csrf_token": csrf_token(page), "decision": "approve", "email": "a@demo.example"},
        )
        callback = httpx.URL(done.headers["location"])
        assert callback.params["iss"] == metadata["issuer"] == ISSUER
        token = await client.fetch_token(
            metadata["token_endpoint"],
            authorization_response=str(callback),
            state=state,
            code_verifier=verifier,
        )
        jwks = KeySet.import_key_set((await client.get(metadata["jwks_uri"])).json())
        decoded = jwt.decode(token["id_token"], jwks, algorithms=["RS256"])
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"values": [ISSUER]}},
            {"nonce": nonce, "client_id": CLIENT.client_id, "access_token": token["access_token"]},
        )
        claims.validate(leeway=0)
        userinfo = (await client.get(metadata["userinfo_endpoint"])).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == claims["email"] == "a@demo.example"
