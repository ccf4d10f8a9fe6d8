"""A job's page: live state, what it was asked to do, who cancelled it, and its outcome (an
import's counts and report preview, an export's rows and file expiry), with its actions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from console.db import utcnow
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import InProcessBrowser
from tests.dashboard.jobs_helpers import (
    change_job,
    count_api_calls,
    feed_subscribers,
    live_tasks,
    recording_dispatcher,
)
from tests.factories import Actor, Factory
from tests.jobs.fakes import RecordingDispatcher, finished_export, finished_import, make_job

pytestmark = pytest.mark.anyio


@pytest.fixture
def recorder(app: FastAPI) -> Iterator[RecordingDispatcher]:
    with recording_dispatcher(app) as dispatcher:
        yield dispatcher


async def open_job(app: FastAPI, tabs, actor: Actor, slug: str, job_id) -> InProcessBrowser:
    return await tabs().open(f"/t/{slug}/jobs/{job_id}", cookies(app, actor))


def buttons(tab: InProcessBrowser) -> set[str]:
    names = {"Cancel", "Retry", "Download export", "Download full report"}
    return {
        c["content"]
        for c in tab.controls()
        if c["_c"] in ("OutlinedButton", "FilledButton") and c.get("content") in names
    }


async def test_an_import_shows_its_counts_and_report_preview(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(
        factory.db,
        tenant.id,
        kind="import",
        status="succeeded",
        created_by=member.id,
        params={"upload_id": "u", "filename": "projects.csv", "size": 2048},
        result={
            "file": "report",
            "report_filename": "report.csv",
            "rows": 5,
            "created": 2,
            "updated": 1,
            "unchanged": 1,
            "failed": 1,
            "errors_preview": [{"line": 4, "key": "BAD", "error": "name is required"}],
        },
    )

    tab = await open_job(app, tabs, member, tenant.slug, job.id)

    assert tab.has_text("Import job")
    assert tab.has_text("projects.csv (2.0 KiB)")
    assert tab.has_text("5 rows read")
    for label in ("Created", "Updated", "Unchanged", "Failed"):
        assert tab.has_text(label)
    assert tab.table() == [["4", "BAD", "name is required"]]
    assert "Download full report" in buttons(tab)
    # Screen readers (Flutter's accessibility tree, as Chromium showed it): each count with its
    # label as one node, each fact as one readable node (selectable text came out as an empty
    # disabled textbox).
    groups = [c for c in tab.controls() if c["_c"] == "Semantics" and c.get("container")]
    assert any(tab.texts(g) == ["2", "Created"] for g in groups)
    assert any(tab.texts(g) == ["File", "projects.csv (2.0 KiB)"] for g in groups)
    assert not [c for c in tab.controls() if c["_c"] == "Text" and c.get("selectable")]
    assert tab.crashes == []


async def test_the_report_downloads_through_a_signed_link(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await finished_import(factory.db, app.state.settings, tenant.id, created_by=member.id)
    tab = await open_job(app, tabs, member, tenant.slug, job.id)

    await tab.click("Download full report")

    [url] = tab.opened_urls
    assert "file=report" in url
    assert "signature=" in url


async def test_an_export_shows_rows_filter_and_expiry(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await finished_export(factory.db, app.state.settings, tenant.id, created_by=member.id)
    tab = await open_job(app, tabs, member, tenant.slug, job.id)

    assert tab.has_text("Export job")
    assert tab.has_text("all projects")
    assert tab.has_text("1 project exported")
    assert tab.has_text("The file can be downloaded until ")
    await tab.click("Download export")
    [url] = tab.opened_urls
    assert "file=export" in url


async def test_a_failed_job_says_why_and_retries_as_a_new_job(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(
        factory.db,
        tenant.id,
        status="failed",
        created_by=member.id,
        params={"q": "web"},
        error="The file has a column the import does not know: colour.",
    )
    tab = await open_job(app, tabs, member, tenant.slug, job.id)
    assert tab.has_text("The file has a column the import does not know: colour.")
    assert tab.has_text("projects matching search “web”")

    await tab.click("Retry")

    [doorbell] = recorder.sent
    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs/{doorbell.job_id}"
    assert tab.has_text("Retry of")
    assert tab.has_text(str(job.id))


async def test_who_cancelled_is_shown(app: FastAPI, factory: Factory, tabs, recorder):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="queued", created_by=member.id)
    tab = await open_job(app, tabs, member, tenant.slug, job.id)

    await tab.click("Cancel")

    assert "Cancelled." in tab.snackbars()
    assert tab.has_text("Cancelled by")
    assert buttons(tab) == {"Retry"}


async def test_a_viewer_sees_no_cancel_or_retry(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    viewer = await factory.actor(tenant, "viewer")
    running = await make_job(factory.db, tenant.id, status="running")
    failed = await make_job(factory.db, tenant.id, status="failed")

    assert buttons(await open_job(app, tabs, viewer, tenant.slug, running.id)) == set()
    assert buttons(await open_job(app, tabs, viewer, tenant.slug, failed.id)) == set()


async def test_live_progress_then_the_outcome(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, kind="import", status="running")
    tab = await open_job(app, tabs, member, tenant.slug, job.id)
    calls = count_api_calls(tab)

    await change_job(factory, job.id, progress=0.5, message="500 of 1,000 rows")
    await tab.wait_for_text("500 of 1,000 rows", within=5)
    assert calls == []

    await change_job(
        factory,
        job.id,
        status="succeeded",
        progress=1.0,
        message="1,000 rows imported",
        finished_at=utcnow(),
        result={"rows": 1000, "created": 1000, "updated": 0, "unchanged": 0, "failed": 0},
    )
    await tab.wait_for_text("Every row was imported without problems.", within=5)
    assert tab.has_text("1,000 rows read")
    assert len(calls) == 1  # the outcome is read once, through the API


async def test_leaving_the_job_page_stops_its_loop(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="running")
    before_tasks, before_subs = len(live_tasks()), feed_subscribers(app)
    tab = await open_job(app, tabs, member, tenant.slug, job.id)
    await tab.wait_for(lambda: feed_subscribers(app) == before_subs + 1, what="a subscription")

    await tab.click("All jobs")
    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs"
    await tab.wait_for(lambda: feed_subscribers(app) == before_subs + 1)  # the list's own
    await tab.close()

    await tab.wait_for(lambda: len(live_tasks()) == before_tasks, what="no live task left")
    assert feed_subscribers(app) == before_subs


async def test_a_finished_job_needs_no_live_loop(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="succeeded")

    tab = await open_job(app, tabs, member, tenant.slug, job.id)

    assert tab.flet_page.data.router.current.task_count == 0


@pytest.mark.parametrize("job_id", ["00000000-0000-0000-0000-000000000000"])
async def test_an_unknown_or_foreign_job_is_not_found(
    app: FastAPI, factory: Factory, tabs, job_id: str
):
    tenant, other = await factory.tenant(), await factory.tenant()
    member = await factory.actor(tenant, "member")
    theirs = await make_job(factory.db, other.id, status="failed")

    for missing in (job_id, theirs.id):
        tab = await open_job(app, tabs, member, tenant.slug, missing)
        assert tab.has_text("No such job")
        assert tab.snackbars() == []
        assert not tab.has_text("It broke.")
