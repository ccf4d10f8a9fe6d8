"""Page lifecycle: a reconnect (F5, network blip) re-validates the cookie from the new handshake
and refreshes the view; sign-out reaches the other tabs of the same browser session."""

from __future__ import annotations

import asyncio
import gc
import warnings

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import as_cookie
from tests.dashboard.conftest import cookies
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_reconnect_after_the_cookie_was_revoked_signs_out(
    app: FastAPI, factory: Factory, tabs, client: httpx.AsyncClient
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    assert tab.find("AppBar", text="Acme Widgets")

    revoked = await client.post("/api/v1/auth/sign-out", headers=as_cookie(member, app))
    assert revoked.status_code == 204
    await tab.reload(cookies(app, member))

    assert tab.flet_page.route == f"/t/{tenant.slug}/sign-in"
    assert tab.has_text("Sign in to Acme Widgets")
    assert "You were signed out." in tab.snackbars()
    assert not tab.find_all("AppBar")
    assert tab.crashes == []


async def test_reconnect_without_the_cookie_signs_out(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))

    await tab.reload(cookies(app))  # the browser dropped the cookie

    assert tab.has_text("Sign in to Acme Widgets")
    assert "You were signed out." in tab.snackbars()


async def test_reconnect_with_a_valid_cookie_refreshes_the_view(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="OLD", name="Before the blip")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    view_before = tab.flet_page.data.router.current
    assert [row[0] for row in tab.table()] == ["OLD"]

    await factory.project(tenant, key="NEW", name="Made while away")
    await tab.reload(cookies(app, member))

    assert [row[0] for row in tab.table()] == ["OLD", "NEW"]
    assert tab.flet_page.data.router.current is view_before  # refreshed, not rebuilt
    assert tab.snackbars() == []


async def test_reconnect_of_an_anonymous_tab_stays_anonymous(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    tab = await tabs().open(f"/t/{tenant.slug}/sign-in", cookies(app))

    await tab.reload(cookies(app))

    assert tab.has_text("Sign in to Acme Widgets")
    assert tab.snackbars() == []


async def test_sign_out_reaches_the_other_tabs_of_the_same_browser(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    same_browser = cookies(app, member)
    first = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    second = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    # The same user signed in on another device: another session, not signed out.
    elsewhere = await tabs().open(
        f"/t/{tenant.slug}/projects", cookies(app, await factory.cookie(member.user))
    )

    await first.click("Sign out", "PopupMenuItem")

    assert first.has_text("Sign in to Acme Widgets")
    assert "You are signed out." in first.snackbars()
    await second.wait_for(lambda: "You signed out in another tab." in second.snackbars())
    await second.wait_for_text("Sign in to Acme Widgets")
    assert not second.find_all("DataTable")
    assert second.flet_page.data.user is None
    assert elsewhere.find("AppBar", text="Acme Widgets")
    assert elsewhere.flet_page.data.user is not None

    # The sign-out was real: the API no longer accepts the cookie.
    await second.reload(same_browser)
    assert second.has_text("Sign in to Acme Widgets")


async def test_a_sign_out_elsewhere_closes_the_open_dialog(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    same_browser = cookies(app, member)
    first = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    second = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    await second.click("New project")

    await first.click("Sign out", "PopupMenuItem")

    await second.wait_for_text("Sign in to Acme Widgets")
    await second.wait_for(lambda: not second.find_all("AlertDialog"), what="the dialog to close")


async def test_a_disconnected_tab_is_signed_out_when_it_comes_back(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    same_browser = cookies(app, member)
    active = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    asleep = await tabs().open(f"/t/{tenant.slug}/projects", same_browser)
    await asleep.disconnect()  # e.g. a laptop lid closed; the session waits for it

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await active.click("Sign out", "PopupMenuItem")
        await asyncio.sleep(0.05)  # the pubsub delivery
        gc.collect()
    # Nothing can run in a disconnected session (Flet's run_task needs the connection).
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []

    await asleep.reload(same_browser)

    assert asleep.has_text("Sign in to Acme Widgets")
    assert "You were signed out." in asleep.snackbars()


async def test_switching_tenant_from_the_header(app: FastAPI, factory: Factory, tabs):
    first = await factory.tenant(name="First Co")
    second = await factory.tenant(name="Second Co")
    user = await factory.member(first, "admin")
    await factory.member(second, "viewer", user=user)
    await factory.project(second, key="S2", name="Second's project")
    tab = await tabs().open(f"/t/{first.slug}/projects", cookies(app, await factory.cookie(user)))
    assert tab.find_all("FilledButton", text="New project")

    await tab.click("Second Co (viewer)", "PopupMenuItem")

    assert tab.flet_page.route == f"/t/{second.slug}/projects"
    assert [row[0] for row in tab.table()] == ["S2"]
    assert not tab.find_all("FilledButton", text="New project")


async def test_switching_tenant_keeps_the_section_the_user_may_open_there(
    app: FastAPI, factory: Factory, tabs
):
    first = await factory.tenant(name="First Co")
    second = await factory.tenant(name="Second Co")
    user = await factory.member(first, "admin")
    await factory.member(second, "viewer", user=user)
    cookie = cookies(app, await factory.cookie(user))

    jobs = await tabs().open(f"/t/{first.slug}/jobs", cookie)
    await jobs.click("Second Co (viewer)", "PopupMenuItem")
    assert jobs.flet_page.route == f"/t/{second.slug}/jobs"

    audit = await tabs().open(f"/t/{first.slug}/audit", cookie)
    await audit.click("Second Co (viewer)", "PopupMenuItem")
    assert audit.flet_page.route == f"/t/{second.slug}/home"  # the audit log is for admins
