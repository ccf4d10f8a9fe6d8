"""The Home screen in the browser: signing in lands on it, its tiles show the tenant's counts and
its charts render, each readable as text (the screen reader's view of them)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.e2e.conftest import Console
from tests.e2e.flutter import choose_dev_user, expect, open_dashboard, shot, sign_in_button

TENANT = "home"
ADMIN_EMAIL = "hana@home.example"


def _seed(console: Console) -> None:
    """Three projects (one archived) and a finished export, through the API."""
    console.cli("tenants", "create", TENANT, "Home Journey Co", "--admin-email", ADMIN_EMAIL)
    token = console.cli(
        "tokens", "create", TENANT, "--email", ADMIN_EMAIL, "--role", "admin"
    ).splitlines()[-1]
    with httpx.Client(
        base_url=console.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as api:
        base = f"/api/v1/tenants/{TENANT}"
        for key in ("ALPHA", "BETA", "GAMMA"):
            created = api.post(f"{base}/projects", json={"key": key, "name": key.title()})
            assert created.status_code == 201, created.text
        gamma = created.json()
        archived = api.post(
            f"{base}/projects/{gamma['id']}/archive", headers={"If-Match": f'"{gamma["version"]}"'}
        )
        assert archived.status_code == 200, archived.text
        job = api.post(f"{base}/jobs/exports", json={}).json()
        deadline = time.monotonic() + 60
        while api.get(f"{base}/jobs/{job['id']}").json()["status"] != "succeeded":
            assert time.monotonic() < deadline, "the export did not finish"
            time.sleep(0.2)


def tile(page: Any, number: int, label: str) -> Any:
    """A count tile: a button named by its tooltip, number and label."""
    return page.get_by_role("button", name=re.compile(rf"\b{number} {label}$"))


def test_home_shows_the_counts_and_charts(console: Console, new_context: Any) -> None:
    _seed(console)
    page = new_context().new_page()
    open_dashboard(page, console.url(f"/dashboard/t/{TENANT}/sign-in"))
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    popup.wait_for_load_state()
    choose_dev_user(popup, ADMIN_EMAIL)

    expect(tile(page, 2, "Active projects")).to_be_visible(timeout=30_000)
    assert page.url == console.url(f"/dashboard/t/{TENANT}/home")
    expect(tile(page, 1, "Archived project")).to_be_visible()
    expect(tile(page, 1, "Member")).to_be_visible()
    expect(tile(page, 0, "Failed jobs")).to_be_visible()
    # Flutter folds the panels' texts and the charts' labels into one accessible text.
    expect(page.get_by_text(re.compile(r"3 projects created in the last 12 weeks"))).to_be_visible()
    weekly = r"Projects created per week, oldest first: (week of \d+ \w+ \d{4}: 0; ){11}"
    expect(page.get_by_text(re.compile(weekly + r"week of \d+ \w+ \d{4}: 3\."))).to_be_visible()
    jobs = r"Jobs by status: queued 0, running 0, succeeded 1, failed 0, cancelled 0\."
    expect(page.get_by_text(re.compile(jobs)).first).to_be_visible()
    shot(page, "home-01-overview")

    tile(page, 1, "Archived project").click()
    expect(page.get_by_text("Gamma", exact=True)).to_be_visible()
    assert page.url == console.url(f"/dashboard/t/{TENANT}/projects?status=archived")
