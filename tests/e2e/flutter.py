"""Driving the Flet (Flutter web) dashboard in Chromium through its accessibility DOM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect
except ImportError:  # the suite skips, with the reason, without Playwright
    expect = None  # type: ignore[assignment]
    PlaywrightTimeoutError = TimeoutError  # type: ignore[assignment,misc]

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# With the skwasm renderer the pixels can trail the accessibility DOM a little.
PAINT_DELAY_MS = 400


def enable_semantics(page: Any) -> None:
    """Flutter draws on a canvas; clicking its 1x1 placeholder turns the accessibility DOM on."""
    placeholder = page.locator("flt-semantics-placeholder")
    placeholder.wait_for(state="attached", timeout=30_000)
    placeholder.evaluate("e => e.click()")


def open_dashboard(page: Any, url: str) -> Any:
    """Load a dashboard URL and make it drivable; the navigation's response."""
    response = page.goto(url)
    enable_semantics(page)
    return response


def reload(page: Any) -> None:
    page.reload()
    enable_semantics(page)


def sign_in_button(page: Any) -> Any:
    return page.get_by_role("button", name="Sign in", exact=True)


def sign_in_screen(page: Any, title: str) -> Any:
    """The sign-in card by its heading. Flutter folds the card's texts into one accessible
    name: of the card's group, or of the tenant text field when the card has one."""
    return page.get_by_label(re.compile(rf"^{re.escape(title)}\b")).first


def account_button(page: Any, email: str | None = None) -> Any:
    name = f"Signed in as {email}" if email else re.compile(r"^Signed in as ")
    return page.get_by_role("button", name=name)


def shot(page: Any, name: str) -> Path:
    """Save a screenshot of `page` as artifacts/<name>.png (after the canvas caught up)."""
    page.wait_for_timeout(PAINT_DELAY_MS)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def choose_dev_user(popup: Any, name: str) -> None:
    """On the development identity provider's page (a popup), sign in as the known user
    `name`; returns once the callback has closed the popup."""
    with popup.expect_event("close"):
        popup.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b")).click()


def sign_out(page: Any, email: str) -> None:
    account_button(page, email).click()
    page.get_by_role("menuitem", name="Sign out").click()


def sign_in_as_email(popup: Any, email: str) -> None:
    """On the development identity provider's page (a popup), sign in as any `email` through
    its "Sign in as another user" form (no need to be in its list of known users); returns once
    the callback has closed the popup."""
    form = popup.get_by_role("form", name="Sign in as another user")
    form.get_by_label("Email").fill(email)
    with popup.expect_event("close"):
        form.get_by_role("button", name="Sign in", exact=True).click()


def type_into(field: Any, text: str) -> None:
    """Replace the text of a Flutter text field by typing it, as a user would (`fill()` sets
    the DOM value behind Flutter's back, and its editor does not always take it)."""
    page = field.page
    for _ in range(3):
        try:
            field.click(timeout=3_000)
        except PlaywrightTimeoutError:
            # A semantics node laid over the field (a dialog re-laid out around a multi-line
            # error) takes the click; focusing the field is what a keyboard user does.
            field.focus()
        page.keyboard.press("Control+a")
        page.keyboard.type(text, delay=15)
        try:
            expect(field).to_have_value(text, timeout=2_000)
            return
        except AssertionError:
            continue
    expect(field).to_have_value(text)


def navigate(page: Any, url: str) -> None:
    """Follow a dashboard deep link inside the app already loaded in `page`: a history entry
    and a popstate event, as the browser's back and forward buttons do (the route reaches the
    server like any route change, without reloading Flutter). Use `open_dashboard` to load."""
    page.evaluate(
        """url => {
            history.pushState(history.state, "", url);
            window.dispatchEvent(new PopStateEvent("popstate", {state: history.state}));
        }""",
        url,
    )
    page.wait_for_url(url)
