"""The dashboard's frame in the browser: a navigation rail in a wide window (keyboard too), a
drawer behind the app bar's menu button in a narrow one; tenants named in Japanese and Korean
with emoji, drawn with the bundled fallback fonts the console serves itself (the machine has no
internet: Flutter's own fallback, Google Fonts, is out of reach)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Console
from tests.e2e.flutter import expect, open_dashboard, shot, sign_in_button

TENANT = "tokyo"
TENANT_NAME = "東京チーム 🚀"
SECOND = "seoul"
SECOND_NAME = "김민준의 서울 팀 🎉"
ADMIN_EMAIL = "minjun@tokyo.example"
FONTS = ("NotoSansCJK-Subset.woff2", "NotoColorEmoji-Subset.ttf")
FONT_URL = re.compile(r"/dashboard/fonts/")
# Where the app bar draws the tenant's name in a wide window.
TITLE = {"x": 0, "y": 0, "width": 240, "height": 56}


@pytest.fixture(scope="module")
def tenant(console: Console) -> str:
    console.cli("tenants", "create", TENANT, TENANT_NAME, "--admin-email", ADMIN_EMAIL)
    console.cli("tenants", "create", SECOND, SECOND_NAME, "--admin-email", ADMIN_EMAIL)
    return TENANT


def _sign_in(page: Any, console: Console) -> None:
    """Through the development identity provider, as a user it does not know."""
    open_dashboard(page, console.url(f"/dashboard/t/{TENANT}/sign-in"))
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    popup.wait_for_load_state()
    form = popup.get_by_role("form", name="Sign in as another user")
    form.get_by_label("Email").fill(ADMIN_EMAIL)
    with popup.expect_event("close"):
        form.get_by_role("button", name="Sign in", exact=True).click()
    expect(_destination(page, "Projects")).to_be_visible()


def _destination(page: Any, label: str) -> Any:
    return page.get_by_role("button", name=label, exact=True)


def test_wide_rail_and_narrow_drawer(console: Console, tenant: str, new_context):
    page = new_context().new_page()
    _sign_in(page, console)
    for label in ("Home", "Projects", "Jobs", "Members", "API tokens", "Audit log", "Settings"):
        expect(_destination(page, label)).to_be_visible()
    expect(page.get_by_role("button", name="Open navigation menu")).to_have_count(0)
    shot(page, "layout-01-wide-rail")

    # The keyboard reaches a destination and opens it.
    _destination(page, "Jobs").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/t/{TENANT}/jobs$"))

    page.set_viewport_size({"width": 600, "height": 800})
    menu = page.get_by_role("button", name="Open navigation menu")
    expect(menu).to_be_visible()
    expect(_destination(page, "Members")).to_have_count(0)  # the rail is gone
    shot(page, "layout-02-narrow")
    menu.click()
    expect(_destination(page, "Members")).to_be_visible()
    shot(page, "layout-03-drawer-open")
    _destination(page, "Members").click()
    expect(page).to_have_url(re.compile(rf"/t/{TENANT}/members$"))
    expect(page.get_by_role("button", name="Open navigation menu")).to_be_visible()

    page.set_viewport_size({"width": 1280, "height": 720})
    expect(_destination(page, "Members")).to_be_visible()
    expect(page.get_by_role("button", name="Open navigation menu")).to_have_count(0)


def test_cjk_and_emoji_names_use_the_bundled_fonts(console: Console, tenant: str, new_context):
    page = new_context().new_page()
    fetched: dict[str, int] = {}
    page.on(
        "response",
        lambda r: (
            fetched.__setitem__(r.url.rsplit("/", 1)[-1], r.status)
            if FONT_URL.search(r.url)
            else None
        ),
    )
    _sign_in(page, console)
    assert {name: fetched.get(name) for name in FONTS} == dict.fromkeys(FONTS, 200)
    page.get_by_role("button", name="Switch tenant").click()
    expect(page.get_by_role("menuitemcheckbox", name=f"{SECOND_NAME} (admin)")).to_be_visible()
    shot(page, "layout-04-cjk-emoji-names")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    with_fonts = page.screenshot(clip=TITLE)

    page.get_by_role("button", name="Theme: System").click()
    page.get_by_role("menuitemcheckbox", name="Dark").click()
    expect(page.get_by_role("button", name="Theme: Dark")).to_be_visible()
    page.wait_for_timeout(1000)  # the menu closes and the colours animate
    shot(page, "layout-05-dark")
    # A new tab (a new session) starts with the theme this browser chose.
    second = page.context.new_page()
    open_dashboard(second, console.url(f"/dashboard/t/{TENANT}/projects"))
    expect(second.get_by_role("button", name="Theme: Dark")).to_be_visible()
    second.close()

    # The same screen without the fonts (as before they were bundled) draws other pixels:
    # boxes where the glyphs were.
    bare = new_context()
    bare.route(FONT_URL, lambda route: route.abort())
    tofu_page = bare.new_page()
    _sign_in(tofu_page, console)
    tofu_page.wait_for_timeout(500)
    shot(tofu_page, "layout-06-without-fonts")
    assert tofu_page.screenshot(clip=TITLE) != with_fonts
