"""The relying party's side of the code flow, step by step, for the tests."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.types import ASGIApp

from console.identity.devidp import DevClient, DevUser

ORIGIN = "http://127.0.0.1:8000"
ISSUER = f"{ORIGIN}/dev-idp"
CALLBACK = f"{ORIGIN}/dashboard/oauth_callback"
CLIENT = DevClient("console", "console-secret", (CALLBACK,))
OTHER_CLIENT = DevClient("other", "other-secret", ("http://localhost:9000/cb",))
KNOWN = (DevUser("ada@demo.example", "Ada Admin"), DevUser("vic@demo.example", "Vic Viewer"))


async def known_users() -> Sequence[DevUser]:
    return KNOWN


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class AuthRequest:
    """One authorization request's secrets and parameters (PKCE S256, state, nonce)."""

    client: DevClient = CLIENT
    redirect_uri: str = CALLBACK
    scope: str = "openid email profile"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    extra: dict[str, str | None] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        values: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": s256(self.verifier),
            "code_challenge_method": "S256",
            **self.extra,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def url(self) -> str:
        return f"/dev-idp/authorize?{urlencode(self.params())}"


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query of a redirect back to the client, one value per name."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query, strict_parsing=True)
    assert all(len(v) == 1 for v in query.values()), location
    return {k: v[0] for k, v in query.items()}


def csrf_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return html.unescape(match.group(1))


@dataclass
class Provider:
    """The mounted provider (`app`, inside `host`) and a browser (`http`) that talks to it."""

    http: httpx.AsyncClient
    app: ASGIApp
    host: ASGIApp

    def transport(self) -> httpx.ASGITransport:
        """Another connection to the host, e.g. for a second browser or a server-side client."""
        return httpx.ASGITransport(app=self.host)

    async def open(self, request: AuthRequest) -> httpx.Response:
        return await self.http.get(request.url)

    async def submit(self, request: AuthRequest, page: httpx.Response, **fields: str):
        """POST the sign-in form that `page` showed, as the browser would."""
        data = {"csrf_token": csrf_token(page), **fields}
        return await self.http.post(request.url, data=data)

    async def sign_in(
        self, request: AuthRequest, email: str = "ada@demo.example", name: str = "Ada"
    ) -> dict[str, str]:
        page = await self.open(request)
        assert page.status_code == 200, page.text
        done = await self.submit(request, page, decision="approve", email=email, name=name)
        return redirect_params(done)

    async def exchange(
        self,
        request: AuthRequest,
        code: str,
        *,
        verifier: str | None = None,
        auth: str = "basic",
        secret: str | None = None,
        client: DevClient | None = None,
    ) -> httpx.Response:
        client = client or request.client
        secret = client.client_secret if secret is None else secret
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier if verifier is None else verifier,
        }
        if auth == "basic":
            return await self.http.post(
                "/dev-idp/token", data=data, auth=(client.client_id, secret)
            )
        data |= {"client_id": client.client_id, "client_secret": secret}
        return await self.http.post("/dev-idp/token", data=data)

    async def claims(self, id_token: str) -> dict[str, Any]:
        """The id_token's claims, once its signature checks out against the JWKS."""
        jwks = KeySet.import_key_set((await self.http.get("/dev-idp/jwks")).json())
        return jwt.decode(id_token, jwks, algorithms=["RS256"]).claims

    async def tokens(self, request: AuthRequest, **sign_in: str) -> dict[str, Any]:
        code = (await self.sign_in(request, **sign_in))["code"]
        response = await self.exchange(request, code)
        assert response.status_code == 200, response.text
        return response.json()
