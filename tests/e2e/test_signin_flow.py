"""Signing in to the demo tenant through the popup (development identity provider), staying
signed in across a reload and in a new tab, signing out; a double click on "Sign in"."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Console
from tests.e2e.flutter import (
    account_button,
    choose_dev_user,
    expect,
    open_dashboard,
    reload,
    shot,
    sign_in_button,
    sign_in_screen,
    sign_out,
)

ADA = "admin@demo.example"
MORGAN = "member@demo.example"


def _cookie(context, name: str) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == name), None)


def _expect_demo_home(page) -> None:
    """Signed in, on the demo tenant's Home: its four projects counted on their tile."""
    expect(page.get_by_role("button", name=re.compile(r"\b4 Active projects$"))).to_be_visible()


def test_sign_in_reload_new_tab_and_sign_out(console: Console, new_context):
    context = new_context()
    page = context.new_page()
    open_dashboard(page, console.url("/dashboard/t/demo/sign-in"))
    expect(sign_in_screen(page, "Sign in to Demo Company")).to_be_visible()
    shot(page, "signin-01-sign-in-screen")

    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    popup.wait_for_load_state()
    assert popup.url.startswith(console.url("/dev-idp/authorize?"))
    shot(popup, "signin-02-dev-idp-popup")
    choose_dev_user(popup, "Ada Admin")

    _expect_demo_home(page)
    expect(account_button(page, ADA)).to_be_visible()
    shot(page, "signin-03-home")
    session = _cookie(context, "console_session")
    assert session is not None
    assert session["httpOnly"]
    assert session["sameSite"] == "Lax"
    assert page.url == console.url("/dashboard/t/demo/home")

    reload(page)
    _expect_demo_home(page)
    shot(page, "signin-04-after-reload")

    tab = context.new_page()
    open_dashboard(tab, console.url("/dashboard/"))
    _expect_demo_home(tab)
    expect(account_button(tab, ADA)).to_be_visible()
    shot(tab, "signin-05-new-tab")

    sign_out(tab, ADA)
    expect(sign_in_button(tab)).to_be_visible()
    expect(tab.get_by_text("You are signed out.")).to_be_visible()
    # The first tab follows the sign-out made in the other one (its snackbar says so for 3 s).
    expect(sign_in_button(page)).to_be_visible()
    expect(account_button(page)).to_have_count(0)
    shot(tab, "signin-06-signed-out")

    reload(page)
    expect(sign_in_button(page)).to_be_visible()
    expect(sign_in_screen(page, "Sign in to Demo Company")).to_be_visible()
    expect(page.get_by_role("cell", name="Website relaunch", exact=True)).to_have_count(0)
    shot(page, "signin-07-signed-out-after-reload")
    # Signing out revokes the session on the server: the cookie the browser still holds (the
    # dashboard signs out over its websocket, so no HTTP response can clear it) is dead.
    for held in (session, _cookie(context, "console_session")):
        if held is not None:
            me = httpx.get(
                console.url("/api/v1/me"), headers={"Cookie": f"console_session={held['value']}"}
            )
            assert me.status_code == 401, me.text


def test_double_click_on_sign_in_shows_no_error_and_signs_in(console: Console, new_context):
    context = new_context()
    callbacks: list[tuple[str, int]] = []
    context.on(
        "response",
        lambda r: callbacks.append((r.url, r.status)) if "/oauth_callback" in r.url else None,
    )
    page = context.new_page()
    open_dashboard(page, console.url("/dashboard/t/demo/sign-in"))
    started = console.sign_ins_started()
    with page.expect_popup() as opened:
        sign_in_button(page).dblclick()  # both clicks reach the server
    popup = opened.value
    popup.wait_for_load_state()
    choose_dev_user(popup, "Morgan Member")

    _expect_demo_home(page)
    # Who is signed in, from the browser's own cookie (the account menu's accessible name can
    # lag the canvas under load).
    held = next(c for c in context.cookies() if c["name"] == "console_session")
    me = httpx.get(
        console.url("/api/v1/me"), headers={"Cookie": f"console_session={held['value']}"}
    )
    assert me.json()["email"] == MORGAN
    shot(page, "doubleclick-01-signed-in")
    for text in ("Something went wrong", "Sign-in did not complete", "Sign-in failed"):
        expect(page.get_by_text(text)).to_have_count(0)
    assert callbacks
    assert all(status < 400 for _, status in callbacks), callbacks
    assert len(context.pages) == 1  # no stray popup left open
    assert console.sign_ins_started() == started + 1  # the second click started nothing


def test_sign_in_clicked_again_while_its_window_is_open(console: Console, new_context):
    """A second "Sign in" opens a second window; finishing the first one still signs the tab
    in (it used to leave the tab signed out, the window saying "reload the page")."""
    context = new_context()
    page = context.new_page()
    open_dashboard(page, console.url("/dashboard/t/demo/sign-in"))
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    first = opened.value
    first.wait_for_load_state()
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    second = opened.value
    second.wait_for_load_state()
    assert first.url != second.url  # two sign-ins, each with its own state

    choose_dev_user(first, "Ada Admin")
    _expect_demo_home(page)
    expect(account_button(page, ADA)).to_be_visible()
    shot(page, "doubleclick-02-older-window-finished")
    # The other window is still at the identity provider; the user may close it.
    assert second.url.startswith(console.url("/dev-idp/authorize?"))
