"""The dashboard's frame: a navigation rail in a wide window, a drawer in a narrow one (switched
on resize without reloading the screen's data), sections by role, the theme menu, and the
bundled fallback fonts (in-process sessions)."""

from __future__ import annotations

import flet as ft
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from console.dashboard.controls.navigation import DRAWER_KEY, RAIL_KEY, WIDE_MIN_WIDTH
from console.dashboard.controls.theme import CJK_FONT, EMOJI_FONT, FONTS
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import EVENT, UPDATE, Control, InProcessBrowser, signature
from tests.factories import Factory

pytestmark = pytest.mark.anyio

ALL_SECTIONS = ["Home", "Projects", "Jobs", "Members", "API tokens", "Audit log", "Settings"]
NARROW, WIDE = 600, 1280


async def open_tenant(
    app: FastAPI, factory: Factory, tabs, role: str = "admin", *, operator: bool = False
) -> InProcessBrowser:
    tenant = await factory.tenant(name="Acme Widgets")
    actor = await factory.actor(tenant, role, operator=operator)
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, actor))
    assert tab.crashes == []
    return tab


async def resize(tab: InProcessBrowser, width: int, height: int = 800) -> None:
    """What the browser sends when its window changes size: the page's size, then the event."""
    page_id = tab.flet_page._i
    await tab.send(UPDATE, {"id": page_id, "props": {"width": width, "height": height}})
    await tab.send(
        EVENT, {"target": page_id, "name": "resize", "data": {"width": width, "height": height}}
    )
    await tab.settle()


def rail(tab: InProcessBrowser) -> Control | None:
    found = tab.find_all(key=RAIL_KEY)
    return found[0] if found else None


def drawer(tab: InProcessBrowser) -> Control | None:
    found = tab.find_all("NavigationDrawer", key=DRAWER_KEY)
    return found[0] if found else None


def _buttons(nav: Control) -> list[Control]:
    found: list[Control] = []

    def walk(c: Control) -> None:
        if c.get("_c") == "TextButton":
            found.append(c)
            return
        for v in c.values():
            for child in v if isinstance(v, list) else [v]:
                if isinstance(child, dict) and "_c" in child:
                    walk(child)

    walk(nav)
    return found


def labels(nav: Control) -> list[str]:
    """The destinations' labels (rail: the text under the icon; drawer: the button's text)."""
    texts = []
    for button in _buttons(nav):
        content = button.get("content")
        texts.append(content["controls"][1]["value"] if isinstance(content, dict) else content)
    return texts


def tooltips(nav: Control) -> dict[str, str]:
    """Label → tooltip ("Go to X", or "X (current page)" for the screen on show)."""
    return dict(zip(labels(nav), [b["tooltip"] for b in _buttons(nav)], strict=True))


async def test_a_wide_window_has_a_rail_with_the_tenant_sections(
    app: FastAPI, factory: Factory, tabs
):
    tab = await open_tenant(app, factory, tabs)

    nav = rail(tab)
    assert nav is not None
    assert labels(nav) == ALL_SECTIONS
    assert tooltips(nav)["Projects"] == "Projects (current page)"
    assert tooltips(nav)["Jobs"] == "Go to Jobs"
    assert drawer(tab) is None
    assert tab.find("AppBar", text="Acme Widgets")


async def test_a_narrow_window_has_a_drawer_that_navigates(app: FastAPI, factory: Factory, tabs):
    tab = await open_tenant(app, factory, tabs)
    slug = tab.flet_page.route.split("/")[2]

    await resize(tab, NARROW)

    assert rail(tab) is None
    nav = drawer(tab)
    assert nav is not None
    assert labels(nav) == ALL_SECTIONS
    assert tab.find("Text", value="Acme Widgets")  # the drawer's heading
    await tab.click("Members", "TextButton")
    assert tab.flet_page.route == f"/t/{slug}/members"
    # The next screen is laid out for the same narrow window.
    assert rail(tab) is None
    nav = drawer(tab)
    assert nav is not None
    assert tooltips(nav)["Members"] == "Members (current page)"


async def test_resizing_switches_layout_without_reloading_the_data(
    app: FastAPI, factory: Factory, tabs
):
    tab = await open_tenant(app, factory, tabs)
    state = tab.flet_page.data
    calls: list[str] = []
    real_get = state.api.get

    async def counting_get(path: str, *args, **kwargs):
        calls.append(path)
        return await real_get(path, *args, **kwargs)

    state.api.get = counting_get
    view = state.router.current

    await resize(tab, NARROW)
    assert rail(tab) is None
    assert drawer(tab) is not None
    sent = len(tab.messages)
    await resize(tab, NARROW - 100)  # still narrow: nothing to send
    assert len(tab.messages) == sent
    await resize(tab, WIDE_MIN_WIDTH)
    assert rail(tab) is not None
    assert drawer(tab) is None

    assert calls == []
    assert state.router.current is view  # the same screen, re-laid out
    assert tab.crashes == []
    # What the browser shows is what the server holds after the switches.
    assert signature(tab.server_tree()) == signature(tab.page)


@pytest.mark.parametrize("role", ["viewer", "member"])
async def test_admin_sections_are_only_offered_to_admins(
    app: FastAPI, factory: Factory, tabs, role: str
):
    tab = await open_tenant(app, factory, tabs, role)

    nav = rail(tab)
    assert nav is not None
    assert labels(nav) == ["Home", "Projects", "Jobs", "Members"]
    await resize(tab, NARROW)
    nav = drawer(tab)
    assert nav is not None
    assert labels(nav) == ["Home", "Projects", "Jobs", "Members"]


@pytest.mark.parametrize("operator", [False, True])
async def test_the_operator_console_is_offered_to_operators_only(
    app: FastAPI, factory: Factory, tabs, operator: bool
):
    tab = await open_tenant(app, factory, tabs, "admin", operator=operator)

    nav = rail(tab)
    assert nav is not None
    assert ("Operator console" in labels(nav)) is operator
    if operator:
        await tab.click("Operator console", "TextButton")
        assert tab.flet_page.route == "/operator"
        nav = rail(tab)
        assert nav is not None
        assert tooltips(nav) == {"Operator console": "Operator console (current page)"}


async def test_the_theme_menu_switches_and_is_kept_for_the_session(
    app: FastAPI, factory: Factory, tabs
):
    tab = await open_tenant(app, factory, tabs)
    page = tab.flet_page
    assert page.theme_mode == ft.ThemeMode.SYSTEM
    assert tab.find("PopupMenuButton", tooltip="Theme: System")

    await tab.click("Dark")
    assert page.theme_mode == ft.ThemeMode.DARK
    assert tab.page["theme_mode"] == "dark"
    assert tab.find("PopupMenuButton", tooltip="Theme: Dark")

    await tab.click("Jobs", "TextButton")  # another screen keeps the choice
    assert page.theme_mode == ft.ThemeMode.DARK
    assert tab.find("PopupMenuButton", tooltip="Theme: Dark")
    await tab.click("Light")
    assert page.theme_mode == ft.ThemeMode.LIGHT
    await tab.click("System")
    assert page.theme_mode == ft.ThemeMode.SYSTEM
    assert tab.crashes == []


async def test_both_themes_fall_back_to_the_bundled_fonts(app: FastAPI, factory: Factory, tabs):
    tab = await open_tenant(app, factory, tabs)

    assert set(tab.page["fonts"]) == {CJK_FONT, EMOJI_FONT}
    for name in ("theme", "dark_theme"):
        theme = tab.page[name]
        assert theme["color_scheme_seed"]
        for style in ("body_medium", "title_large", "label_large"):
            assert theme["text_theme"][style]["font_family_fallback"] == [CJK_FONT, EMOJI_FONT]


async def test_the_fonts_are_served_with_the_dashboard(client: AsyncClient):
    for path in FONTS.values():
        response = await client.get(f"/dashboard/{path}")
        assert response.status_code == 200, path
        assert response.content[:4] in (b"wOF2", b"\0\1\0\0"), path
