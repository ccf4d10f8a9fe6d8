"""Abuse limits, end to end through an app with them switched on: guessing bearer tokens, starting
sign-ins and failing callbacks are each answered 429 (problem+json, Retry-After) once a client
overdoes it, while other clients, and an account's owner with the right token, are unaffected.

The rules' arithmetic is tested in tests/kit/test_ratelimit.py; here only how the routes use them.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from console.app import create_app
from console.kit.crypto import new_secret
from console.kit.ratelimit import (
    AUTH_FAILURE_ACCOUNT,
    AUTH_FAILURE_CLIENT,
    CALLBACK_FAILURE_CLIENT,
    SIGNIN_CLIENT,
)
from tests.backends import DatabaseUnderTest
from tests.conftest import ORIGIN, make_settings
from tests.factories import Factory
from tests.network import InProcessNetwork

pytestmark = pytest.mark.anyio

ME = "/api/v1/me"
SIGN_IN = "/api/v1/auth/sign-in"
CALLBACK = "/dashboard/oauth_callback"
Client = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def limited_app(test_database: DatabaseUnderTest, tmp_path) -> AsyncIterator[FastAPI]:
    """The app with its abuse limits on (fresh, per-process counters), reaching its own
    development provider in-process."""
    network = InProcessNetwork()
    app = create_app(
        make_settings(test_database, tmp_path, rate_limit_enabled=True), oidc_transport=network
    )
    network.serve(ORIGIN, app)
    yield app
    await app.state.oidc_http.aclose()
    await app.state.limits.aclose()
    await app.state.db.dispose()


@pytest.fixture
async def client_at(limited_app: FastAPI) -> AsyncIterator[Client]:
    """An HTTP client of the limited app as seen from a given address."""
    opened: list[httpx.AsyncClient] = []

    async def open_from(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=limited_app, client=(ip, 50_000))
        opened.append(httpx.AsyncClient(transport=transport, base_url=ORIGIN))
        return opened[-1]

    yield open_from
    for client in opened:
        await client.aclose()


def made_up_token(prefix: str | None = None) -> dict[str, str]:
    """A well-formed token nobody was given; a new lookup prefix each time unless one is given."""
    prefix = prefix or "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
    return {"Authorization": f"Bearer cnsl_{prefix}_{new_secret(32)}"}


def assert_too_many(response: httpx.Response, period: float) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= period
    problem = response.json()
    assert problem["status"] == 429
    assert problem["retry_after"] == retry_after
    assert f"{retry_after} seconds" in problem["detail"]


async def test_guessing_bearer_tokens_is_cut_off_per_client(client_at: Client, factory: Factory):
    tenant = await factory.tenant()
    owner = await factory.actor(tenant, "viewer")
    guesser = await client_at("203.0.113.10")

    statuses = [
        (await guesser.get(ME, headers=made_up_token())).status_code
        for _ in range(AUTH_FAILURE_CLIENT.limit)
    ]
    assert statuses == [401] * AUTH_FAILURE_CLIENT.limit
    assert_too_many(await guesser.get(ME, headers=made_up_token()), AUTH_FAILURE_CLIENT.period)
    # Locked out: not even a valid token is looked at from this client now ...
    valid = {"Authorization": f"Bearer {owner.api_token}"}
    assert_too_many(await guesser.get(ME, headers=valid), AUTH_FAILURE_CLIENT.period)
    # ... while everyone else, the owner included, carries on.
    elsewhere = await client_at("198.51.100.20")
    assert (await elsewhere.get(ME, headers=valid)).status_code == 200
    assert (await elsewhere.get(ME, headers=made_up_token())).status_code == 401


async def test_guessing_one_tokens_secret_is_cut_off_but_the_owner_is_not(
    client_at: Client, factory: Factory
):
    """Failures against one token's lookup prefix, from many addresses, lock that prefix for
    wrong secrets only: the owner's right token keeps working."""
    tenant = await factory.tenant()
    owner = await factory.actor(tenant, "viewer")
    prefix = owner.api_token.split("_")[1]

    for n in range(AUTH_FAILURE_ACCOUNT.limit):
        guesser = await client_at(f"203.0.113.{100 + n}")
        assert (await guesser.get(ME, headers=made_up_token(prefix))).status_code == 401
    last = await client_at("203.0.113.200")
    assert_too_many(await last.get(ME, headers=made_up_token(prefix)), AUTH_FAILURE_ACCOUNT.period)
    owners_client = await client_at("198.51.100.30")
    mine = await owners_client.get(ME, headers={"Authorization": f"Bearer {owner.api_token}"})
    assert mine.status_code == 200
    assert mine.json()["id"] == str(owner.id)


async def test_starting_sign_ins_is_limited_per_client(limited_app: FastAPI, client_at: Client):
    binding = {limited_app.state.settings.binding_cookie_name: new_secret()}
    starter = await client_at("203.0.113.40")
    starter.cookies.update(binding)
    origin = {"Origin": ORIGIN}

    for _ in range(SIGNIN_CLIENT.limit):
        started = await starter.post(SIGN_IN, json={}, headers=origin)
        assert started.status_code == 200, started.text
    assert_too_many(await starter.post(SIGN_IN, json={}, headers=origin), SIGNIN_CLIENT.period)

    other = await client_at("198.51.100.40")
    other.cookies.update(binding)
    assert (await other.post(SIGN_IN, json={}, headers=origin)).status_code == 200


async def test_failing_callbacks_are_limited_per_client(client_at: Client):
    def forged() -> str:
        return f"{CALLBACK}?{urlencode({'state': new_secret(), 'code': new_secret()})}"

    prober = await client_at("203.0.113.50")
    for _ in range(CALLBACK_FAILURE_CLIENT.limit):
        refused = await prober.get(forged())
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"].startswith("text/html")
    # The popup shows a page, not JSON: still 429 with Retry-After.
    limited = await prober.get(forged())
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("text/html")
    assert 1 <= int(limited.headers["retry-after"]) <= CALLBACK_FAILURE_CLIENT.period
    assert "Too many" in limited.text

    other = await client_at("198.51.100.50")
    assert (await other.get(forged())).status_code == 400
