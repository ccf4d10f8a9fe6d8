"""The projects screen: role-aware actions, creating through the dialog, search (in-process
sessions; every change goes through the session's APIClient to the real API)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import cookies, remove_membership
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def open_projects(app: FastAPI, factory: Factory, tabs, role: str) -> InProcessBrowser:
    tenant = await factory.tenant(name="Acme Widgets")
    actor = await factory.actor(tenant, role)
    await factory.project(tenant, key="WEB", name="Website")
    return await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, actor))


@pytest.mark.parametrize(
    ("role", "can_create"), [("viewer", False), ("member", True), ("admin", True)]
)
async def test_new_project_is_offered_to_members_not_viewers(
    app: FastAPI, factory: Factory, tabs, role: str, can_create: bool
):
    tab = await open_projects(app, factory, tabs, role)

    assert tab.table()[0][:2] == ["WEB", "Website"]
    assert bool(tab.find_all("FilledButton", text="New project")) is can_create


async def test_creating_a_project_through_the_dialog_adds_it(app: FastAPI, factory: Factory, tabs):
    tab = await open_projects(app, factory, tabs, "member")

    await tab.click("New project")
    dialog = tab.find("AlertDialog", text="New project")
    assert dialog["modal"] is True
    await tab.fill("Key", "api")
    await tab.fill("Name", "Public API")
    await tab.fill("Description", "The REST API")
    await tab.click("Create")

    assert not tab.find_all("AlertDialog")
    assert "Created API." in tab.snackbars()
    assert [row[:2] for row in tab.table()] == [["API", "Public API"], ["WEB", "Website"]]
    assert tab.has_text("2 projects")


async def test_a_duplicate_key_is_a_field_error_not_a_traceback(
    app: FastAPI, factory: Factory, tabs
):
    tab = await open_projects(app, factory, tabs, "member")

    await tab.click("New project")
    await tab.fill("Key", "WEB")
    await tab.fill("Name", "Second website")
    await tab.click("Create")

    key = tab.find("TextField", label="Key")
    assert key["error"] == "A project with key WEB already exists in this tenant."
    assert tab.find("AlertDialog", text="New project")  # still open, to fix the key
    assert tab.snackbars() == []
    assert tab.crashes == []
    assert "Traceback" not in tab.everything_sent()
    assert [row[:2] for row in tab.table()] == [["WEB", "Website"]]

    await tab.fill("Key", "WEB2")
    await tab.click("Create")
    assert not tab.find_all("AlertDialog")
    assert [row[0] for row in tab.table()] == ["WEB2", "WEB"]


async def test_invalid_input_marks_the_fields(app: FastAPI, factory: Factory, tabs):
    tab = await open_projects(app, factory, tabs, "member")

    await tab.click("New project")
    await tab.click("Create")  # nothing filled in

    assert tab.find("TextField", label="Key").get("error")
    assert tab.find("TextField", label="Name").get("error")
    assert tab.crashes == []


async def test_cancel_closes_the_dialog_without_creating(app: FastAPI, factory: Factory, tabs):
    tab = await open_projects(app, factory, tabs, "member")

    await tab.click("New project")
    await tab.fill("Key", "NOPE")
    await tab.click("Cancel")

    assert not tab.find_all("AlertDialog")
    assert [row[0] for row in tab.table()] == ["WEB"]


async def test_cancel_after_an_error_closes_the_dialog_not_the_error(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    await tab.click("New project")
    await tab.fill("Key", "API")
    await tab.fill("Name", "Public API")
    await remove_membership(factory, member.id)  # the API now refuses: a problem, no field
    await tab.click("Create")
    [error] = tab.snackbars()
    assert error.startswith(f"No tenant '{tenant.slug}' that you belong to. (request "), error

    await tab.click("Cancel")

    assert not tab.find_all("AlertDialog")
    assert tab.snackbars() == [error]


async def test_search_filters_and_is_in_the_route(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="TJ", name="Tom & Jerry")
    await factory.project(tenant, key="TS", name="Tom Sawyer")
    await factory.project(tenant, key="HF", name="Huckleberry Finn")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))

    await tab.fill("Search projects", "Tom & J")
    await tab.submit("Search projects")

    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?q=Tom+%26+J"
    assert [row[1] for row in tab.table()] == ["Tom & Jerry"]
    assert tab.find("TextField", label="Search projects")["value"] == "Tom & J"

    await tab.fill("Search projects", "")
    await tab.submit("Search projects")

    assert tab.flet_page.route == f"/t/{tenant.slug}/projects"
    assert len(tab.table()) == 3


async def test_a_search_deep_link_opens_filtered(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="TS", name="Tom Sawyer")
    await factory.project(tenant, key="HF", name="Huckleberry Finn")

    tab = await tabs().open(f"/t/{tenant.slug}/projects?q=huck", cookies(app, member))

    assert [row[1] for row in tab.table()] == ["Huckleberry Finn"]
    assert tab.find("TextField", label="Search projects")["value"] == "huck"


async def test_search_with_no_match_says_so(app: FastAPI, factory: Factory, tabs):
    tab = await open_projects(app, factory, tabs, "viewer")

    await tab.fill("Search projects", "zzz")
    await tab.submit("Search projects")

    assert tab.table() == []
    assert tab.has_text("No projects match “zzz”.")
    assert not tab.has_text("0 projects")


async def choose(tab: InProcessBrowser, label: str, value: str) -> None:
    """Pick `value` in the dropdown labelled `label`, as the client does."""
    dropdown = tab.find("Dropdown", label=label)
    await tab.send(4, {"id": dropdown["_i"], "props": {"value": value}})
    await tab.event(dropdown, "select", value)


async def test_status_filter_and_sort_are_in_the_route(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="AAA", name="Alpha")
    await factory.project(tenant, key="BBB", name="Beta", status="archived")
    await factory.project(tenant, key="CCC", name="Gamma")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    assert [row[0] for row in tab.table()] == ["AAA", "BBB", "CCC"]

    await choose(tab, "Status", "active")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?status=active"
    assert [row[0] for row in tab.table()] == ["AAA", "CCC"]

    await choose(tab, "Sort by", "-key")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?status=active&sort=-key"
    assert [row[0] for row in tab.table()] == ["CCC", "AAA"]
    assert tab.find("Dropdown", label="Status")["value"] == "active"

    await tab.fill("Search projects", "gam")
    await tab.submit("Search projects")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?q=gam&status=active&sort=-key"
    assert [row[0] for row in tab.table()] == ["CCC"]

    await tab.fill("Search projects", "")
    await tab.submit("Search projects")
    await choose(tab, "Status", "archived")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?status=archived&sort=-key"
    assert [row[:3] for row in tab.table()] == [["BBB", "Beta", "Archived"]]

    await choose(tab, "Status", "all")
    await choose(tab, "Sort by", "name")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects"
    assert len(tab.table()) == 3


async def test_a_filter_deep_link_opens_filtered_and_sorted(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await factory.project(tenant, key="AAA", name="Alpha", status="archived")
    await factory.project(tenant, key="BBB", name="Beta", status="archived")
    await factory.project(tenant, key="CCC", name="Gamma")

    tab = await tabs().open(
        f"/t/{tenant.slug}/projects?status=archived&sort=-name", cookies(app, viewer)
    )

    assert [row[0] for row in tab.table()] == ["BBB", "AAA"]
    assert tab.find("Dropdown", label="Status")["value"] == "archived"
    assert tab.find("Dropdown", label="Sort by")["value"] == "-name"

    bogus = await tabs().open(
        f"/t/{tenant.slug}/projects?status=bogus&sort=nope", cookies(app, viewer)
    )
    assert [row[0] for row in bogus.table()] == ["AAA", "BBB", "CCC"]
    assert bogus.find("Dropdown", label="Status")["value"] == "all"
    assert bogus.crashes == []


async def test_no_archived_projects_says_so(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await factory.project(tenant, key="AAA", name="Alpha")

    tab = await tabs().open(f"/t/{tenant.slug}/projects?status=archived", cookies(app, viewer))

    assert tab.table() == []
    assert tab.has_text("No archived projects.")


async def test_pages_are_in_the_route_and_walk_back_and_forth(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    for n in range(60):
        await factory.project(tenant, key=f"K{n:03d}", name=f"Project {n:03d}")
    tab = await tabs().open(f"/t/{tenant.slug}/projects?sort=key", cookies(app, viewer))
    assert tab.has_text("Showing 1 to 25 of 60 projects")
    shown = [b for b in ("First page", "Previous page", "Next page") if tab.find_all(text=b)]
    assert shown == ["Next page"]

    await tab.click("Next page")
    second = tab.flet_page.route
    assert second.startswith(f"/t/{tenant.slug}/projects?sort=key&cursor=")
    assert second.endswith("&page=2")
    assert tab.table()[0][0] == "K025"
    assert tab.has_text("Showing 26 to 50 of 60 projects")

    await tab.click("Next page")
    assert tab.flet_page.route.endswith("&page=3")
    assert [row[0] for row in tab.table()] == [f"K{n:03d}" for n in range(50, 60)]
    assert not tab.find_all("OutlinedButton", text="Next page")

    await tab.click("Previous page")
    assert tab.flet_page.route == second
    assert tab.table()[0][0] == "K025"

    await tab.click("Previous page")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects?sort=key"
    assert tab.table()[0][0] == "K000"

    # A page opened from a link knows no page before it: it offers the first page instead.
    linked = await tabs().open(second, cookies(app, viewer))
    assert linked.table()[0][0] == "K025"
    assert not linked.find_all("OutlinedButton", text="Previous page")
    await linked.click("First page")
    assert linked.flet_page.route == f"/t/{tenant.slug}/projects?sort=key"


async def test_a_broken_page_link_is_an_error_not_a_crash(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await factory.project(tenant, key="AAA", name="Alpha")

    tab = await tabs().open(
        f"/t/{tenant.slug}/projects?cursor=not-a-cursor&page=2", cookies(app, viewer)
    )

    assert tab.crashes == []
    assert any("cursor" in s.lower() for s in tab.snackbars())


async def test_choosing_projects_again_reloads_in_place(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    await factory.project(tenant, key="AAA", name="Alpha")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, viewer))
    view = tab.flet_page.data.router.current
    kept = view.table.rows[0]
    await factory.project(tenant, key="BBB", name="Beta")

    await tab.event(tab.find(tooltip="Projects (current page)"), "click")

    assert tab.flet_page.data.router.current is view  # not built again
    assert [row[0] for row in tab.table()] == ["AAA", "BBB"]
    assert view.table.rows[0] is kept  # an unchanged project's row is not sent again
    assert not tab.find_all("ProgressBar")
