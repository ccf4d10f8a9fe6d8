"""The API tokens screen: admins only, the list with last use, creating (the secret shown once,
with a copy button, and it works as a Bearer token), revoking (in-process sessions)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def open_tokens(app: FastAPI, tabs, actor, slug: str) -> InProcessBrowser:
    tab = await tabs().open(f"/t/{slug}/tokens", cookies(app, actor))
    assert tab.crashes == []
    return tab


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_non_admins_are_told_tokens_are_for_admins(
    app: FastAPI, factory: Factory, tabs, role: str
):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)

    tab = await open_tokens(app, tabs, actor, tenant.slug)

    assert tab.has_text("Only admins of this tenant manage API tokens.")
    assert not tab.find_all("FilledButton", text="New token")
    assert not tab.find_all("IconButton")
    assert tab.snackbars() == []  # no 403 from the API


async def test_lists_tokens_with_last_use(
    app: FastAPI, factory: Factory, tabs, client: httpx.AsyncClient
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")  # has one token (factory), used below
    response = await client.get(
        f"/api/v1/tenants/{tenant.slug}/projects",
        headers={"Authorization": f"Bearer {admin.api_token}"},
    )
    assert response.status_code == 200

    tab = await open_tokens(app, tabs, admin, tenant.slug)

    [row] = tab.table()
    assert row[1] == "Admin"
    assert row[3] != "Never"  # last used: just now
    assert row[5] == "Active"
    assert tab.has_text("1 token, 1 active")
    assert tab.find("IconButton", tooltip=f"Revoke {row[0]}")


async def test_create_shows_the_secret_once_and_it_works(
    app: FastAPI, factory: Factory, tabs, client: httpx.AsyncClient
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await open_tokens(app, tabs, admin, tenant.slug)

    await tab.click("New token")
    await tab.click("Create")  # no name: checked before asking the API
    assert tab.find("TextField", label="Name")["error"].startswith("Give the token a name")

    await tab.fill("Name", "CI deploys")
    role = tab.find("Dropdown", label="Role")
    assert [o["key"] for o in role["options"]] == ["viewer", "member", "admin"]
    await tab.send(4, {"id": role["_i"], "props": {"value": "member"}})
    await tab.click("Create")

    dialog = tab.find("AlertDialog", text="Token CI deploys created")
    assert tab.has_text("it will not be shown again")
    secret = tab.find("TextField", label="Token secret")["value"]
    assert secret.startswith("cnsl_")
    copy = tab.find("OutlinedButton", text="Copy")
    assert copy.get("tooltip")
    assert copy.get("action")
    assert dialog["modal"] is True

    headers = {"Authorization": f"Bearer {secret}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["authenticated_via"] == "token"
    projects = await client.get(f"/api/v1/tenants/{tenant.slug}/projects", headers=headers)
    assert projects.status_code == 200

    await tab.click("Done")
    assert not tab.find_all("AlertDialog")
    assert not tab.has_text(secret)
    assert secret not in str(tab.page)  # the dialog is gone from the page, not just hidden
    names = {row[0]: row for row in tab.table()}
    assert names["CI deploys"][1] == "Member"
    assert tab.crashes == []


async def test_revoking_a_token_asks_first_and_stops_it(
    app: FastAPI, factory: Factory, tabs, client: httpx.AsyncClient
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    token, secret = await factory.api_token(tenant, admin.user, "viewer")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    tab = await open_tokens(app, tabs, admin, tenant.slug)

    await tab.click(f"Revoke {token.name}")
    assert tab.find("AlertDialog", text=f"Revoke {token.name}?")
    await tab.click("Cancel")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200

    await tab.click(f"Revoke {token.name}")
    await tab.click("Revoke", "FilledButton")

    assert f"Revoked {token.name}." in tab.snackbars()
    row = {r[0]: r for r in tab.table()}[token.name]
    assert row[5] == "Revoked"
    assert not tab.find_all("IconButton", tooltip=f"Revoke {token.name}")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
