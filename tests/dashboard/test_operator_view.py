"""The operator console: tenants with counts and status, creating a tenant (validation, API
field errors), suspend/resume with a confirmation, and the health panel's poll task."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from console.tenancy.models import Tenant
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory, unique

pytestmark = pytest.mark.anyio


async def open_console(app: FastAPI, tabs, factory: Factory) -> InProcessBrowser:
    operator = await factory.actor(None, None, operator=True)
    tab = await tabs().open("/operator", cookies(app, operator))
    assert tab.crashes == []
    return tab


async def search(tab: InProcessBrowser, text: str) -> list[list[str]]:
    await tab.fill("Search tenants", text)
    await tab.submit("Search tenants")
    return tab.table()


async def status_of(factory: Factory, slug: str) -> str | None:
    async with factory.db.system_session() as s:
        return await s.scalar(select(Tenant.status).where(Tenant.slug == slug))


async def test_operator_sees_tenants_with_counts_and_health(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    await factory.member(tenant, "admin")
    await factory.project(tenant)
    tab = await open_console(app, tabs, factory)

    assert tab.has_text("System health")
    assert tab.find("TextButton", text="Operator console")  # the header's link
    [row] = await search(tab, tenant.slug)
    assert row[0] == tenant.slug
    assert row[2].startswith("Active")
    assert row[3:5] == ["1", "1"]
    await tab.wait_for_text("Database", within=10)
    for card in ("Broker", "Workers", "Queue", "Sessions"):
        assert tab.has_text(card)
    assert tab.has_text("reachable")
    assert any("in this process" in t for t in tab.texts())
    assert any("answering" in t for t in tab.texts())
    assert all(b.get("tooltip") for b in tab.find_all("IconButton"))


@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_tenant_users_are_refused(app: FastAPI, factory: Factory, tabs, role: str):
    tenant = await factory.tenant()
    actor = await factory.actor(tenant, role)
    tab = await tabs().open("/operator", cookies(app, actor))
    assert tab.has_text("Operators only")
    assert not tab.find_all("FilledButton", text="Create tenant")
    assert not tab.find_all("TextButton", text="Operator console")
    assert tab.flet_page.data.router.current.task_count == 0


async def test_create_tenant_validates_then_creates(app: FastAPI, factory: Factory, tabs):
    tab = await open_console(app, tabs, factory)
    await tab.click("Create tenant")
    await tab.fill("Slug", "Not A Slug")
    await tab.click("Create")
    assert tab.find("TextField", label="Slug")["error"].startswith("Use lowercase")
    assert tab.find("TextField", label="Name")["error"] == "Enter the tenant's name."
    assert tab.find("TextField", label="First admin email")["error"].startswith("Enter an email")

    slug = unique("opco")
    await tab.fill("Slug", slug)
    await tab.fill("Name", "Op Co 🚀")
    await tab.fill("First admin email", f"{slug}@example.com")
    await tab.click("Create")
    assert any(f"Created Op Co 🚀 with {slug}@example.com" in s for s in tab.snackbars())
    assert await status_of(factory, slug) == "active"

    # The same slug again: the API's 409 lands on the slug field.
    await tab.click("Create tenant")
    await tab.fill("Slug", slug)
    await tab.fill("Name", "Again")
    await tab.fill("First admin email", f"{slug}@example.com")
    await tab.click("Create")
    assert "taken" in tab.find("TextField", label="Slug")["error"]


async def test_api_validation_errors_land_on_fields(app: FastAPI, factory: Factory, tabs):
    tab = await open_console(app, tabs, factory)
    await tab.click("Create tenant")
    await tab.fill("Slug", unique("opx"))
    await tab.fill("Name", "X")
    await tab.fill("First admin email", "not@an@email")
    await tab.click("Create")
    assert tab.find("TextField", label="First admin email")["error"]


async def test_suspend_and_resume_with_confirmation(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    tab = await open_console(app, tabs, factory)
    await search(tab, tenant.slug)

    await tab.click("Suspend")
    assert tab.has_text(f"Suspend {tenant.name}?")
    await tab.click("Cancel")
    assert await status_of(factory, tenant.slug) == "active"

    await tab.click("Suspend")
    await tab.click("Suspend", "FilledButton")
    assert await status_of(factory, tenant.slug) == "suspended"
    assert tab.table()[0][2].startswith("Suspended")

    await tab.click("Resume")
    assert tab.has_text(f"Resume {tenant.name}?")
    await tab.click("Resume", "FilledButton")
    assert await status_of(factory, tenant.slug) == "active"
    assert tab.table()[0][2].startswith("Active")


async def test_health_poll_runs_until_the_view_is_left(app: FastAPI, factory: Factory, tabs):
    tab = await open_console(app, tabs, factory)
    state = tab.flet_page.data
    view = state.router.current
    assert view.task_count == 1
    [poll] = list(view._tasks)
    await tab.wait_for_text("Database")
    await tab.event(tab.find("IconButton", tooltip="Refresh health"), "click")
    assert tab.has_text("Sessions")

    await tab.in_session(state.router.go("/tenants"))
    await tab.wait_for(lambda: poll.done(), what="the poll task to end")
    assert poll.cancelled()
    assert view.task_count == 0
