"""Users never see a traceback: an unexpected failure in a handler becomes an error snackbar with
a reference that is also in the log; nothing of the exception reaches the browser."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI

from console.dashboard import events
from console.dashboard.router import Router
from tests.dashboard.conftest import cookies, remove_membership
from tests.dashboard.harness import FakeBrowser, InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio

REFERENCE = re.compile(r"^Something went wrong on our side \(reference ([0-9a-f]{12})\)\.$")
SECRET = "kaboom: internal detail 7f3a"


async def aboom(*_: object, **__: object) -> None:
    raise RuntimeError(SECRET)


def assert_nothing_leaked(tab: FakeBrowser) -> None:
    sent = tab.everything_sent()
    assert tab.crashes == []
    assert "Traceback" not in sent
    assert SECRET not in sent
    assert "RuntimeError" not in sent


def the_reference(tab: FakeBrowser, caplog: pytest.LogCaptureFixture) -> str:
    """The reference shown to the user, checked against the logged failure."""
    [message] = [s for s in tab.snackbars() if s.startswith("Something went wrong")]
    match = REFERENCE.match(message)
    assert match, message
    ref = match.group(1)
    logged = [r for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("ref") == ref]
    assert logged, "the reference must be findable in the log"
    assert logged[0].msg["event"] == "dashboard_handler_failed"
    assert logged[0].exc_info is not None  # the traceback is logged, not shown
    return ref


async def signed_in_projects(app: FastAPI, factory: Factory, tabs) -> InProcessBrowser:
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="WEB", name="Website")
    return await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))


async def test_a_failing_click_handler_shows_a_reference(
    app: FastAPI,
    factory: Factory,
    tabs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.ERROR)
    tab = await signed_in_projects(app, factory, tabs)
    await tab.click("New project")
    await tab.fill("Key", "API")
    await tab.fill("Name", "Public API")
    monkeypatch.setattr(tab.flet_page.data.api, "post", aboom)

    await tab.click("Create")

    the_reference(tab, caplog)
    assert_nothing_leaked(tab)
    assert tab.find("AlertDialog", text="New project")  # the user can try again


async def test_a_failing_view_load_after_navigation_shows_a_reference(
    app: FastAPI,
    factory: Factory,
    tabs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.ERROR)
    tab = await signed_in_projects(app, factory, tabs)
    monkeypatch.setattr(tab.flet_page.data.api, "get", aboom)

    await tab.fill("Search projects", "web")
    await tab.submit("Search projects")

    the_reference(tab, caplog)
    assert_nothing_leaked(tab)


async def test_a_failing_navigation_from_not_found_shows_a_reference(
    app: FastAPI,
    factory: Factory,
    tabs,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.ERROR)
    tab = await tabs().open("/nowhere", cookies(app))
    monkeypatch.setattr(Router, "go", aboom)

    await tab.click("Go to the console")

    the_reference(tab, caplog)
    assert_nothing_leaked(tab)


async def test_an_api_401_in_a_handler_signs_out(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    tab.flet_page.data.api.use_session("no-longer-valid")

    await tab.fill("Search projects", "web")
    await tab.submit("Search projects")

    assert "Your session has ended; sign in again." in tab.snackbars()
    assert tab.has_text("Sign in to Acme Widgets")
    assert_nothing_leaked(tab)


async def test_an_api_problem_shows_its_message_and_request_id(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    await remove_membership(factory, member.id)  # the API now refuses

    await tab.click("New project")
    await tab.fill("Key", "API")
    await tab.fill("Name", "Public API")
    await tab.click("Create")

    [message] = tab.snackbars()
    assert re.search(r"\(request [0-9a-f]{12}\)$", message), message
    assert_nothing_leaked(tab)


async def test_a_failing_start_shows_a_plain_message(
    app: FastAPI, tabs, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(events, "load_identity", aboom)

    tab = await tabs().open("/", cookies(app))

    assert tab.has_text("The console could not start this page; reload to try again.")
    assert_nothing_leaked(tab)
