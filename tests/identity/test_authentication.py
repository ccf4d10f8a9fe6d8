"""Authentication: API tokens (secret once, role cap, revocation, expiry) and cookie sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from console.identity.models import UserSession
from tests.conftest import as_token
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_token_secret_is_shown_once_and_stored_hashed(
    client: AsyncClient, factory: Factory, app
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    base = f"/api/v1/tenants/{tenant.slug}/api-tokens"
    created = await client.post(
        base, json={"name": "ci", "role": "member"}, headers=as_token(admin)
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith(f"cnsl_{created.json()['prefix']}_")

    listed = (await client.get(base, headers=as_token(admin))).json()
    assert all("token" not in t for t in listed)
    assert secret not in str(listed)

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["authenticated_via"] == "token"
    assert me.json()["id"] == str(admin.id)


async def test_a_token_cannot_exceed_its_creators_role(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    viewer_token = await factory.token(tenant, admin.user, "viewer")
    response = await client.post(
        f"/api/v1/tenants/{tenant.slug}/projects",
        json={"key": "CAP", "name": "capped"},
        headers={"Authorization": f"Bearer {viewer_token}"},
    )
    assert response.status_code == 403


async def test_revoked_token_stops_working_at_once(client: AsyncClient, factory: Factory, app):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    base = f"/api/v1/tenants/{tenant.slug}/api-tokens"
    created = (await client.post(base, json={"name": "x"}, headers=as_token(admin))).json()
    bearer = {"Authorization": f"Bearer {created['token']}"}
    old_ttl = app.state.token_cache.ttl
    app.state.token_cache.ttl = 60  # even with a warm cache
    try:
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200
        revoked = await client.delete(f"{base}/{created['id']}", headers=as_token(admin))
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    finally:
        app.state.token_cache.ttl = old_ttl


@pytest.mark.parametrize(
    "value",
    ["", "cnsl_", "cnsl_abcdefghijkl_short", "Basic abc", "cnsl_abcdefghijkl_" + "x" * 43],
)
async def test_bad_tokens_are_401_problems(client: AsyncClient, value: str):
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_token_is_refused(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    user = await factory.member(tenant, "admin")
    token = await factory.token(tenant, user, "admin", expires_in=timedelta(seconds=-1))
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_tokens_never_operate_the_platform(client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    operator = await factory.user(operator=True)
    await factory.member(tenant, "admin", user=operator)
    token = await factory.token(tenant, operator, "admin")
    response = await client.get(
        "/api/v1/platform/tenants", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


async def test_revoked_and_idle_sessions_are_refused(client: AsyncClient, factory: Factory, app):
    user = await factory.user()
    name = app.state.settings.session_cookie_name
    live, revoked, idle = [await factory.cookie(user) for _ in range(3)]
    from console.db import utcnow
    from console.kit.crypto import hash_token

    async with app.state.db.system_session() as s:
        await s.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(revoked))
            .values(revoked_at=utcnow())
        )
        await s.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(idle))
            .values(last_seen_at=utcnow() - timedelta(days=30))
        )
    assert (await client.get("/api/v1/me", headers={"Cookie": f"{name}={live}"})).status_code == 200
    for value in (revoked, idle, "forged"):
        response = await client.get("/api/v1/me", headers={"Cookie": f"{name}={value}"})
        assert response.status_code == 401
