"""The Home screen: count tiles that lead to their screens, the two charts and their text
alternatives, the empty state of a brand-new tenant, API problems as a snackbar (in-process
sessions over the real API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from console.db import utcnow
from console.projects.models import Project
from console.tenancy.models import Tenant
from tests.dashboard.conftest import cookies, remove_membership
from tests.dashboard.harness import Control, InProcessBrowser
from tests.factories import Factory
from tests.jobs.fakes import make_job

pytestmark = pytest.mark.anyio


async def open_home(
    app: FastAPI, factory: Factory, tabs, tenant: Tenant, role: str = "member"
) -> InProcessBrowser:
    actor = await factory.actor(tenant, role)
    return await tabs().open(f"/t/{tenant.slug}/home", cookies(app, actor))


def tile(tab: InProcessBrowser, key: str) -> list[str]:
    """What a tile shows: its number and label (its tooltip left out)."""
    return tab.texts(tab.find(key=f"tile-{key}"))[1:]


def bars(chart: Control) -> list[float]:
    return [rod["to_y"] for group in chart["groups"] for rod in group["rods"]]


def label_of(tab: InProcessBrowser, start: str) -> str:
    """The screen reader's text of the chart whose semantics label starts with `start`."""
    [label] = [
        c["label"] for c in tab.find_all("Semantics") if c.get("label", "").startswith(start)
    ]
    return label


def this_monday() -> datetime:
    today = utcnow().date()
    return datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), UTC)


async def project_at(factory: Factory, tenant: Tenant, when: datetime) -> None:
    project = await factory.project(tenant)
    async with factory.db.system_session() as s:
        await s.execute(update(Project).where(Project.id == project.id).values(created_at=when))


async def test_tiles_show_the_tenants_numbers(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    for status in ("active", "active", "archived"):
        await factory.project(tenant, status=status)
    await factory.member(tenant, "viewer")
    await factory.invitation(tenant)
    for status in ("running", "queued", "queued", "failed", "succeeded"):
        await make_job(factory.db, tenant.id, status=status)

    tab = await open_home(app, factory, tabs, tenant)

    assert tab.flet_page.title == "Home · Console"
    assert not tab.find_all("ProgressBar")  # loaded: the loading bar is gone
    assert {
        key: tile(tab, key)
        for key in ("active", "archived", "members", "invitations", "running", "queued", "failed")
    } == {
        "active": ["2", "Active projects"],
        "archived": ["1", "Archived project"],
        "members": ["2", "Members"],
        "invitations": ["1", "Pending invitation"],
        "running": ["1", "Running job"],
        "queued": ["2", "Queued jobs"],
        "failed": ["1", "Failed job"],
    }
    assert not tab.has_text("No projects yet")
    assert tab.crashes == []


@pytest.mark.parametrize(
    ("key", "route", "shows"),
    [
        ("failed", "/jobs?status=failed", "It broke."),
        ("archived", "/projects?status=archived", "Old one"),
        ("invitations", "/members", "Pending invitations"),
    ],
)
async def test_a_tile_opens_its_screen(
    app: FastAPI, factory: Factory, tabs, key: str, route: str, shows: str
):
    tenant = await factory.tenant()
    await factory.project(tenant, name="Old one", status="archived")
    await make_job(factory.db, tenant.id, status="failed")
    await factory.invitation(tenant)
    admin = await factory.actor(tenant, "admin")
    tab = await tabs().open(f"/t/{tenant.slug}", cookies(app, admin))

    await tab.event(tab.find(key=f"tile-{key}"), "click")

    assert tab.flet_page.route == f"/t/{tenant.slug}{route}"
    await tab.wait_for_text(shows)


async def test_the_charts_show_projects_per_week_and_jobs_by_status(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    monday = this_monday()
    for when in (monday, monday + timedelta(hours=1), monday - timedelta(weeks=2)):
        await project_at(factory, tenant, when)
    await project_at(factory, tenant, monday - timedelta(weeks=12))  # before the chart
    for status in ("succeeded", "succeeded", "succeeded", "cancelled"):
        await make_job(factory.db, tenant.id, status=status)

    tab = await open_home(app, factory, tabs, tenant, "viewer")

    weekly, jobs = tab.find_all("BarChart")
    assert bars(weekly) == [0] * 9 + [1, 0, 2]
    assert bars(jobs) == [0, 0, 3, 0, 1]  # queued, running, succeeded, failed, cancelled
    weeks = [monday.date() - timedelta(weeks=11 - i) for i in range(12)]
    assert label_of(tab, "Projects created per week") == (
        "Projects created per week, oldest first: "
        + "; ".join(
            f"week of {d.day} {d.strftime('%b')} {d.year}: {n}"
            for d, n in zip(weeks, [0] * 9 + [1, 0, 2], strict=True)
        )
        + "."
    )
    assert label_of(tab, "Jobs by status") == (
        "Jobs by status: queued 0, running 0, succeeded 3, failed 0, cancelled 1."
    )
    assert tab.has_text("3 projects created in the last 12 weeks; 2 this week.")
    assert tab.has_text(f"Week of {monday.day} {monday.strftime('%b')}: 2 projects")  # tooltip


@pytest.mark.parametrize(("role", "can_create"), [("viewer", False), ("member", True)])
async def test_a_brand_new_tenant_shows_the_empty_state(
    app: FastAPI, factory: Factory, tabs, role: str, can_create: bool
):
    tenant = await factory.tenant()

    tab = await open_home(app, factory, tabs, tenant, role)

    assert tab.has_text("No projects yet")
    assert tile(tab, "active") == ["0", "Active projects"]
    assert tab.has_text("No jobs yet.")
    assert not tab.find_all("BarChart")
    assert bool(tab.find_all("FilledButton", text="Create a project")) is can_create
    if can_create:
        await tab.click("Create a project")
        assert tab.flet_page.route == f"/t/{tenant.slug}/projects"
        assert tab.find_all("FilledButton", text="New project")


async def test_an_api_problem_is_a_snackbar_with_its_request(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    actor = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/home", cookies(app, actor))
    await remove_membership(factory, actor.user.id)

    await tab.click("Reload the numbers")

    [error] = tab.snackbars()
    assert error.startswith(f"No tenant '{tenant.slug}' that you belong to."), error
    assert "(request " in error
    assert not tab.find_all("ProgressBar")
    assert tab.crashes == []
    assert "Traceback" not in tab.everything_sent()


async def test_a_suspended_tenant_says_so_on_the_screen_not_only_in_a_snackbar(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant(name="Acme Widgets")
    member = cookies(app, await factory.actor(tenant, "member"))
    tab = await tabs().open(f"/t/{tenant.slug}/home", member)
    async with factory.db.system_session() as s:
        await s.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="suspended"))

    await tab.click("Reload the numbers")

    assert tab.has_text("This tenant is suspended")
    assert any(t.startswith(f"Tenant '{tenant.slug}' is suspended") for t in tab.texts())
    assert tab.snackbars() == []
    assert not tab.find_all("ProgressBar")
    assert tab.find("AppBar", text="Acme Widgets")

    # Resumed: a refresh of the page (same session) builds the screen again.
    async with factory.db.system_session() as s:
        await s.execute(update(Tenant).where(Tenant.id == tenant.id).values(status="active"))
    await tab.reload(member)
    assert not tab.has_text("This tenant is suspended")
    assert tile(tab, "members") == ["1", "Member"]
    assert tab.crashes == []
