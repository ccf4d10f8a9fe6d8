"""A project's page: details, editing with If-Match (and the conflict when someone saved
first), archive/restore, delete with a confirmation naming the project, role-aware controls.
In-process sessions; every change goes through the session's APIClient to the real API."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def open_project(app: FastAPI, factory: Factory, tabs, role: str, **project):
    tenant = await factory.tenant(name="Acme Widgets")
    actor = await factory.actor(tenant, role)
    made = await factory.project(
        tenant, key=project.get("key", "WEB"), name=project.get("name", "Website relaunch")
    )
    tab = await tabs().open(f"/t/{tenant.slug}/projects/{made.id}", cookies(app, actor))
    return tenant, made, tab


def detail(tab: InProcessBrowser, label: str) -> str:
    """The value next to `label` in the details list."""
    rows = [c for c in tab.find_all("Row") if len(c.get("controls", [])) == 2]
    for row in rows:
        texts = [t for c in row["controls"] for t in tab.texts(c)]
        if texts[:1] == [label]:
            return " ".join(texts[1:])
    raise LookupError(label)


async def test_detail_shows_the_project(app: FastAPI, factory: Factory, tabs):
    _, project, tab = await open_project(app, factory, tabs, "viewer")

    assert tab.has_text("WEB — Website relaunch")
    assert detail(tab, "Key") == "WEB"
    assert detail(tab, "Name") == "Website relaunch"
    assert detail(tab, "Status") == "Active"
    assert detail(tab, "Version") == str(project.version)
    assert tab.crashes == []


async def test_a_row_opens_the_detail_page(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    project = await factory.project(tenant, key="WEB", name="Website relaunch")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, viewer))

    await tab.event(tab.find("TextButton", tooltip="Open WEB — Website relaunch"), "click")

    assert tab.flet_page.route == f"/t/{tenant.slug}/projects/{project.id}"
    assert detail(tab, "Name") == "Website relaunch"

    await tab.click("All projects")
    assert tab.flet_page.route == f"/t/{tenant.slug}/projects"


async def test_an_unknown_project_says_so(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    tab = await tabs().open(
        f"/t/{tenant.slug}/projects/00000000-0000-0000-0000-000000000000", cookies(app, viewer)
    )

    assert tab.has_text("This project does not exist or was deleted.")
    assert not tab.find_all(text="Edit")
    assert tab.crashes == []


@pytest.mark.parametrize(
    ("role", "buttons"),
    [
        ("viewer", set()),
        ("member", {"Edit", "Archive"}),
        ("admin", {"Edit", "Archive", "Delete"}),
    ],
)
async def test_controls_follow_the_role(
    app: FastAPI, factory: Factory, tabs, role: str, buttons: set[str]
):
    _, _, tab = await open_project(app, factory, tabs, role)

    shown = {
        name
        for name in ("Edit", "Archive", "Delete")
        if any(name in tab.texts(c) for c in tab.find_all() if c["_c"].endswith("Button"))
    }
    assert shown == buttons


async def test_editing_saves_with_the_loaded_version(app: FastAPI, factory: Factory, tabs):
    _, project, tab = await open_project(app, factory, tabs, "member")

    await tab.click("Edit")
    assert tab.find("AlertDialog", text="Edit WEB")["modal"] is True
    await tab.fill("Name", "Website 2.0")
    await tab.fill("Description", "The new site")
    await tab.click("Save")

    assert not tab.find_all("AlertDialog")
    assert f"Saved WEB (version {project.version + 1})." in tab.snackbars()
    assert detail(tab, "Name") == "Website 2.0"
    assert detail(tab, "Description") == "The new site"
    assert detail(tab, "Version") == str(project.version + 1)


async def test_an_empty_name_is_a_field_error(app: FastAPI, factory: Factory, tabs):
    _, _, tab = await open_project(app, factory, tabs, "member")

    await tab.click("Edit")
    await tab.fill("Name", "   ")
    await tab.click("Save")

    assert tab.find("TextField", label="Name")["error"] == "Enter a name."
    assert tab.find("AlertDialog", text="Edit WEB")
    assert detail(tab, "Name") == "Website relaunch"


async def test_an_edit_conflict_explains_itself_and_reloads(app: FastAPI, factory: Factory, tabs):
    tenant, project, tab = await open_project(app, factory, tabs, "member")
    other = await factory.actor(tenant, "admin")
    theirs = await tabs().open(f"/t/{tenant.slug}/projects/{project.id}", cookies(app, other))

    await tab.click("Edit")
    await tab.fill("Name", "My name")
    await tab.fill("Description", "My careful words")

    await theirs.click("Edit")
    await theirs.fill("Name", "Their name")
    await theirs.click("Save")
    assert detail(theirs, "Version") == str(project.version + 1)

    await tab.click("Save")

    dialog = tab.find("AlertDialog", text="Someone saved this project first")
    text = " ".join(tab.texts(dialog))
    assert f"someone has since saved version {project.version + 1}" in text
    assert "Your description: My careful words" in text
    copy = tab.find("OutlinedButton", text="Copy your text")
    assert copy["action"]["args"] == {"data": "My name\n\nMy careful words"}
    assert detail(tab, "Name") == "Website relaunch"  # nothing overwritten

    await tab.click("Reload")

    assert detail(tab, "Name") == "Their name"
    assert detail(tab, "Version") == str(project.version + 1)
    editor = tab.find("AlertDialog", text="Edit WEB")
    assert f"Editing version {project.version + 1}" in " ".join(tab.texts(editor))
    assert tab.find("TextField", label="Name")["value"] == "Their name"
    assert "Your name: My name" in tab.texts(editor)
    assert "Your description: My careful words" in tab.texts(editor)

    await tab.fill("Name", "Merged name")
    await tab.click("Save")
    assert detail(tab, "Name") == "Merged name"
    assert detail(tab, "Version") == str(project.version + 2)
    assert tab.crashes == []


async def test_archive_and_restore(app: FastAPI, factory: Factory, tabs):
    _, _, tab = await open_project(app, factory, tabs, "member")

    await tab.click("Archive")
    assert detail(tab, "Status") == "Archived"
    assert "Archived WEB — Website relaunch." in tab.snackbars()

    await tab.click("Restore")
    assert detail(tab, "Status") == "Active"
    assert "Restored WEB — Website relaunch." in tab.snackbars()


async def test_archiving_a_stale_version_is_a_conflict(app: FastAPI, factory: Factory, tabs):
    tenant, project, tab = await open_project(app, factory, tabs, "member")
    other = await factory.actor(tenant, "admin")
    theirs = await tabs().open(f"/t/{tenant.slug}/projects/{project.id}", cookies(app, other))
    await theirs.click("Archive")

    await tab.click("Archive")

    assert tab.find("AlertDialog", text="Someone saved this project first")
    await tab.click("Reload")
    assert not tab.find_all("AlertDialog")
    assert detail(tab, "Status") == "Archived"
    assert tab.find_all(text="Restore")


async def test_delete_confirms_naming_the_project(app: FastAPI, factory: Factory, tabs):
    tenant, _, tab = await open_project(app, factory, tabs, "admin")

    await tab.click("Delete")
    dialog = tab.find("AlertDialog", text="Delete WEB — Website relaunch?")
    assert dialog["modal"] is True
    await tab.click("Cancel")
    assert not tab.find_all("AlertDialog")
    assert detail(tab, "Key") == "WEB"

    await tab.click("Delete")
    await tab.click("Delete")

    assert tab.flet_page.route == f"/t/{tenant.slug}/projects"
    assert "Deleted WEB — Website relaunch." in tab.snackbars()
    assert tab.table() == []
    assert tab.has_text("No projects yet.")
