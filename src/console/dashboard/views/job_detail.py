"""One job: its live state, what it was asked to do, attempts and timestamps, who cancelled it,
and its outcome (an import's counts and per-row report; an export's rows and file)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.job_status import (
    ACTIVE,
    KIND_ICONS,
    KIND_LABELS,
    StatusChip,
    apply_change,
    as_datetime,
    duration_text,
    person,
    progress_caption,
    progress_value,
    when,
)
from console.dashboard.notify import safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant
from console.dashboard.views.jobs import download, follow_feed

REPORT_PREVIEW_ROWS = 50
COUNTS = ("created", "updated", "unchanged", "failed")


def report_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The report preview the import left in its result (line, key, error per row)."""
    for name in ("errors_preview", "report_preview", "errors"):
        rows = result.get(name)
        if isinstance(rows, list):
            return [r for r in rows if isinstance(r, dict)]
    return []


class JobDetailView(BaseView):
    title = "Job"
    section = "jobs"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.job_id = self.params["job_id"]
        self.job: dict[str, Any] | None = None
        self.live: Any = None
        self.loading = ft.ProgressBar(visible=True)
        self.heading = ft.Text("Job", size=24, weight=ft.FontWeight.BOLD)
        self.kind_icon = ft.Icon(ft.Icons.WORK, size=28)
        self.chip = StatusChip("queued")
        self.chip.control.visible = False
        self.bar = ft.ProgressBar(value=0, height=8, border_radius=4, visible=False)
        self.caption = ft.Text()
        self.duration = ft.Text(color=ft.Colors.ON_SURFACE_VARIANT)
        self.cancel = ft.OutlinedButton(
            "Cancel", icon=ft.Icons.STOP, on_click=self._cancel, visible=False
        )
        self.retry = ft.OutlinedButton(
            "Retry", icon=ft.Icons.REPLAY, on_click=self._retry, visible=False
        )
        self.download = ft.FilledButton(
            "Download", icon=ft.Icons.DOWNLOAD, on_click=self._download, visible=False
        )
        self.facts = ft.Column(spacing=4)
        self.outcome = ft.Column(spacing=12)
        return [
            self.loading,
            ft.Container(
                padding=24,
                expand=True,
                content=ft.Column(
                    [
                        ft.TextButton("All jobs", icon=ft.Icons.ARROW_BACK, on_click=self._back),
                        ft.Row(
                            [self.kind_icon, self.heading, self.chip.control],
                            vertical_alignment=ft.CrossAxisAlignment.CENTER,
                            spacing=12,
                        ),
                        self.bar,
                        ft.Row(
                            [self.caption, self.duration],
                            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                        ),
                        ft.Row([self.cancel, self.retry, self.download], spacing=8),
                        ft.Divider(),
                        self.facts,
                        self.outcome,
                    ],
                    spacing=12,
                    scroll=ft.ScrollMode.AUTO,
                ),
            ),
        ]

    # -- lifecycle ---------------------------------------------------------------------------

    @safe
    async def on_enter(self) -> None:
        state = self.state
        if await enter_tenant(self, self.slug, self.loading) is None:
            return
        try:
            uuid.UUID(self.job_id)
            job = await state.api.get_job(self.slug, self.job_id)
        except (ValueError, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status not in (404, 422):
                raise
            self.loading.visible = False
            self.heading.value = "No such job"
            self.caption.value = "This job does not exist in this tenant (or no longer)."
            self.page.update()
            return
        finally:
            self.loading.visible = False
        self.show(job)
        self.page.update()
        if self.live is None and job["status"] in ACTIVE:
            self.live = self.run_task(
                follow_feed,
                self,
                uuid.UUID(str(state.tenant["id"])),
                self._on_changes,
                self._on_tick,
                self.page.update,
            )

    async def on_leave(self) -> None:
        self.live = None
        await super().on_leave()

    # -- live --------------------------------------------------------------------------------

    async def _on_changes(self, changes: list[Any]) -> bool:
        mine = [c for c in changes if str(c.id) == self.job_id]
        if not mine or self.job is None:
            return False
        job = dict(self.job)
        if apply_change(job, mine[-1]):
            job = await self.state.api.get_job(self.slug, self.job_id)
            self.show(job)
        else:
            self.show(job, outcome=False)
        return True

    def _on_tick(self) -> bool:
        if self.job is None or self.job["status"] not in ACTIVE:
            return False
        self.duration.value = duration_text(self.job)
        return True

    # -- rendering ---------------------------------------------------------------------------

    def show(self, job: dict[str, Any], *, outcome: bool = True) -> None:
        """Show this state; `outcome=False` patches only the live parts (progress ticks)."""
        self.job = job
        kind = KIND_LABELS.get(job["kind"], job["kind"].title())
        self.heading.value = f"{kind} job"
        self.kind_icon.icon = KIND_ICONS.get(job["kind"], ft.Icons.WORK)
        self.chip.set(job["status"])
        self.chip.control.visible = True
        self.bar.visible = True
        self.bar.value = progress_value(job)
        self.bar.semantics_label = f"{kind} progress"
        self.bar.color = ft.Colors.RED_700 if job["status"] == "failed" else None
        self.caption.value = progress_caption(job)
        self.caption.color = ft.Colors.ERROR if job["status"] == "failed" else None
        self.duration.value = duration_text(job)
        self.cancel.visible = bool(job.get("can_cancel"))
        self.retry.visible = bool(job.get("can_retry"))
        self.download.visible = bool(job.get("can_download"))
        self.download.content = (
            "Download export" if job["kind"] == "export" else "Download full report"
        )
        if outcome:
            self.facts.controls = self._facts(job)
            self.outcome.controls = self._outcome(job)

    def _facts(self, job: dict[str, Any]) -> list[ft.Control]:
        params = job.get("params") or {}
        facts: list[tuple[str, str]] = []
        if job["kind"] == "export":
            what = [f"search “{params['q']}”"] if params.get("q") else []
            what += [f"status {params['status']}"] if params.get("status") else []
            facts.append(
                ("Exported", "projects matching " + ", ".join(what) if what else "all projects")
            )
        else:
            name = params.get("filename") or params.get("upload_id") or "—"
            size = params.get("size")
            facts.append(("File", f"{name}{f' ({_size(int(size))})' if size else ''}"))
        facts += [
            ("Started by", person(job.get("created_by"))),
            ("Created", when(job.get("created_at"))),
            ("Started", when(job.get("started_at"))),
            ("Finished", when(job.get("finished_at"))),
            ("Attempts", str(job.get("attempts", 0))),
        ]
        if job.get("cancel_requested_at"):
            who = person(job.get("cancelled_by")) if job.get("cancelled_by") else "someone"
            facts.append(("Cancelled by", f"{who} at {when(job['cancel_requested_at'])}"))
        if job.get("retry_of") or params.get("retry_of"):
            facts.append(("Retry of", str(job.get("retry_of") or params.get("retry_of"))))
        if job.get("error"):
            facts.append(("Error", str(job["error"])))
        # One accessible node per fact ("Started by Ada Admin"); not selectable text, whose
        # value Flutter web leaves out of the accessibility tree (an empty disabled textbox).
        return [
            ft.Semantics(
                container=True,
                content=ft.Row(
                    [
                        ft.Text(label, weight=ft.FontWeight.BOLD, width=120),
                        ft.Text(value, expand=True),
                    ]
                ),
            )
            for label, value in facts
        ]

    def _outcome(self, job: dict[str, Any]) -> list[ft.Control]:
        result = job.get("result") or {}
        if not result:
            return []
        if job["kind"] == "export":
            rows = result.get("rows", result.get("row_count"))
            lines: list[ft.Control] = [ft.Text("Result", size=18, weight=ft.FontWeight.BOLD)]
            if rows is not None:
                lines.append(ft.Text(f"{int(rows):,} project{'s' if rows != 1 else ''} exported"))
            expires = as_datetime(result.get("expires_at"))
            finished = as_datetime(job.get("finished_at"))
            if expires is None and finished is not None:
                expires = finished + timedelta(hours=self.state.settings.export_retention_hours)
            if expires is not None:
                verb = "can be downloaded until" if expires > datetime.now(UTC) else "expired on"
                lines.append(ft.Text(f"The file {verb} {when(expires)}."))
            return lines
        counts = [(name, result.get(name)) for name in COUNTS if result.get(name) is not None]
        out: list[ft.Control] = [ft.Text("Result", size=18, weight=ft.FontWeight.BOLD)]
        if isinstance(result.get("rows"), int):
            out.append(ft.Text(f"{result['rows']:,} row{'s' if result['rows'] != 1 else ''} read"))
        if counts:
            out.append(
                ft.Row(
                    [
                        # Each count with its label as one node ("3,000 Created"), not all the
                        # numbers, then all the labels.
                        ft.Semantics(
                            container=True,
                            content=ft.Container(
                                padding=12,
                                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
                                border_radius=8,
                                content=ft.Column(
                                    [
                                        ft.Text(
                                            f"{int(value):,}", size=20, weight=ft.FontWeight.BOLD
                                        ),
                                        ft.Text(name.title()),
                                    ],
                                    spacing=2,
                                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                                ),
                            ),
                        )
                        for name, value in counts
                    ],
                    spacing=12,
                    wrap=True,
                )
            )
        rows = report_rows(result)
        if rows:
            out.append(ft.Text("Rows with problems", weight=ft.FontWeight.BOLD))
            out.append(
                ft.DataTable(
                    columns=[ft.DataColumn(ft.Text(h)) for h in ("Line", "Key", "Error")],
                    rows=[
                        ft.DataRow(
                            cells=[
                                ft.DataCell(ft.Text(str(r.get("line", "")))),
                                ft.DataCell(ft.Text(str(r.get("key") or ""))),
                                ft.DataCell(ft.Text(str(r.get("error", "")))),
                            ]
                        )
                        for r in rows[:REPORT_PREVIEW_ROWS]
                    ],
                )
            )
            total = result.get("failed")
            if isinstance(total, int) and total > min(len(rows), REPORT_PREVIEW_ROWS):
                out.append(
                    ft.Text(
                        f"Showing {min(len(rows), REPORT_PREVIEW_ROWS)} of {total:,}; "
                        "download the full report for every row."
                    )
                )
        elif job["status"] == "succeeded":
            out.append(ft.Text("Every row was imported without problems."))
        return out

    # -- actions -----------------------------------------------------------------------------

    @safe
    async def _back(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(f"/t/{self.slug}/jobs")

    @safe
    async def _cancel(self, _: ft.ControlEvent) -> None:
        job = await self.state.api.cancel_job(self.slug, self.job_id)
        self.show(job)
        self.page.update()
        snack(self.page, "Cancel requested." if job["status"] != "cancelled" else "Cancelled.")

    @safe
    async def _retry(self, _: ft.ControlEvent) -> None:
        new = await self.state.api.retry_job(self.slug, self.job_id)
        snack(self.page, "Retried as a new job.")
        await self.state.router.go(f"/t/{self.slug}/jobs/{new['id']}")

    @safe
    async def _download(self, _: ft.ControlEvent) -> None:
        if self.job is not None:
            await download(self, self.slug, self.job)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"
