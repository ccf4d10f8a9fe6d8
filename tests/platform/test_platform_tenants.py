"""Operators: list tenants with counts, create with a first admin, suspend and resume."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.conftest import as_cookie, as_token
from tests.factories import Factory, unique

pytestmark = pytest.mark.anyio


@pytest.fixture
async def operator(factory: Factory):
    return await factory.actor(None, None, operator=True)


async def test_operator_lists_tenants_with_counts(
    app: FastAPI, client: AsyncClient, factory: Factory, operator
):
    tenant = await factory.tenant()
    await factory.member(tenant, "admin")
    await factory.member(tenant, "viewer")
    for _ in range(3):
        await factory.project(tenant)
    response = await client.get(
        "/api/v1/platform/tenants", params={"q": tenant.slug}, headers=as_cookie(operator, app)
    )
    assert response.status_code == 200
    [row] = response.json()
    assert (row["slug"], row["member_count"], row["project_count"]) == (tenant.slug, 2, 3)
    assert response.headers["x-total-count"] == "1"


async def test_operator_creates_a_tenant_whose_admin_can_use_it(
    app: FastAPI, client: AsyncClient, factory: Factory, operator
):
    slug = unique("acme")
    email = f"{unique('boss')}@acme.example"
    created = await client.post(
        "/api/v1/platform/tenants",
        json={"slug": slug, "name": "ACME 株式会社 🚀", "admin_email": email},
        headers=as_cookie(operator, app),
    )
    assert created.status_code == 201, created.text
    assert created.json()["member_count"] == 1
    assert created.json()["name"] == "ACME 株式会社 🚀"

    duplicate = await client.post(
        "/api/v1/platform/tenants",
        json={"slug": slug, "name": "Again", "admin_email": email},
        headers=as_cookie(operator, app),
    )
    assert duplicate.status_code == 409

    from console.identity import repository

    async with app.state.db.system_session() as s:
        admin_user = await repository.user_by_email(s, email)
    assert admin_user is not None
    cookie = await factory.cookie(admin_user)
    name = app.state.settings.session_cookie_name
    members = await client.get(
        f"/api/v1/tenants/{slug}/members", headers={"Cookie": f"{name}={cookie}"}
    )
    assert [m["role"] for m in members.json()] == ["admin"]
    # The operator is not a member: tenant data stays out of reach.
    probe = await client.get(f"/api/v1/tenants/{slug}/projects", headers=as_cookie(operator, app))
    assert probe.status_code == 404


async def test_suspended_tenant_answers_403_with_a_clear_message(
    app: FastAPI, client: AsyncClient, factory: Factory, operator
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    url = f"/api/v1/tenants/{tenant.slug}/projects"
    assert (await client.get(url, headers=as_token(admin))).status_code == 200

    suspended = await client.post(
        f"/api/v1/platform/tenants/{tenant.id}/suspend",
        json={"reason": "unpaid invoice"},
        headers=as_cookie(operator, app),
    )
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["suspended_reason"] == "unpaid invoice"

    blocked = await client.get(url, headers=as_token(admin))
    assert blocked.status_code == 403
    assert blocked.json()["type"].endswith("/tenant-suspended")
    assert "suspended" in blocked.json()["detail"]
    target = (await client.get(f"/api/v1/auth/tenants/{tenant.slug}")).json()
    assert target["suspended"] is True
    assert target["sign_in_available"] is False

    resumed = await client.post(
        f"/api/v1/platform/tenants/{tenant.id}/resume", headers=as_cookie(operator, app)
    )
    assert resumed.json()["status"] == "active"
    assert (await client.get(url, headers=as_token(admin))).status_code == 200
    assert (await client.get(f"/api/v1/auth/tenants/{tenant.slug}")).json()["suspended"] is False

    audit = (
        await client.get(
            f"/api/v1/tenants/{tenant.slug}/audit",
            params={"action": "tenant."},
            headers=as_token(admin),
        )
    ).json()
    assert [e["action"] for e in audit["items"]] == ["tenant.resumed", "tenant.suspended"]
    assert audit["items"][1]["actor_label"] == operator.user.email


async def test_non_operators_are_refused(app: FastAPI, client: AsyncClient, factory: Factory):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    response = await client.get("/api/v1/platform/tenants", headers=as_cookie(admin, app))
    assert response.status_code == 403


async def test_a_new_tenant_gets_its_sign_in_at_creation(
    app: FastAPI, client: AsyncClient, operator
):
    slug = unique("sso")
    created = await client.post(
        "/api/v1/platform/tenants",
        json={
            "slug": slug,
            "name": "SSO Corp",
            "admin_email": f"{unique('boss')}@sso.example",
            "identity_provider": {
                "issuer": "https://login.sso.example",
                "client_id": "console",
                "client_secret": "s3cret-value",
                "allowed_email_domains": ["sso.example"],
            },
        },
        headers=as_cookie(operator, app),
    )
    assert created.status_code == 201, created.text
    target = (await client.get(f"/api/v1/auth/tenants/{slug}")).json()
    assert target["sign_in_available"] is True
    assert "s3cret-value" not in created.text


async def test_without_a_provider_a_dev_tenant_uses_the_development_provider_and_operators_can_replace_it(
    app: FastAPI, client: AsyncClient, operator
):
    slug = unique("plain")
    created = await client.post(
        "/api/v1/platform/tenants",
        json={"slug": slug, "name": "Plain", "admin_email": f"{unique('a')}@plain.example"},
        headers=as_cookie(operator, app),
    )
    assert (await client.get(f"/api/v1/auth/tenants/{slug}")).json()["sign_in_available"]
    replaced = await client.put(
        f"/api/v1/platform/tenants/{created.json()['id']}/identity-provider",
        json={"issuer": "https://idp.plain.example", "client_id": "x", "client_secret": "y"},
        headers=as_cookie(operator, app),
    )
    assert replaced.status_code == 200
    assert replaced.json()["issuer"] == "https://idp.plain.example"
    assert replaced.json()["client_secret_set"] is True
    assert "client_secret" not in replaced.json()
