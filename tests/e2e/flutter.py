"""Driving the Flet (Flutter web) dashboard in Chromium through its accessibility DOM."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the browser tests are skipped, with the reason (conftest)
    expect = None  # type: ignore[assignment]

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
