"""The test browser itself: its control tree, built only from the server's patches, must match
what the session holds — otherwise the other dashboard tests would assert on a fiction."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser, apply_patch, signature
from tests.factories import Factory

pytestmark = pytest.mark.anyio


def assert_mirror_matches(tab: InProcessBrowser) -> None:
    assert tab.page is not None
    assert signature(tab.page) == signature(tab.server_tree())


async def test_the_mirror_follows_every_kind_of_change(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant(name="Acme Widgets")
    member = await factory.actor(tenant, "member")
    await factory.project(tenant, key="WEB", name="Website")

    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))
    assert_mirror_matches(tab)

    await tab.click("New project")  # a dialog added
    await tab.fill("Key", "WEB")
    await tab.fill("Name", "Again")
    await tab.click("Create")  # a field error set in place
    assert_mirror_matches(tab)

    await tab.fill("Key", "API")
    await tab.click("Create")  # dialog closed and dismissed, rows inserted, snackbar added
    assert_mirror_matches(tab)

    await tab.fill("Search projects", "web")
    await tab.submit("Search projects")  # a route change: the whole view replaced
    assert_mirror_matches(tab)

    await tab.reload(cookies(app, member))  # a re-attached session: a full page again
    assert_mirror_matches(tab)


def test_patch_operations():
    tree = {"_i": 1, "_c": "Page", "views": [{"_i": 2, "_c": "View", "controls": []}]}
    table = [0, {"views": [1, {0: [2, {"controls": [3]}]}]}]

    apply_patch(tree, [table, [1, 3, 0, {"_i": 3, "_c": "Text", "value": "a"}]])
    apply_patch(tree, [table, [1, 3, 1, {"_i": 4, "_c": "Text", "value": "b"}]])
    apply_patch(tree, [table, [3, 3, 0, 3, 1]])  # move a after b
    assert [c["value"] for c in tree["views"][0]["controls"]] == ["b", "a"]

    apply_patch(tree, [table, [0, 2, "route", "/x"], [2, 3, 0]])
    assert tree["views"][0]["route"] == "/x"
    assert [c["value"] for c in tree["views"][0]["controls"]] == ["a"]
