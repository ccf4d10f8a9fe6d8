"""The tenant settings screen (admins): the identity provider from the API with its secret only as
set / not set, saving (the secret is never sent back to the browser), the API's 422 errors on the
fields, and the sign-in configuration check in plain words."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import ORIGIN, as_token
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Actor, Factory

pytestmark = pytest.mark.anyio

SECRET = "s3cret-of-the-console-client"
NEW_SECRET = "an0ther-secret-entirely"


async def configure(app: FastAPI, tenant_slug: str, admin: Actor, **changes: object) -> None:
    """Save a provider through the API (the app's own development provider by default)."""
    body = {
        "issuer": app.state.settings.dev_idp_issuer,
        "client_id": "console-dev",
        "client_secret": SECRET,
        "allowed_email_domains": ["example.com"],
        **changes,
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        saved = await client.put(
            f"/api/v1/tenants/{tenant_slug}/identity-provider", json=body, headers=as_token(admin)
        )
    assert saved.status_code == 200, saved.text


async def open_settings(app: FastAPI, tabs, actor: Actor, slug: str) -> InProcessBrowser:
    return await tabs().open(f"/t/{slug}/settings", cookies(app, actor))


async def test_the_provider_is_shown_and_the_secret_only_as_set(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await configure(app, tenant.slug, admin)

    tab = await open_settings(app, tabs, admin, tenant.slug)

    assert tab.find("TextField", label="Issuer URL")["value"] == app.state.settings.dev_idp_issuer
    assert tab.find("TextField", label="Client ID")["value"] == "console-dev"
    assert tab.has_text("Client secret: set")
    assert tab.find("TextField", label="New client secret").get("value") in (None, "")
    assert tab.find("TextField", label="New client secret")["password"] is True
    assert tab.find("TextField", label="Scopes")["value"] == "openid email profile"
    assert tab.find("TextField", label="Allowed email domains")["value"] == "example.com"
    assert tab.find("RadioGroup")["value"] == "invite_only"
    for label in ("Issuer URL", "Client ID", "New client secret", "Scopes"):
        assert tab.find(label=label)["tooltip"]
    assert SECRET not in tab.everything_sent()
    assert tab.crashes == []


async def test_an_unconfigured_tenant_says_so(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")

    tab = await open_settings(app, tabs, admin, tenant.slug)

    assert tab.has_text("No identity provider is configured yet")
    assert tab.has_text("Client secret: not set")
    assert tab.find("OutlinedButton", text="Test sign-in configuration")["disabled"] is True
    assert tab.snackbars() == []


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_only_admins_may_change_settings(app: FastAPI, factory: Factory, tabs, role: str):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    actor = await factory.actor(tenant, role)
    await configure(app, tenant.slug, admin)

    tab = await open_settings(app, tabs, actor, tenant.slug)

    assert tab.has_text("Only admins can change tenant settings.")
    assert not tab.find_all(label="Issuer URL")
    assert not tab.find_all("FilledButton", text="Save")
    assert app.state.settings.dev_idp_issuer not in tab.everything_sent()


async def test_saving_replaces_the_secret_and_never_shows_it(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    tab = await open_settings(app, tabs, admin, tenant.slug)

    await tab.fill("Issuer URL", app.state.settings.dev_idp_issuer)
    await tab.fill("Client ID", "console-dev")
    await tab.fill("New client secret", NEW_SECRET)
    await tab.fill("Allowed email domains", "example.com, example.org")
    radio = tab.find("RadioGroup")
    await tab.send(4, {"id": radio["_i"], "props": {"value": "open"}})
    await tab.click("Save")

    assert "Identity provider settings saved." in tab.snackbars()
    assert tab.has_text("Client secret: set")
    assert tab.find("TextField", label="New client secret")["value"] == ""
    assert tab.find("OutlinedButton", text="Test sign-in configuration").get("disabled") is False
    # Reopened, the screen shows what the API now has, and still never the secret.
    tab2 = await open_settings(app, tabs, admin, tenant.slug)
    assert tab2.find("TextField", label="Allowed email domains")["value"] == (
        "example.com, example.org"
    )
    assert tab2.find("RadioGroup")["value"] == "open"
    assert NEW_SECRET not in tab2.everything_sent()


async def test_saving_without_a_new_secret_keeps_the_stored_one(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await configure(app, tenant.slug, admin)
    tab = await open_settings(app, tabs, admin, tenant.slug)

    await tab.fill("Scopes", "openid email")
    await tab.click("Save")

    assert "Identity provider settings saved." in tab.snackbars()
    assert tab.has_text("Client secret: set")
    assert tab.find("TextField", label="Scopes")["value"] == "openid email"
    assert SECRET not in tab.everything_sent()


async def test_the_apis_validation_errors_mark_the_fields(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await configure(app, tenant.slug, admin)
    tab = await open_settings(app, tabs, admin, tenant.slug)

    await tab.fill("Issuer URL", "ftp://idp.example.com")
    await tab.fill("Allowed email domains", "example.com, not_a domain@")
    await tab.click("Save")

    assert tab.find("TextField", label="Issuer URL")["error"]
    assert tab.find("TextField", label="Allowed email domains")["error"]
    assert not tab.find("TextField", label="Client ID").get("error")
    assert tab.snackbars() == []
    assert tab.crashes == []
    assert "Traceback" not in tab.everything_sent()


async def test_the_check_shows_what_the_provider_offers(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    await configure(app, tenant.slug, admin)
    tab = await open_settings(app, tabs, admin, tenant.slug)

    await tab.click("Test sign-in configuration")

    issuer = app.state.settings.dev_idp_issuer
    assert tab.has_text("Sign-in configuration works: Discovery and keys found.")
    assert tab.has_text(f"Issuer: {issuer}")
    assert tab.has_text(f"token endpoint: {issuer}/token")
    assert tab.has_text(f"jwks uri: {issuer}/jwks")


async def test_the_check_says_in_plain_words_why_it_fails(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    admin = await factory.actor(tenant, "admin")
    # Nothing listens on port 9 (discard) here: a real connection attempt, refused.
    await configure(app, tenant.slug, admin, issuer="http://127.0.0.1:9/idp")
    tab = await open_settings(app, tabs, admin, tenant.slug)

    await tab.click("Test sign-in configuration")

    assert tab.has_text("Sign-in configuration does not work.")
    assert tab.has_text("The identity provider could not be reached")
    assert tab.crashes == []
