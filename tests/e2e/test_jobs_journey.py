"""Long jobs in the browser: import a CSV through the file chooser (progress, counts, the
problem rows, the full report downloaded), export and download it from the jobs page, cancel a
long import while it runs; another tenant's user cannot download the files.

The journey runs in a tenant of its own ("jobs", its admin Jo Jobs signing in through the
development identity provider) so the demo tenant keeps its four projects for the other tests."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Console
from tests.e2e.flutter import choose_dev_user, expect, open_dashboard, shot, sign_in_button

TENANT = "jobs"
TENANT_NAME = "Jobs Journey Co"
ADMIN_EMAIL = "jo@jobs.example"
ADMIN_NAME = "Jo Jobs"
OTHER = "jobs-other"
OTHER_EMAIL = "olly@other.example"
VALID_ROWS = 3_000
INVALID = [  # (key, name, status) → the line the report names
    ("1BAD", "Starts with a digit", "active"),
    ("NONAME", "", "active"),
    ("BADSTATUS", "Bad status", "paused"),
]
BIG_ROWS = 150_000


@pytest.fixture(scope="module")
def tenant(console: Console) -> dict[str, str]:
    """The journey's tenant and admin, an API token for it, and another tenant's token."""
    console.cli("tenants", "create", TENANT, TENANT_NAME, "--admin-email", ADMIN_EMAIL)
    console.cli("tenants", "create", OTHER, "Other Co", "--admin-email", OTHER_EMAIL)
    token = console.cli(
        "tokens", "create", TENANT, "--email", ADMIN_EMAIL, "--role", "admin"
    ).splitlines()[-1]
    other = console.cli(
        "tokens", "create", OTHER, "--email", OTHER_EMAIL, "--role", "admin"
    ).splitlines()[-1]
    return {"token": token, "other_token": other}


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "name", "description", "status"])
        for key, name, status in rows:
            writer.writerow([key, name, "", status])
    return path


def _sign_in(page: Any, console: Console) -> None:
    open_dashboard(page, console.url(f"/dashboard/t/{TENANT}/sign-in"))
    with page.expect_popup() as opened:
        sign_in_button(page).click()
    popup = opened.value
    popup.wait_for_load_state()
    shot(popup, "jobs-00-dev-idp")
    choose_dev_user(popup, ADMIN_EMAIL)


def _api(console: Console, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=console.base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _wait_for_job(api: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """The job once it finished (polled through the API)."""
    deadline = time.monotonic() + timeout
    while True:
        job = api.get(f"/api/v1/tenants/{TENANT}/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not finish within {timeout:.0f}s: {job}")
        time.sleep(0.2)


def _downloaded(download: Any) -> str:
    path = download.path()
    assert path is not None, download.failure()
    return Path(path).read_text(encoding="utf-8")


def _nav(page: Any, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_import_export_and_cancel_in_the_browser(
    console: Console, tenant: dict[str, str], new_context, tmp_path: Path
):
    context = new_context(accept_downloads=True)
    page = context.new_page()
    _sign_in(page, console)
    expect(page.get_by_text("No projects yet")).to_be_visible()  # Home, of a new tenant
    _nav(page, "Projects")
    expect(page.get_by_text("No projects yet.")).to_be_visible()
    shot(page, "jobs-01-projects-empty")

    # -- import: file chooser → signed upload → the job's page: progress, counts, problems --
    rows = [(f"IMP{i:05d}", f"Imported project {i}", "active") for i in range(VALID_ROWS)]
    source = _write_csv(tmp_path / "projects.csv", rows + INVALID)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import", exact=True).click()
    chooser.value.set_files(str(source))
    expect(page.get_by_text("Import job")).to_be_visible(timeout=30_000)
    assert re.search(rf"/dashboard/t/{TENANT}/jobs/[0-9a-f-]{{36}}$", page.url), page.url
    shot(page, "jobs-02-import-started")
    total = VALID_ROWS + len(INVALID)
    expect(page.get_by_text(f"{total:,} of {total:,} rows")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Succeeded", exact=True)).to_be_visible()
    expect(page.get_by_text(f"{total:,} rows read")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{VALID_ROWS:,}\s+Created$"))).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{len(INVALID)}\s+Failed$"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^File\s+projects\.csv"))).to_be_visible()
    expect(page.get_by_text("Rows with problems")).to_be_visible()
    shot(page, "jobs-03-import-finished")
    first_bad = VALID_ROWS + 2  # the header is line 1
    for offset in range(len(INVALID)):
        expect(page.get_by_role("cell", name=str(first_bad + offset), exact=True)).to_be_attached()
    page.mouse.wheel(0, 1000)
    expect(page.get_by_text("Status must be active or archived", exact=False)).to_be_visible()
    shot(page, "jobs-04-import-problem-rows")

    with page.expect_download() as report_download:
        page.get_by_role("button", name="Download full report").click()
    report = _downloaded(report_download.value)
    assert report_download.value.suggested_filename == "projects-report.csv"
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0][:2] == ["line", "key"], lines[0]
    assert [int(r[0]) for r in lines[1:]] == [first_bad + i for i in range(len(INVALID))]
    assert "Status must be active or archived" in report
    assert len(context.pages) == 1, [p.url for p in context.pages]  # no stray tab
    shot(page, "jobs-05-report-downloaded")

    # -- export: projects → Export → the jobs page → Download ------------------------------
    _nav(page, "Projects")
    expect(page.get_by_text(f"{VALID_ROWS} projects")).to_be_visible()
    page.get_by_role("button", name="Export", exact=True).click()
    # Its snackbar ("Exporting all projects.") is painted but, after a route change, not always
    # in Flutter's accessibility tree: the jobs page is the check.
    shot(page, "jobs-06-export-requested")
    _nav(page, "Jobs")
    export_button = page.get_by_role("button", name="Download export")
    expect(export_button).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"{VALID_ROWS:,} of {VALID_ROWS:,} rows")).to_be_visible()
    shot(page, "jobs-07-jobs-page")
    with page.expect_download() as export_download:
        export_button.click()
    exported = list(csv.reader(io.StringIO(_downloaded(export_download.value))))
    assert exported[0] == ["key", "name", "description", "status", "created_at", "updated_at"]
    assert len(exported) == VALID_ROWS + 1
    assert {r[0] for r in exported[1:]} == {key for key, _, _ in rows}
    assert len(context.pages) == 1, [p.url for p in context.pages]

    # -- cancel: a long import, cancelled from the jobs page while it runs -----------------
    _nav(page, "Projects")
    big = _write_csv(
        tmp_path / "big.csv",
        [(f"BIG{i:06d}", f"Big project {i}", "active") for i in range(BIG_ROWS)],
    )
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import", exact=True).click()
    chooser.value.set_files(str(big))
    running = page.get_by_text(re.compile(rf"^[\d,]+ of {BIG_ROWS:,} rows$"))
    expect(running).to_be_visible(timeout=60_000)
    big_job = page.url.rsplit("/", 1)[-1]
    shot(page, "jobs-08-big-import-running")
    page.get_by_role("button", name="All jobs").click()
    # The jobs page's row (not the detail page still sliding out): its title and Cancel.
    expect(page.get_by_text("Import · big.csv")).to_be_visible()
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    expect(cancel).to_have_count(1)
    expect(page.get_by_role("button", name="All jobs")).to_have_count(0)
    shot(page, "jobs-09-jobs-page-running")
    cancel.click()
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible(timeout=30_000)
    shot(page, "jobs-10-cancelled-in-list")
    with _api(console, tenant["token"]) as api:
        job = _wait_for_job(api, big_job)
        assert job["status"] == "cancelled", job
        assert job["progress"] < 1, job
        projects = api.get(f"/api/v1/tenants/{TENANT}/projects", params={"limit": 1}).json()
    assert job["message"] == f"Cancelled by {ADMIN_EMAIL}", job
    # Stopped part-way: what was committed stays (an import upserts by key, so a retry is safe).
    assert VALID_ROWS <= projects["total"] < VALID_ROWS + BIG_ROWS, projects["total"]
    expect(page.get_by_text(f"Cancelled by {ADMIN_EMAIL}", exact=True)).to_be_visible()
    page.get_by_role("button", name="Details").first.click()
    who = re.compile(rf"^Cancelled by\s+{re.escape(ADMIN_EMAIL)} at \d{{4}}-")
    expect(page.get_by_text(who)).to_be_visible()
    shot(page, "jobs-11-cancelled-detail")


def test_another_tenants_user_cannot_download(console: Console, tenant: dict[str, str]):
    with _api(console, tenant["token"]) as api:
        created = api.post(f"/api/v1/tenants/{TENANT}/jobs/exports", json={})
        assert created.status_code == 202, created.text
        job = _wait_for_job(api, created.json()["id"])
        assert job["status"] == "succeeded", job
        link = api.post(
            f"/api/v1/tenants/{TENANT}/jobs/{job['id']}/download-link", params={"file": "export"}
        )
        assert link.status_code == 200, link.text
        url = link.json()["url"]
        assert api.get(url).status_code == 200
    query = url.split("?", 1)[1]
    with _api(console, tenant["other_token"]) as other:
        # Through its own tenant: no such job there.
        theirs = other.get(f"/api/v1/tenants/{OTHER}/jobs/{job['id']}/download?{query}")
        assert theirs.status_code == 404, theirs.text
        asked = other.post(
            f"/api/v1/tenants/{OTHER}/jobs/{job['id']}/download-link", params={"file": "export"}
        )
        assert asked.status_code == 404, asked.text
        # Through the job's tenant with the owner's own link: not a member there.
        direct = other.get(url)
        assert direct.status_code in (403, 404), direct.text
        assert "Imported" not in direct.text
