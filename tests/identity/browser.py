"""A browser for sign-in tests: a cookie jar on the test network that opens the dashboard (for its
binding cookie), starts a sign-in through the API, signs in at a dev identity provider's form and
follows the redirect back to the callback."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from tests.conftest import ORIGIN
from tests.network import InProcessNetwork

SIGN_IN = "/api/v1/auth/sign-in"


def browser_client(network: InProcessNetwork) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=network, base_url=ORIGIN)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def csrf_token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return html.unescape(match.group(1))


@dataclass
class Browser:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def binding(self) -> str | None:
        return self.http.cookies.get(self.app.state.settings.binding_cookie_name)

    @property
    def session(self) -> str | None:
        return self.http.cookies.get(self.app.state.settings.session_cookie_name)

    async def open_dashboard(self) -> None:
        """What a real browser does first: the dashboard's gate hands out the binding cookie."""
        page = await self.http.get("/dashboard/")
        assert page.status_code == 200
        assert self.binding, "the dashboard set no binding cookie"

    async def start(
        self, tenant: str | None = None, *, origin: str | None = ORIGIN
    ) -> httpx.Response:
        headers = {"Origin": origin} if origin else {}
        body = {} if tenant is None else {"tenant": tenant}
        return await self.http.post(SIGN_IN, json=body, headers=headers)

    async def authorization_url(self, tenant: str | None = None) -> str:
        started = await self.start(tenant)
        assert started.status_code == 200, started.text
        return started.json()["authorization_url"]

    async def at_provider(self, authorization_url: str, decision: str, **fields: str):
        """Open the provider's sign-in page and submit it; returns the provider's redirect."""
        page = await self.http.get(authorization_url)
        assert page.status_code == 200, page.text
        form = {"csrf_token": csrf_token(page), "decision": decision, **fields}
        answer = await self.http.post(authorization_url, data=form)
        assert answer.status_code == 302, answer.text
        return answer

    async def approve(self, authorization_url: str, email: str, name: str = "") -> str:
        """Sign in at the provider as `email`; the callback URL it redirects to."""
        answer = await self.at_provider(authorization_url, "approve", email=email, name=name)
        return answer.headers["location"]

    async def callback(self, location: str) -> httpx.Response:
        assert location.startswith(f"{ORIGIN}/dashboard/oauth_callback?"), location
        return await self.http.get(location)

    async def sign_in(self, tenant: str | None, email: str, name: str = "") -> httpx.Response:
        """The whole flow; the callback's response."""
        url = await self.authorization_url(tenant)
        return await self.callback(await self.approve(url, email, name))
