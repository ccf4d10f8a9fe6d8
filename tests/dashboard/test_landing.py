"""Where a new dashboard tab lands: the handshake's session cookie decides who it is, the route
decides the screen (in-process Flet sessions running the dashboard's main)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from console.tenancy.models import Tenant
from tests.dashboard.conftest import cookies
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_anonymous_deep_link_shows_the_tenants_sign_in(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    await factory.project(tenant, name="Secret roadmap")

    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app))

    assert tab.has_text("Sign in to Acme Widgets")
    assert tab.find("View")["route"] == f"/t/{tenant.slug}/sign-in"
    assert not tab.find_all("DataTable")
    assert "Secret roadmap" not in tab.everything_sent()
    assert tab.crashes == []


async def test_unknown_tenant_sign_in_says_so(app: FastAPI, tabs):
    tab = await tabs().open("/t/no-such-tenant/projects", cookies(app))

    assert tab.has_text("No tenant 'no-such-tenant'.")
    assert not tab.find_all("FilledButton", text="Sign in")


async def test_signed_in_deep_link_shows_the_tenants_projects(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    viewer = await factory.actor(tenant, "viewer")
    await factory.project(tenant, key="WEB", name="Website")
    await factory.project(tenant, key="API", name="Public API")
    other = await factory.tenant()
    await factory.project(other, key="OTHER", name="Not ours")

    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, viewer))

    assert tab.find("AppBar", text="Acme Widgets")
    assert [row[:3] for row in tab.table()] == [
        ["API", "Public API", "Active"],
        ["WEB", "Website", "Active"],
    ]
    assert tab.has_text("2 projects")
    assert tab.has_text(f"Signed in as {viewer.user.email}")
    assert "Not ours" not in tab.everything_sent()


async def test_the_tenant_root_is_its_home(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")

    tab = await tabs().open(f"/t/{tenant.slug}", cookies(app, member))

    assert tab.flet_page.title == "Home · Console"
    assert tab.has_text("No projects yet")


async def test_home_of_a_user_with_one_tenant_is_its_home(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Only One")
    member = await factory.actor(tenant, "member")

    tab = await tabs().open("/", cookies(app, member))

    assert tab.find("AppBar", text="Only One")
    assert tab.find("View")["route"] == f"/t/{tenant.slug}/home"


async def test_home_of_a_user_with_several_tenants_is_the_picker(
    app: FastAPI, factory: Factory, tabs
):
    first = await factory.tenant(name="First Co")
    second = await factory.tenant(name="Second Co")
    user = await factory.member(first, "admin")
    await factory.member(second, "viewer", user=user)

    tab = await tabs().open("/", cookies(app, await factory.cookie(user)))

    assert tab.has_text("Choose a tenant")
    await tab.click("Second Co", "ListTile")
    assert tab.find("AppBar", text="Second Co")
    assert tab.flet_page.route == f"/t/{second.slug}/home"


async def test_a_tenant_the_sign_in_does_not_open_leads_to_its_sign_in(
    app: FastAPI, factory: Factory, tabs
):
    mine = await factory.tenant()
    member = await factory.actor(mine, "member")
    theirs = await factory.tenant(name="Their Co")
    await factory.project(theirs, name="Their project")

    tab = await tabs().open(f"/t/{theirs.slug}/projects", cookies(app, member))

    assert tab.flet_page.route == f"/t/{theirs.slug}/sign-in"
    assert tab.has_text("Sign in to Their Co")
    assert "Their project" not in tab.everything_sent()


async def test_an_expired_or_unknown_cookie_is_anonymous(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")

    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, "not-a-session"))

    assert tab.has_text("Sign in to Acme Widgets")


async def test_a_suspended_tenants_sign_in_screen_says_so_and_offers_no_sign_in(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant(name="Acme Widgets")
    async with factory.db.system_session() as s:
        await s.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="suspended"))

    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, "not-a-session"))

    assert tab.has_text("Sign in to Acme Widgets")
    assert any("Acme Widgets is suspended" in t for t in tab.texts())
    assert not tab.find_all("FilledButton", text="Sign in")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
async def test_an_unknown_route_shows_not_found(
    app: FastAPI, factory: Factory, tabs, signed_in: bool
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")

    tab = await tabs().open("/no/such/screen", cookies(app, member if signed_in else None))

    assert tab.has_text("Page not found")
    assert tab.has_text("Nothing lives at /no/such/screen.")
    assert tab.flet_page.title == "Not found · Console"

    await tab.click("Go to the console")

    expected = f"/t/{tenant.slug}/home" if signed_in else "/sign-in"
    assert tab.find("View")["route"] == expected
    assert tab.has_text("No projects yet" if signed_in else "Which tenant do you belong to?")
