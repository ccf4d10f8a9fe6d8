"""A tenant's jobs, newest first, live while the view is open (status feed, one loop a view)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import flet as ft
import structlog

from console.dashboard.api_client import ApiError
from console.dashboard.controls.job_row import JobRow
from console.dashboard.controls.job_status import STATUS_LOOKS, apply_change, as_datetime
from console.dashboard.notify import safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body

log = structlog.get_logger(__name__)

KINDS = {"export": "Exports", "import": "Imports"}
PAGE_SIZE = 25
# At most this many screen updates a second per view, however fast jobs report progress.
MIN_FLUSH_GAP = 0.25
# Durations of running jobs tick this often when nothing else changes.
TICK_SECONDS = 1.0


async def follow_feed(
    view: BaseView,
    tenant_id: uuid.UUID,
    on_changes: Callable[[list[Any]], Awaitable[bool]],
    on_tick: Callable[[], bool],
    flush: Callable[[], None],
) -> None:
    """The view's one live loop: read the process's status feed (no API call, no query of its
    own), hand each batch to `on_changes`, tick durations, and flush the screen at most every
    MIN_FLUSH_GAP s. Runs until the view cancels it (on_leave) or the session does (close)."""
    feed = view.state.job_feed()
    if feed is None:
        log.warning("dashboard_job_feed_missing")
        return
    with feed.subscribe(tenant_id) as sub:
        waiting: asyncio.Future[list[Any]] | None = None
        try:
            while True:
                if waiting is None:
                    waiting = asyncio.ensure_future(sub.next_changes())
                done, _ = await asyncio.wait({waiting}, timeout=TICK_SECONDS)
                changed = False
                try:
                    if waiting in done:
                        finished, waiting = waiting, None
                        if sub.closed:
                            return  # the feed closed it: the process is stopping
                        batch = finished.result()
                        changed = await on_changes(batch)
                    changed = on_tick() or changed
                    if changed:
                        flush()
                except asyncio.CancelledError:
                    raise
                except ApiError as exc:
                    if exc.status in (401, 403, 404):
                        log.info("dashboard_job_feed_stopped", status=exc.status)
                        return
                    log.warning("dashboard_job_feed_api_error", status=exc.status)
                except Exception:
                    log.exception("dashboard_job_feed_failed")
                if changed:
                    await asyncio.sleep(MIN_FLUSH_GAP)  # the feed coalesces meanwhile
        finally:
            if waiting is not None:
                waiting.cancel()


async def download(view: BaseView, slug: str, job: dict[str, Any]) -> None:
    """Ask the API for a signed link (for this user, expiring) and open it in the browser."""
    file = "export" if job["kind"] == "export" else "report"
    link = await view.state.api.download_link(slug, str(job["id"]), file)
    url = link["url"]
    if url.startswith("/"):
        url = view.state.settings.public_origin.rstrip("/") + url
    # In this tab, not a new one: the link answers with an attachment, so the dashboard stays
    # put while the browser saves the file. A new tab opened here, after the round trip to the
    # server, is a popup the browser may block (Safari always does; others once the click's
    # user activation has lapsed), and the download would silently not happen.
    await ft.UrlLauncher().launch_url(url, web_only_window_name="_self")
    snack(view.page, f"Downloading {link.get('filename') or 'the file'}.")


class JobsView(BaseView):
    title = "Jobs"
    section = "jobs"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        status, kind = self.query.get("status"), self.query.get("kind")
        self.status_filter = status if status in STATUS_LOOKS else None
        self.kind_filter = kind if kind in KINDS else None
        self.status_dropdown = ft.Dropdown(
            label="Status",
            value=self.status_filter or "all",
            options=[ft.DropdownOption(key="all", text="All statuses")]
            + [ft.DropdownOption(key=k, text=look.label) for k, look in STATUS_LOOKS.items()],
            on_select=self._filter,
            width=200,
            dense=True,
        )
        self.kind_dropdown = ft.Dropdown(
            label="Kind",
            value=self.kind_filter or "all",
            options=[ft.DropdownOption(key="all", text="All kinds")]
            + [ft.DropdownOption(key=k, text=text) for k, text in KINDS.items()],
            on_select=self._filter,
            width=200,
            dense=True,
        )
        self.loading = ft.ProgressBar(visible=True)
        self.list = ft.Column(spacing=8)
        self.more = ft.TextButton("Load more", on_click=self._more, visible=False)
        self.empty = ft.Text("", visible=False)
        self.rows: dict[str, JobRow] = {}
        self.next_cursor: str | None = None
        self.fetching: set[str] = set()
        self.live: Any = None
        # What the live loop changed since its last flush (updated alone, not the whole page:
        # a page diff costs ~10 ms of CPU per view, a row's a fraction of that).
        self._dirty: dict[int, ft.Control] = {}
        return page_body(
            self.loading,
            ft.Row(
                [
                    ft.Text("Jobs", size=24, weight=ft.FontWeight.BOLD),
                    ft.Row(
                        [self.status_dropdown, self.kind_dropdown],
                        spacing=12,
                        tight=True,
                    ),
                ],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                wrap=True,
            ),
            self.list,
            self.empty,
            self.more,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    @safe
    async def on_enter(self) -> None:
        state = self.state
        if await enter_tenant(self, self.slug, self.loading) is None:
            return
        await self._load(reset=True)
        # Entered through the API (membership checked): now follow the feed, once.
        if self.live is None:
            self.live = self.run_task(
                follow_feed,
                self,
                uuid.UUID(str(state.tenant["id"])),
                self._on_changes,
                self._on_tick,
                self._flush,
            )

    async def on_leave(self) -> None:
        self.live = None
        await super().on_leave()  # cancels the live loop (and anything else this view started)

    # -- loading -----------------------------------------------------------------------------

    async def _load(self, *, reset: bool) -> None:
        self.loading.visible = True
        self.page.update()
        try:
            page = await self.state.api.list_jobs(
                self.slug,
                status=self.status_filter,
                kind=self.kind_filter,
                limit=PAGE_SIZE,
                cursor=None if reset else self.next_cursor,
            )
        finally:
            self.loading.visible = False
        if reset:
            self.rows.clear()
            self.list.controls.clear()
        for job in page["items"]:
            if str(job["id"]) in self.rows:
                self.rows[str(job["id"])].set_job(job)
                continue
            row = self._row(job)
            self.rows[row.id] = row
            self.list.controls.append(row.control)
        self.next_cursor = page["next_cursor"]
        self._show_totals()
        self.page.update()

    def _row(self, job: dict[str, Any]) -> JobRow:
        return JobRow(
            job,
            on_open=self._open,
            on_cancel=self._cancel,
            on_retry=self._retry,
            on_download=self._download,
        )

    def _show_totals(self) -> None:
        self.more.visible = self.next_cursor is not None
        self.empty.visible = not self.rows
        self.empty.value = (
            "No jobs match these filters."
            if self.status_filter or self.kind_filter
            else "No jobs yet. Export or import projects from the Projects page."
        )

    # -- live --------------------------------------------------------------------------------

    def _matches(self, change: Any) -> bool:
        return (self.status_filter is None or change.status == self.status_filter) and (
            self.kind_filter is None or change.kind == self.kind_filter
        )

    async def _on_changes(self, changes: list[Any]) -> bool:
        """Patch shown rows in place; fetch a newly matching job once (API: may this user see
        it, and its can_* for them); re-read a row whose status changed (its actions)."""
        changed = False
        for change in changes:
            job_id = str(change.id)
            row = self.rows.get(job_id)
            if row is not None:
                job = dict(row.job)
                if apply_change(job, change):
                    job = await self._fetch(job_id) or job
                row.set_job(job)
                self._mark(row.control)
                changed = True
            elif self._matches(change) and job_id not in self.fetching and self._fits(change):
                self.fetching.add(job_id)
                try:
                    job = await self._fetch(job_id)
                finally:
                    self.fetching.discard(job_id)
                if job is not None and job_id not in self.rows:
                    self._insert(self._row(job))
                    self._mark(self.list)
                    self._mark(self.empty)
                    changed = True
        return changed

    async def _fetch(self, job_id: str) -> dict[str, Any] | None:
        try:
            return await self.state.api.get_job(self.slug, job_id)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def _fits(self, change: Any) -> bool:
        """A job older than every loaded row belongs on a later page, unless there is none."""
        if self.next_cursor is None or not self.rows:
            return True
        oldest = min(_created(row.job) for row in self.rows.values())
        created = as_datetime(change.created_at)
        return created is not None and created >= oldest

    def _insert(self, row: JobRow) -> None:
        """Newest first: before the first row created earlier than it."""
        position = len(self.list.controls)
        for i, control in enumerate(self.list.controls):
            other = self.rows[control.key.removeprefix("job-")]  # type: ignore[union-attr]
            if _created(other.job) < _created(row.job):
                position = i
                break
        self.rows[row.id] = row
        self.list.controls.insert(position, row.control)
        self._show_totals()

    def _on_tick(self) -> bool:
        ticking = [row for row in self.rows.values() if row.live]
        for row in ticking:
            row.tick()
            self._mark(row.duration)
        return bool(ticking)

    def _mark(self, control: ft.Control) -> None:
        self._dirty[id(control)] = control

    def _flush(self) -> None:
        """Send what changed: the list once if rows came in, else each changed row."""
        dirty, self._dirty = list(self._dirty.values()), {}
        if any(c is self.list for c in dirty):
            dirty = [self.list, self.empty]
        for control in dirty:
            try:
                control.update()
            except RuntimeError:  # no longer on the page (the list was reloaded meanwhile)
                continue

    # -- actions -----------------------------------------------------------------------------

    @safe
    async def _filter(self, _: ft.ControlEvent) -> None:
        query = {
            k: v
            for k, v in (
                ("status", self.status_dropdown.value),
                ("kind", self.kind_dropdown.value),
            )
            if v and v != "all"
        }
        suffix = f"?{urlencode(query)}" if query else ""
        await self.state.router.go(f"/t/{self.slug}/jobs{suffix}")

    @safe
    async def _more(self, _: ft.ControlEvent) -> None:
        await self._load(reset=False)

    @safe
    async def _open(self, job: dict[str, Any]) -> None:
        await self.state.router.go(f"/t/{self.slug}/jobs/{job['id']}")

    @safe
    async def _cancel(self, job: dict[str, Any]) -> None:
        updated = await self.state.api.cancel_job(self.slug, str(job["id"]))
        self._show_job(updated)
        snack(self.page, "Cancel requested." if updated["status"] != "cancelled" else "Cancelled.")

    @safe
    async def _retry(self, job: dict[str, Any]) -> None:
        new = await self.state.api.retry_job(self.slug, str(job["id"]))
        old = await self._fetch(str(job["id"]))
        if old is not None:
            self._show_job(old)
        if str(new["id"]) not in self.rows and self._matches_job(new):
            self._insert(self._row(new))
        self.page.update()
        snack(
            self.page,
            "Retried as a new job.",
            action="View",
            on_action=self._opener(str(new["id"])),
        )

    @safe
    async def _download(self, job: dict[str, Any]) -> None:
        await download(self, self.slug, job)

    def _matches_job(self, job: dict[str, Any]) -> bool:
        return (self.status_filter is None or job["status"] == self.status_filter) and (
            self.kind_filter is None or job["kind"] == self.kind_filter
        )

    def _show_job(self, job: dict[str, Any]) -> None:
        row = self.rows.get(str(job["id"]))
        if row is not None:
            row.set_job(job)
            self.page.update()

    def _opener(self, job_id: str) -> Callable[[Any], Awaitable[None]]:
        @safe
        async def open_job(_: Any) -> None:
            await self.state.router.go(f"/t/{self.slug}/jobs/{job_id}")

        return open_job


def _created(job: dict[str, Any]) -> datetime:
    return as_datetime(job["created_at"]) or datetime.min.replace(tzinfo=UTC)
