"""A tenant's identity-provider settings: the client secret is write-only and encrypted at rest,
bad settings are 422 problems, every change is audited without the secret, and the check says
what the provider offers (or, readably, why it cannot be used)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from console.audit.models import AuditEvent
from console.identity.models import IdentityProvider
from console.kit.crypto import SecretBox
from console.tenancy.models import Tenant
from tests.conftest import as_token
from tests.factories import Actor, Factory

pytestmark = pytest.mark.anyio

SECRET = "s3cret-of-the-console-client"


def url(tenant: Tenant, suffix: str = "") -> str:
    return f"/api/v1/tenants/{tenant.slug}/identity-provider{suffix}"


def settings_for(app: FastAPI, **changes: Any) -> dict[str, Any]:
    """A valid body pointing at the app's own development provider."""
    return {
        "issuer": app.state.settings.dev_idp_issuer,
        "client_id": "console-dev",
        "client_secret": SECRET,
        **changes,
    }


async def admin_of_new_tenant(factory: Factory) -> tuple[Tenant, Actor]:
    tenant = await factory.tenant()
    return tenant, await factory.actor(tenant, "admin")


async def stored(factory: Factory, tenant: Tenant) -> IdentityProvider:
    async with factory.db.system_session() as s:
        row = await s.scalar(
            select(IdentityProvider).where(IdentityProvider.tenant_id == tenant.id)
        )
        assert row is not None
        return row


async def audit_of(factory: Factory, tenant: Tenant) -> list[AuditEvent]:
    async with factory.db.system_session() as s:
        return list(
            await s.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.tenant_id == tenant.id,
                    AuditEvent.action == "identity_provider.updated",
                )
                .order_by(AuditEvent.created_at)
            )
        )


async def test_an_unconfigured_tenant_has_no_provider(client: httpx.AsyncClient, factory: Factory):
    tenant, admin = await admin_of_new_tenant(factory)
    missing = await client.get(url(tenant), headers=as_token(admin))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    check = await client.post(url(tenant, "/check"), headers=as_token(admin))
    assert check.status_code == 404
    target = await client.get(f"/api/v1/auth/tenants/{tenant.slug}")
    assert target.json() == {
        "slug": tenant.slug,
        "name": tenant.name,
        "sign_in_available": False,
        "suspended": False,
    }


async def test_the_secret_is_stored_encrypted_and_never_returned(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant, admin = await admin_of_new_tenant(factory)
    put = await client.put(url(tenant), json=settings_for(app), headers=as_token(admin))
    assert put.status_code == 200, put.text
    assert SECRET not in put.text
    assert put.json()["client_secret_set"] is True
    assert "client_secret" not in put.json()

    row = await stored(factory, tenant)
    assert row.client_secret_encrypted is not None
    assert SECRET not in row.client_secret_encrypted
    box = SecretBox(app.state.settings.secret_key.get_secret_value())
    assert box.decrypt(row.client_secret_encrypted) == SECRET

    got = await client.get(url(tenant), headers=as_token(admin))
    assert got.status_code == 200
    assert SECRET not in got.text
    assert got.json() == {
        "issuer": app.state.settings.dev_idp_issuer,
        "client_id": "console-dev",
        "client_secret_set": True,
        "scopes": ["openid", "email", "profile"],
        "allowed_email_domains": [],
        "join_policy": "invite_only",
        "updated_at": got.json()["updated_at"],
    }
    target = await client.get(f"/api/v1/auth/tenants/{tenant.slug}")
    assert target.json()["sign_in_available"] is True


async def test_omitting_the_secret_keeps_the_stored_one(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant, admin = await admin_of_new_tenant(factory)
    await client.put(url(tenant), json=settings_for(app), headers=as_token(admin))
    before = (await stored(factory, tenant)).client_secret_encrypted

    body = settings_for(app, client_id="renamed", join_policy="open")
    del body["client_secret"]
    changed = await client.put(url(tenant), json=body, headers=as_token(admin))
    assert changed.status_code == 200, changed.text
    assert changed.json()["client_secret_set"] is True
    assert changed.json()["client_id"] == "renamed"
    row = await stored(factory, tenant)
    assert row.client_secret_encrypted == before

    # A new secret replaces it.
    await client.put(
        url(tenant), json=settings_for(app, client_secret="another"), headers=as_token(admin)
    )
    box = SecretBox(app.state.settings.secret_key.get_secret_value())
    assert box.decrypt((await stored(factory, tenant)).client_secret_encrypted or "") == "another"


async def test_a_public_client_has_no_secret(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant, admin = await admin_of_new_tenant(factory)
    body = settings_for(app)
    del body["client_secret"]
    created = await client.put(url(tenant), json=body, headers=as_token(admin))
    assert created.status_code == 200, created.text
    assert created.json()["client_secret_set"] is False
    assert (await stored(factory, tenant)).client_secret_encrypted is None


async def test_settings_are_normalised(app: FastAPI, client: httpx.AsyncClient, factory: Factory):
    tenant, admin = await admin_of_new_tenant(factory)
    body = settings_for(
        app,
        scopes=["email", "openid", "email", "groups"],
        allowed_email_domains=[" Example.COM ", "example.com", "sub.example.org"],
        join_policy="open",
    )
    saved = (await client.put(url(tenant), json=body, headers=as_token(admin))).json()
    assert saved["scopes"] == ["openid", "email", "groups"]
    assert saved["allowed_email_domains"] == ["example.com", "sub.example.org"]
    assert saved["join_policy"] == "open"


@pytest.mark.parametrize(
    "issuer",
    [
        "https://idp.example.com",
        # Exactly as given: some providers' issuers end in a slash, and `iss` must match.
        "https://tenant.auth0.example/",
        "https://idp.example.com/realms/Acme",
        "http://localhost:9100/idp",
    ],
)
async def test_the_issuer_is_kept_exactly(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, issuer: str
):
    tenant, admin = await admin_of_new_tenant(factory)
    saved = await client.put(
        url(tenant), json=settings_for(app, issuer=issuer), headers=as_token(admin)
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["issuer"] == issuer
    assert (await stored(factory, tenant)).issuer == issuer


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"issuer": "not a url"}, "issuer"),
        ({"issuer": "ftp://idp.example.com"}, "issuer"),
        ({"issuer": "http://idp.example.com"}, "issuer"),  # plain http off this machine
        ({"issuer": "https://idp.example.com/?tenant=a"}, "issuer"),
        ({"issuer": "https://idp.example.com/#top"}, "issuer"),
        ({"issuer": "https://admin:hunter2@idp.example.com"}, "issuer"),
        ({"issuer": "https://idp.example.com/" + "a" * 500}, "issuer"),
        ({"issuer": ""}, "issuer"),
        ({"client_id": ""}, "client_id"),
        ({"client_id": "x" * 256}, "client_id"),
        ({"client_secret": ""}, "client_secret"),
        ({"client_secret": "é" * 1000}, "client_secret"),  # not a VSCHAR string (RFC 6749)
        ({"allowed_email_domains": ["not a domain"]}, "allowed_email_domains"),
        ({"allowed_email_domains": ["localhost"]}, "allowed_email_domains"),
        ({"allowed_email_domains": ["bad_domain.com"]}, "allowed_email_domains"),
        ({"allowed_email_domains": ["@example.com"]}, "allowed_email_domains"),
        ({"scopes": ["email profile"]}, "scopes"),
        ({"scopes": [""]}, "scopes"),
        ({"scopes": ['em"ail']}, "scopes"),
        ({"scopes": [f"s{i}" for i in range(21)]}, "scopes"),
        ({"join_policy": "anyone"}, "join_policy"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_settings_are_422_problems_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, changes: dict, field: str
):
    tenant, admin = await admin_of_new_tenant(factory)
    body = settings_for(app, **changes)
    refused = await client.put(url(tenant), json=body, headers=as_token(admin))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["status"] == 422
    assert any(error["loc"][:2] == ["body", field] for error in problem["errors"]), problem
    assert "hunter2" not in refused.text
    assert (await client.get(url(tenant), headers=as_token(admin))).status_code == 404
    assert await audit_of(factory, tenant) == []


async def test_changes_are_audited_without_the_secret(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant, admin = await admin_of_new_tenant(factory)
    await client.put(url(tenant), json=settings_for(app), headers=as_token(admin))
    body = settings_for(app, allowed_email_domains=["example.com"])
    del body["client_secret"]
    await client.put(url(tenant), json=body, headers=as_token(admin))

    first, second = await audit_of(factory, tenant)
    row = await stored(factory, tenant)
    for event in (first, second):
        assert event.actor_id == admin.id
        assert event.target_type == "identity_provider"
        assert event.target_id == str(row.id)
        assert SECRET not in str(event.data)
        assert row.client_secret_encrypted not in str(event.data)
        assert event.data["issuer"] == app.state.settings.dev_idp_issuer
    assert set(first.data["changed"]) == {"issuer", "client_id", "client_secret"}
    assert second.data["changed"] == []
    assert second.data["allowed_email_domains"] == ["example.com"]

    listed = await client.get(f"/api/v1/tenants/{tenant.slug}/audit", headers=as_token(admin))
    assert listed.status_code == 200
    assert "identity_provider.updated" in listed.text
    assert SECRET not in listed.text


async def test_the_check_finds_the_development_provider(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory
):
    tenant, admin = await admin_of_new_tenant(factory)
    await client.put(url(tenant), json=settings_for(app), headers=as_token(admin))
    check = await client.post(url(tenant, "/check"), headers=as_token(admin))
    assert check.status_code == 200, check.text
    issuer = app.state.settings.dev_idp_issuer
    assert check.json() == {
        "ok": True,
        "issuer": issuer,
        "detail": "Discovery and keys found.",
        "endpoints": {
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
        },
    }


@pytest.mark.parametrize(
    ("issuer", "detail"),
    [
        # Nothing listens on port 9 (discard) here: a real connection attempt, refused.
        ("http://127.0.0.1:9/idp", "The identity provider could not be reached"),
        # The console itself answers, but not as an identity provider.
        ("http://127.0.0.1:8000/no-idp-here", "discovery document answered HTTP 404"),
        # The development provider's document names its own issuer, not this one.
        ("http://127.0.0.1:8000/dev-idp/", "names a different issuer"),
    ],
)
async def test_the_check_says_readably_why_a_provider_cannot_be_used(
    app: FastAPI, client: httpx.AsyncClient, factory: Factory, issuer: str, detail: str
):
    tenant, admin = await admin_of_new_tenant(factory)
    saved = await client.put(
        url(tenant), json=settings_for(app, issuer=issuer), headers=as_token(admin)
    )
    assert saved.status_code == 200, saved.text
    check = await client.post(url(tenant, "/check"), headers=as_token(admin))
    assert check.status_code == 200, check.text
    result = check.json()
    assert result["ok"] is False
    assert result["issuer"] == issuer
    assert detail in result["detail"]
    assert result["endpoints"] == {}
    assert SECRET not in check.text
