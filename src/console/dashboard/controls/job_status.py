"""Pieces that show a job's state: the status chip, progress, durations, names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import flet as ft


@dataclass(frozen=True)
class StatusLook:
    label: str
    icon: ft.IconData
    color: str


# Chip backgrounds dark enough for white 12 px text (WCAG AA, >= 4.5:1): amber, light blue
# and blue-grey 400 were 2.3-3.7:1, hard to read in the browser.
STATUS_LOOKS: dict[str, StatusLook] = {
    "queued": StatusLook("Queued", ft.Icons.SCHEDULE, ft.Colors.BLUE_GREY_700),
    "running": StatusLook("Running", ft.Icons.AUTORENEW, ft.Colors.BLUE_800),
    "succeeded": StatusLook("Succeeded", ft.Icons.CHECK_CIRCLE, ft.Colors.GREEN_800),
    "failed": StatusLook("Failed", ft.Icons.ERROR, ft.Colors.RED_700),
    "cancelled": StatusLook("Cancelled", ft.Icons.CANCEL, ft.Colors.DEEP_ORANGE_900),
}
KIND_LABELS = {"export": "Export", "import": "Import"}
KIND_ICONS = {"export": ft.Icons.FILE_DOWNLOAD, "import": ft.Icons.FILE_UPLOAD}
ACTIVE = frozenset({"queued", "running"})
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
# The fields a status-feed change carries (JobChange) that a job dict from the API also has.
LIVE_FIELDS = (
    "status",
    "progress",
    "message",
    "error",
    "result",
    "updated_at",
    "started_at",
    "finished_at",
    "cancel_requested_at",
    "attempts",
)


class StatusChip:
    """Colour AND text (and an icon): never colour alone."""

    def __init__(self, status: str) -> None:
        self.icon = ft.Icon(ft.Icons.HELP, size=16, color=ft.Colors.WHITE)
        self.text = ft.Text(size=12, weight=ft.FontWeight.BOLD, color=ft.Colors.WHITE)
        self.control = ft.Container(
            content=ft.Row([self.icon, self.text], spacing=4, tight=True),
            padding=ft.Padding.symmetric(horizontal=8, vertical=2),
            border_radius=12,
        )
        self.set(status)

    def set(self, status: str) -> None:
        look = STATUS_LOOKS.get(
            status, StatusLook(status.title(), ft.Icons.HELP, ft.Colors.GREY_700)
        )
        self.icon.icon = look.icon
        self.text.value = look.label
        self.control.bgcolor = look.color


def as_datetime(value: Any) -> datetime | None:
    """An aware datetime from the API's ISO strings or the feed's datetimes (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: Any) -> str | None:
    moment = as_datetime(value)
    return moment.isoformat() if moment else None


def human_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def duration_text(job: dict[str, Any], now: datetime | None = None) -> str:
    """Running: live elapsed; finished: total; queued: how long it has waited."""
    now = now or datetime.now(UTC)
    started = as_datetime(job.get("started_at"))
    finished = as_datetime(job.get("finished_at"))
    created = as_datetime(job.get("created_at"))
    status = job.get("status")
    if status in FINISHED and finished is not None:
        begin = started or created
        return f"took {human_duration((finished - begin).total_seconds())}" if begin else ""
    if status == "running" and started is not None:
        return f"running for {human_duration((now - started).total_seconds())}"
    if status == "queued" and created is not None:
        return f"waiting {human_duration((now - created).total_seconds())}"
    return ""


def when(value: Any) -> str:
    moment = as_datetime(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def person(actor: dict[str, Any] | None) -> str:
    if not actor:
        return "someone no longer here"
    return str(actor.get("name") or actor.get("email") or "someone")


def progress_value(job: dict[str, Any]) -> float | None:
    """The bar's value; None (indeterminate) while a running job has not reported yet."""
    status = job.get("status")
    progress = float(job.get("progress") or 0.0)
    if status == "succeeded":
        return 1.0
    if status == "running" and progress <= 0:
        return None
    return min(max(progress, 0.0), 1.0)


def progress_caption(job: dict[str, Any]) -> str:
    message = job.get("message") or ""
    if job.get("status") == "failed" and job.get("error"):
        return str(job["error"])
    if message:
        return str(message)
    return {"queued": "Waiting for a worker…", "running": "Starting…"}.get(
        str(job.get("status")), ""
    )


def apply_change(job: dict[str, Any], change: Any) -> bool:
    """Copy a feed change (JobChange) onto a job dict. True when what the API computes for the
    caller may have changed (status, or a cancel request): re-read the job then, once."""
    before = (job.get("status"), bool(job.get("cancel_requested_at")))
    for name in LIVE_FIELDS:
        value = getattr(change, name)
        job[name] = iso(value) if isinstance(value, datetime) else value
    return before != (job.get("status"), bool(job.get("cancel_requested_at")))
