"""One job in the jobs list: kind, who, status chip, progress with its message, duration, and
the actions the API allows this user (can_cancel / can_retry / can_download)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import flet as ft

from console.dashboard.controls.job_status import (
    ACTIVE,
    KIND_ICONS,
    KIND_LABELS,
    StatusChip,
    duration_text,
    person,
    progress_caption,
    progress_value,
    when,
)

Action = Callable[[dict[str, Any]], Awaitable[None]]


class JobRow:
    """Controls built once and patched in place as the job changes (`set_job`, `tick`)."""

    def __init__(
        self,
        job: dict[str, Any],
        *,
        on_open: Action,
        on_cancel: Action,
        on_retry: Action,
        on_download: Action,
    ) -> None:
        self.job = job
        self.title = ft.Text(weight=ft.FontWeight.BOLD)
        self.subtitle = ft.Text(size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        self.chip = StatusChip(job["status"])
        self.bar = ft.ProgressBar(value=0, height=6, border_radius=3)
        self.caption = ft.Text(size=12)
        self.duration = ft.Text(size=12, color=ft.Colors.ON_SURFACE_VARIANT)
        self.cancel = ft.OutlinedButton(
            "Cancel", icon=ft.Icons.STOP, on_click=self._bind(on_cancel)
        )
        self.retry = ft.OutlinedButton("Retry", icon=ft.Icons.REPLAY, on_click=self._bind(on_retry))
        self.download = ft.OutlinedButton(
            "Download", icon=ft.Icons.DOWNLOAD, on_click=self._bind(on_download)
        )
        self.details = ft.TextButton("Details", on_click=self._bind(on_open))
        self.control = ft.Container(
            key=f"job-{job['id']}",
            padding=ft.Padding.symmetric(horizontal=16, vertical=12),
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=8,
            content=ft.Column(
                [
                    ft.Row(
                        [
                            ft.Icon(KIND_ICONS.get(job["kind"], ft.Icons.WORK)),
                            ft.Column([self.title, self.subtitle], spacing=2, expand=True),
                            self.chip.control,
                        ],
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    self.bar,
                    ft.Row(
                        [self.caption, self.duration],
                        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                    ),
                    ft.Row(
                        [self.cancel, self.retry, self.download, self.details],
                        alignment=ft.MainAxisAlignment.END,
                        spacing=8,
                    ),
                ],
                spacing=6,
            ),
        )
        self.set_job(job)

    @property
    def id(self) -> str:
        return str(self.job["id"])

    def _bind(self, action: Action) -> Callable[[ft.ControlEvent], Awaitable[None]]:
        async def click(_: ft.ControlEvent) -> None:
            await action(self.job)

        return click

    def set_job(self, job: dict[str, Any]) -> None:
        """Show this state of the job (from the API, or patched from the feed)."""
        self.job = job
        kind = KIND_LABELS.get(job["kind"], job["kind"].title())
        source = job.get("params") or {}
        what = source.get("filename") or (f"filter “{source['q']}”" if source.get("q") else "")
        self.title.value = f"{kind}{f' · {what}' if what else ''}"
        started_by = person(job.get("created_by"))
        self.subtitle.value = f"Started by {started_by} · {when(job['created_at'])}"
        self.chip.set(job["status"])
        value = progress_value(job)
        self.bar.value = value
        self.bar.semantics_label = f"{kind} progress"
        self.bar.color = ft.Colors.RED_700 if job["status"] == "failed" else None
        self.caption.value = progress_caption(job)
        self.caption.color = ft.Colors.ERROR if job["status"] == "failed" else None
        self.cancel.visible = bool(job.get("can_cancel")) and job["status"] in ACTIVE
        self.retry.visible = bool(job.get("can_retry"))
        self.download.visible = bool(job.get("can_download"))
        # Say which file: an export's CSV, or an import's per-row report.
        self.download.content = "Download export" if job["kind"] == "export" else "Download report"
        self.tick()

    def tick(self, now: datetime | None = None) -> None:
        self.duration.value = duration_text(self.job, now)

    @property
    def live(self) -> bool:
        return self.job["status"] in ACTIVE
