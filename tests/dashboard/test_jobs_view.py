"""The jobs screen: every job of the tenant newest first, the actions the API allows per status
and role, filters kept in the route, pagination, and live updates from the process's status feed
(one loop per view, started on enter, cancelled on leave and on session close)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from console.dashboard.views import jobs as jobs_view
from console.db import utcnow
from tests.dashboard.conftest import cookies
from tests.dashboard.harness import INVOKE, InProcessBrowser
from tests.dashboard.jobs_helpers import (
    change_job,
    click_in_row,
    count_api_calls,
    feed_subscribers,
    live_tasks,
    progress_of,
    recording_dispatcher,
    row_buttons,
    row_ids,
    row_texts,
    snack_action,
)
from tests.factories import Actor, Factory
from tests.jobs.fakes import RecordingDispatcher, finished_export, finished_import, make_job

pytestmark = pytest.mark.anyio


@pytest.fixture
def recorder(app: FastAPI) -> Iterator[RecordingDispatcher]:
    with recording_dispatcher(app) as dispatcher:
        yield dispatcher


async def open_jobs(
    app: FastAPI, tabs, actor: Actor, slug: str, query: str = ""
) -> InProcessBrowser:
    return await tabs().open(f"/t/{slug}/jobs{query}", cookies(app, actor))


async def test_jobs_are_listed_newest_first_with_the_actions_each_status_allows(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    db, settings = factory.db, app.state.settings
    queued = await make_job(db, tenant.id, status="queued", created_by=member.id)
    running = await make_job(db, tenant.id, kind="import", status="running", created_by=member.id)
    failed = await make_job(db, tenant.id, status="failed", created_by=member.id)
    cancelled = await make_job(db, tenant.id, status="cancelled", created_by=member.id)
    export = await finished_export(db, settings, tenant.id, created_by=member.id)
    report = await finished_import(db, settings, tenant.id, created_by=member.id)

    tab = await open_jobs(app, tabs, member, tenant.slug)

    ids = [str(j.id) for j in (report, export, cancelled, failed, running, queued)]
    assert row_ids(tab) == ids
    assert row_buttons(tab, queued.id) == {"Cancel"}
    assert row_buttons(tab, running.id) == {"Cancel"}
    assert row_buttons(tab, failed.id) == {"Retry"}
    assert row_buttons(tab, cancelled.id) == {"Retry"}
    assert row_buttons(tab, export.id) == {"Download"}
    texts = row_texts(tab, failed.id)
    assert "Failed" in texts  # the status chip says it in words, not colour only
    assert "It broke." in texts
    assert any(t.startswith("Started by Test User") for t in texts)
    assert any(t.startswith("took ") for t in row_texts(tab, export.id))
    assert any(t.startswith("running for ") for t in row_texts(tab, running.id))
    assert any(t.startswith("waiting ") for t in row_texts(tab, queued.id))
    assert tab.crashes == []


async def test_a_viewer_may_download_but_not_cancel_or_retry(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    viewer = await factory.actor(tenant, "viewer")
    running = await make_job(factory.db, tenant.id, status="running", created_by=member.id)
    failed = await make_job(factory.db, tenant.id, status="failed", created_by=member.id)
    export = await finished_export(factory.db, app.state.settings, tenant.id)

    tab = await open_jobs(app, tabs, viewer, tenant.slug)

    assert row_buttons(tab, running.id) == set()
    assert row_buttons(tab, failed.id) == set()
    assert row_buttons(tab, export.id) == {"Download"}


async def test_a_member_cancels_only_their_own_jobs_an_admin_any(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    admin = await factory.actor(tenant, "admin")
    other = await factory.actor(tenant, "member")
    theirs = await make_job(factory.db, tenant.id, status="running", created_by=other.id)

    assert row_buttons(await open_jobs(app, tabs, member, tenant.slug), theirs.id) == set()
    assert row_buttons(await open_jobs(app, tabs, admin, tenant.slug), theirs.id) == {"Cancel"}


async def test_filters_are_in_the_route_and_narrow_the_list(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    failed_export = await make_job(factory.db, tenant.id, status="failed")
    failed_import = await make_job(factory.db, tenant.id, kind="import", status="failed")
    await make_job(factory.db, tenant.id, status="queued")
    tab = await open_jobs(app, tabs, member, tenant.slug)
    assert len(row_ids(tab)) == 3

    status = tab.find("Dropdown", label="Status")
    await tab.send(4, {"id": status["_i"], "props": {"value": "failed"}})
    await tab.event(status, "select", "failed")

    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs?status=failed"
    assert row_ids(tab) == [str(failed_import.id), str(failed_export.id)]

    kind = tab.find("Dropdown", label="Kind")
    await tab.send(4, {"id": kind["_i"], "props": {"value": "export"}})
    await tab.event(kind, "select", "export")

    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs?status=failed&kind=export"
    assert row_ids(tab) == [str(failed_export.id)]
    assert tab.find("Dropdown", label="Status")["value"] == "failed"


async def test_a_deep_link_with_filters_opens_filtered(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await make_job(factory.db, tenant.id, status="failed")
    imported = await make_job(factory.db, tenant.id, kind="import", status="queued")

    tab = await open_jobs(app, tabs, member, tenant.slug, "?kind=import&status=bogus")

    assert row_ids(tab) == [str(imported.id)]
    assert tab.find("Dropdown", label="Kind")["value"] == "import"
    assert tab.find("Dropdown", label="Status")["value"] == "all"


async def test_load_more_pages_through_history(
    app: FastAPI, factory: Factory, tabs, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(jobs_view, "PAGE_SIZE", 2)
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    made = [await make_job(factory.db, tenant.id, status="succeeded") for _ in range(5)]
    tab = await open_jobs(app, tabs, member, tenant.slug)
    assert len(row_ids(tab)) == 2

    await tab.click("Load more")
    await tab.click("Load more")

    assert row_ids(tab) == [str(j.id) for j in reversed(made)]
    assert not tab.find_all("TextButton", text="Load more")


async def test_no_jobs_says_where_they_come_from(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")

    tab = await open_jobs(app, tabs, member, tenant.slug)

    assert tab.has_text("No jobs yet. Export or import projects from the Projects page.")
    tab = await open_jobs(app, tabs, member, tenant.slug, "?status=failed")
    assert tab.has_text("No jobs match these filters.")


async def test_the_header_links_to_jobs(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    tab = await tabs().open(f"/t/{tenant.slug}/projects", cookies(app, member))

    await tab.click("Jobs", "TextButton")

    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs"
    assert tab.find("TextButton", text="Jobs")["tooltip"] == "Jobs (current page)"


# -- live --------------------------------------------------------------------------------------


async def test_progress_and_status_arrive_from_the_feed_without_api_calls_per_tick(
    app: FastAPI, factory: Factory, tabs
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="running", created_by=member.id)
    tab = await open_jobs(app, tabs, member, tenant.slug)
    calls = count_api_calls(tab)

    for done in (1_200, 5_000, 9_000):
        await change_job(
            factory, job.id, progress=done / 10_000, message=f"{done:,} of 10,000 rows"
        )
        await tab.wait_for_text(f"{done:,} of 10,000 rows", within=5)
        assert progress_of(tab, job.id) == pytest.approx(done / 10_000)
    assert calls == []  # progress ticks come from the feed, not the API

    await change_job(
        factory, job.id, status="succeeded", progress=1.0, message="Done", finished_at=utcnow()
    )
    await tab.wait_for(lambda: "Succeeded" in row_texts(tab, job.id), within=5)
    # A status change re-reads the job once: its actions are the API's to decide.
    assert calls == [("GET", f"/api/v1/tenants/{tenant.slug}/jobs/{job.id}")]
    assert row_buttons(tab, job.id) == {"Download"}  # no Cancel any more


async def test_a_new_job_appears_at_the_top_once(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    old = await make_job(factory.db, tenant.id, status="succeeded")
    tab = await open_jobs(app, tabs, member, tenant.slug)
    calls = count_api_calls(tab)

    new = await make_job(factory.db, tenant.id, kind="import", status="queued")
    await tab.wait_for(lambda: str(new.id) in row_ids(tab), within=5)
    await change_job(factory, new.id, status="running", message="Starting…")
    await tab.wait_for(lambda: "Running" in row_texts(tab, new.id), within=5)

    assert row_ids(tab) == [str(new.id), str(old.id)]
    get_new = ("GET", f"/api/v1/tenants/{tenant.slug}/jobs/{new.id}")
    assert calls == [get_new, get_new]  # inserted once; re-read once on its status change


async def test_a_new_job_outside_the_filters_is_not_shown(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    shown = await make_job(factory.db, tenant.id, kind="import", status="queued")
    tab = await open_jobs(app, tabs, member, tenant.slug, "?kind=import")
    calls = count_api_calls(tab)

    await make_job(factory.db, tenant.id, kind="export", status="queued")
    await change_job(factory, shown.id, message="Still waiting")
    await tab.wait_for_text("Still waiting", within=5)

    assert row_ids(tab) == [str(shown.id)]
    assert calls == []


async def test_another_tenants_jobs_never_reach_the_view(app: FastAPI, factory: Factory, tabs):
    tenant, other = await factory.tenant(), await factory.tenant()
    member = await factory.actor(tenant, "member")
    mine = await make_job(factory.db, tenant.id, status="queued")
    tab = await open_jobs(app, tabs, member, tenant.slug)
    calls = count_api_calls(tab)

    theirs = await make_job(factory.db, other.id, status="queued")
    await change_job(factory, mine.id, message="tick")
    await tab.wait_for_text("tick", within=5)

    assert str(theirs.id) not in row_ids(tab)
    assert calls == []


async def test_updates_are_coalesced(
    app: FastAPI, factory: Factory, tabs, monkeypatch: pytest.MonkeyPatch
):
    """However often rows change, a view sends at most a few screen updates a second."""
    monkeypatch.setattr(app.state.job_feed, "interval", 0.02)
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="running")
    tab = await open_jobs(app, tabs, member, tenant.slug)
    before = len(tab.messages)

    loop = asyncio.get_running_loop()
    started = loop.time()
    changes = 60
    for i in range(1, changes + 1):
        await change_job(factory, job.id, progress=i / 1000, message=f"{i} rows")
        await asyncio.sleep(0.01)
    await tab.wait_for_text(f"{changes} rows", within=10)
    elapsed = loop.time() - started

    # Bounded by time, not by the number of changes (a loaded machine only stretches both).
    patches = len(tab.messages) - before
    assert patches <= elapsed / jobs_view.MIN_FLUSH_GAP + 2, (patches, elapsed)


async def test_the_live_loop_stops_when_leaving_and_on_close(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="running")
    before_tasks, before_subs = len(live_tasks()), feed_subscribers(app)

    tab = await open_jobs(app, tabs, member, tenant.slug)
    state = tab.flet_page.data
    view = state.router.current
    await tab.wait_for(lambda: feed_subscribers(app) == before_subs + 1, what="a subscription")
    assert view.task_count == 1
    assert len(live_tasks()) - before_tasks >= 1
    assert app.state.job_feed.running

    await tab.click("Projects", "TextButton")  # navigate away

    assert view.task_count == 0
    await tab.wait_for(lambda: len(live_tasks()) == before_tasks, what="no live task left")
    assert feed_subscribers(app) == before_subs
    assert state.tasks == set()
    # ...and nothing updates the old view any more.
    messages = len(tab.messages)
    await change_job(factory, job.id, message="nobody is watching")
    await asyncio.sleep(3 * app.state.job_feed.interval)
    assert not any("nobody is watching" in t for t in tab.everything_sent().splitlines())
    assert len(tab.messages) == messages

    # Back on the jobs page, then the session closes (tab gone, timeout passed).
    await tab.click("Jobs", "TextButton")
    await tab.wait_for(lambda: feed_subscribers(app) == before_subs + 1, what="a subscription")
    await tab.close()
    await tab.wait_for(lambda: len(live_tasks()) == before_tasks, what="no live task left")
    assert feed_subscribers(app) == before_subs
    if before_subs == 0:
        await tab.wait_for(lambda: not app.state.job_feed.running, what="the poller to stop")


async def test_many_views_share_one_feed_query_per_interval(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    await make_job(factory.db, tenant.id, status="running")
    feed = app.state.job_feed
    for _ in range(5):
        await open_jobs(app, tabs, member, tenant.slug)
    await asyncio.sleep(feed.interval)

    before = feed.queries
    await asyncio.sleep(2.0)
    ran = feed.queries - before

    assert ran <= 2.0 / feed.interval + 1  # one poller, not five


# -- actions -----------------------------------------------------------------------------------


async def test_cancel_asks_the_api_and_says_so(app: FastAPI, factory: Factory, tabs, recorder):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    running = await make_job(factory.db, tenant.id, status="running", created_by=member.id)
    queued = await make_job(factory.db, tenant.id, status="queued", created_by=member.id)
    tab = await open_jobs(app, tabs, member, tenant.slug)

    await click_in_row(tab, running.id, "Cancel")
    assert "Cancel requested." in tab.snackbars()
    assert row_buttons(tab, running.id) == set()  # a cancel is already requested

    await click_in_row(tab, queued.id, "Cancel")
    assert "Cancelled." in tab.snackbars()
    assert "Cancelled" in row_texts(tab, queued.id)
    assert row_buttons(tab, queued.id) == {"Retry"}


async def test_cancelling_a_job_that_just_finished_is_a_friendly_error(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="running", created_by=member.id)
    tab = await open_jobs(app, tabs, member, tenant.slug)
    await change_job(factory, job.id, status="succeeded", finished_at=utcnow())
    job_id = str(job.id)
    view = tab.flet_page.data.router.current
    view.rows[job_id].job["can_cancel"] = True  # clicked before the feed told the view

    await click_in_row(tab, job_id, "Cancel")

    [error] = tab.snackbars()
    assert "already finished" in error
    assert "(request " in error
    assert tab.crashes == []
    assert "Traceback" not in tab.everything_sent()


async def test_retry_creates_a_new_job_and_keeps_the_old(
    app: FastAPI, factory: Factory, tabs, recorder
):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    failed = await make_job(factory.db, tenant.id, status="failed", created_by=member.id)
    tab = await open_jobs(app, tabs, member, tenant.slug)

    await click_in_row(tab, failed.id, "Retry")

    assert "Retried as a new job." in " ".join(tab.snackbars())
    [doorbell] = recorder.sent
    assert row_ids(tab) == [str(doorbell.job_id), str(failed.id)]
    assert "Queued" in row_texts(tab, doorbell.job_id)

    await snack_action(tab, "Retried as a new job.")
    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs/{doorbell.job_id}"


async def test_download_opens_a_signed_link(app: FastAPI, factory: Factory, tabs, client):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    export = await finished_export(
        factory.db, app.state.settings, tenant.id, content="key,name\r\nP1,One\r\n"
    )
    tab = await open_jobs(app, tabs, member, tenant.slug)

    await click_in_row(tab, export.id, "Download export")

    [url] = tab.opened_urls
    # Opened in the dashboard's own tab (an attachment: the page stays): a new tab opened
    # after the round trip to the server is a popup browsers may block.
    [launch] = [b for a, b in tab.messages if a == INVOKE and b["name"] == "launch_url"]
    assert launch["args"]["web_only_window_name"] == "_self"
    assert url.startswith(f"{app.state.settings.public_origin}/api/v1/tenants/{tenant.slug}/")
    assert "signature=" in url
    name = app.state.settings.session_cookie_name
    response = await client.get(url, headers={"Cookie": f"{name}={member.cookie}"})
    assert response.status_code == 200
    assert response.text == "key,name\r\nP1,One\r\n"


async def test_details_opens_the_job(app: FastAPI, factory: Factory, tabs):
    tenant = await factory.tenant()
    member = await factory.actor(tenant, "member")
    job = await make_job(factory.db, tenant.id, status="failed")
    tab = await open_jobs(app, tabs, member, tenant.slug)

    await click_in_row(tab, job.id, "Details")

    assert tab.flet_page.route == f"/t/{tenant.slug}/jobs/{job.id}"
    assert tab.has_text("Export job")


async def test_a_tenant_you_do_not_belong_to_goes_to_its_sign_in(
    app: FastAPI, factory: Factory, tabs
):
    tenant, other = await factory.tenant(), await factory.tenant()
    member = await factory.actor(tenant, "member")
    before = feed_subscribers(app)

    tab = await open_jobs(app, tabs, member, other.slug)

    assert tab.flet_page.route == f"/t/{other.slug}/sign-in"
    assert feed_subscribers(app) == before
