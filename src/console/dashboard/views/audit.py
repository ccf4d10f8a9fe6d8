"""A tenant's audit log (admins): who did what, when; filters and page kept in the route, and
an event's details on demand."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.controls.pager import Pager
from console.dashboard.notify import problem_text, safe
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_as_admin, page_body

PAGE_SIZE = 50
ANYONE = "anyone"
DENIED = "Only admins can read the audit log."


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD day, or None when absent or not a day."""
    try:
        return date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def when(stamp: str) -> str:
    """An ISO timestamp as `2026-11-21 10:57:57 UTC`."""
    return stamp[:19].replace("T", " ") + " UTC"


class AuditView(BaseView):
    title = "Audit log"
    section = "audit"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.actor_filter = self.query.get("actor") or None
        self.action_filter = (self.query.get("action") or "").strip() or None
        self.since = parse_day(self.query.get("from"))
        self.until = parse_day(self.query.get("to"))
        self.actor = ft.Dropdown(
            label="Actor",
            tooltip="Show only what this person did",
            value=self.actor_filter or ANYONE,
            options=[ft.DropdownOption(key=ANYONE, text="Anyone")],
            on_select=self._filter,
            width=260,
            dense=True,
        )
        self.action = ft.TextField(
            label="Action",
            tooltip='An action such as project.created, or a prefix ending in "." (project.)',
            hint_text="project.created or project.",
            value=self.action_filter or "",
            on_submit=self._filter,
            width=240,
            dense=True,
        )
        self.day_from = ft.TextField(
            label="From (YYYY-MM-DD)",
            tooltip="Events on or after this day (UTC)",
            value=self.since.isoformat() if self.since else "",
            on_submit=self._filter,
            width=180,
            dense=True,
        )
        self.day_to = ft.TextField(
            label="To (YYYY-MM-DD)",
            tooltip="Events on or before this day (UTC)",
            value=self.until.isoformat() if self.until else "",
            on_submit=self._filter,
            width=180,
            dense=True,
        )
        self.apply_button = ft.FilledButton(
            "Apply filters",
            icon=ft.Icons.FILTER_ALT,
            tooltip="Show the events matching these filters",
            on_click=self._filter,
        )
        self.clear_button = ft.TextButton(
            "Clear filters",
            icon=ft.Icons.FILTER_ALT_OFF,
            tooltip="Show every event",
            on_click=self._clear,
            visible=self._filtered,
        )
        self.filters = ft.Row(
            [
                self.actor,
                self.action,
                self.day_from,
                self.day_to,
                self.apply_button,
                self.clear_button,
            ],
            spacing=12,
            wrap=True,
            visible=False,
        )
        self.loading = ft.ProgressBar(visible=True)
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(ft.Text(h))
                for h in ("Time", "Actor", "Action", "Target", "IP", "Details")
            ],
            rows=[],
            visible=False,
        )
        self.pager = Pager(
            self.state.page_trail,
            self.route,
            self.query,
            self.state.router.go,
            noun="events",
            page_size=PAGE_SIZE,
        )
        self.empty = ft.Text("", visible=False)
        self.denied = ft.Text(DENIED, visible=False)
        self.error = ft.Text("", visible=False, color=ft.Colors.ERROR)
        self.retry = ft.TextButton(
            "Try again", tooltip="Load the audit log again", on_click=self._retry, visible=False
        )
        self.events: list[dict[str, Any]] = []
        return page_body(
            self.loading,
            ft.Text("Audit log", size=24, weight=ft.FontWeight.BOLD),
            self.filters,
            self.denied,
            self.error,
            self.retry,
            self.table,
            self.empty,
            self.pager.control,
        )

    @property
    def _filtered(self) -> bool:
        return bool(self.actor_filter or self.action_filter or self.since or self.until)

    # -- lifecycle ---------------------------------------------------------------------------

    @safe
    async def on_enter(self) -> None:
        if not await enter_as_admin(self, self.slug, self.loading, self.denied):
            return
        self.filters.visible = True
        await self._load_actors()
        await self._load()

    # -- loading -----------------------------------------------------------------------------

    async def _load_actors(self) -> None:
        members = await self.state.api.get(f"/api/v1/tenants/{self.slug}/members")
        options = [ft.DropdownOption(key=ANYONE, text="Anyone")] + [
            ft.DropdownOption(key=str(m["user_id"]), text=f"{m['name']} <{m['email']}>")
            for m in members
        ]
        if self.actor_filter and all(o.key != self.actor_filter for o in options):
            options.append(ft.DropdownOption(key=self.actor_filter, text="A former member"))
        self.actor.options = options

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if self.actor_filter:
            params["actor_id"] = self.actor_filter
        if self.action_filter:
            params["action"] = self.action_filter
        if self.since:
            params["since"] = f"{self.since.isoformat()}T00:00:00Z"
        if self.until:
            params["until"] = f"{(self.until + timedelta(days=1)).isoformat()}T00:00:00Z"
        return params

    async def _load(self) -> None:
        params = self._params()
        if self.pager.cursor:
            params["cursor"] = self.pager.cursor
        self.loading.visible = True
        self.error.visible = self.retry.visible = False
        self.page.update()
        try:
            page = await self.state.api.get(f"/api/v1/tenants/{self.slug}/audit", params=params)
        except ApiError as exc:
            if exc.status != 401:
                self.error.value = f"The audit log could not be loaded: {problem_text(exc)}"
                self.error.visible = self.retry.visible = True
            raise
        finally:
            self.loading.visible = False
            self.page.update()
        self.events = list(page["items"])
        self.table.rows = [self._row(event) for event in self.events]
        self.pager.show(len(self.events), page["next_cursor"])
        self.table.visible = bool(self.events)
        self.empty.value = (
            "No events match these filters." if self._filtered else "Nothing has been recorded yet."
        )
        self.empty.visible = not self.events
        self.page.update()

    def _row(self, event: dict[str, Any]) -> ft.DataRow:
        target = "/".join(p for p in (event["target_type"], event["target_id"]) if p) or "—"
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(when(event["created_at"]))),
                ft.DataCell(ft.Text(event["actor_label"] or "system")),
                ft.DataCell(ft.Text(event["action"], weight=ft.FontWeight.BOLD)),
                ft.DataCell(ft.Text(target)),
                ft.DataCell(ft.Text(event["ip"] or "—")),
                ft.DataCell(
                    ft.IconButton(
                        ft.Icons.INFO_OUTLINE,
                        tooltip=f"Details of {event['action']} at {when(event['created_at'])}",
                        on_click=self._details_of(event),
                    )
                ),
            ]
        )

    # -- actions -----------------------------------------------------------------------------

    @safe
    async def _filter(self, _: ft.ControlEvent) -> None:
        days: dict[str, str] = {}
        ok = True
        for key, field in (("from", self.day_from), ("to", self.day_to)):
            text = (field.value or "").strip()
            day = parse_day(text)
            field.error = None if not text or day else "Write a day as YYYY-MM-DD."
            ok = ok and field.error is None
            if day:
                days[key] = day.isoformat()
        if ok and "from" in days and "to" in days and days["from"] > days["to"]:
            self.day_to.error = "This day is before the From day."
            ok = False
        if not ok:
            self.page.update()
            return
        query = {
            k: v
            for k, v in (
                ("actor", self.actor.value if self.actor.value != ANYONE else None),
                ("action", (self.action.value or "").strip()),
                ("from", days.get("from")),
                ("to", days.get("to")),
            )
            if v
        }
        suffix = f"?{urlencode(query)}" if query else ""
        await self.state.router.go(f"/t/{self.slug}/audit{suffix}")

    @safe
    async def _clear(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(f"/t/{self.slug}/audit")

    @safe
    async def _retry(self, _: ft.ControlEvent) -> None:
        await self._load()

    def _details_of(self, event: dict[str, Any]):
        @safe
        async def show(_: ft.ControlEvent) -> None:
            self._details(event)

        return show

    def _details(self, event: dict[str, Any]) -> None:
        lines = [
            ("Time", when(event["created_at"])),
            ("Actor", event["actor_label"] or "system"),
            ("Actor id", str(event["actor_id"] or "—")),
            ("Action", event["action"]),
            ("Target", f"{event['target_type'] or '—'} {event['target_id']}".strip()),
            ("IP address", event["ip"] or "—"),
            ("Request id", event["request_id"] or "—"),
        ]
        data = json.dumps(event["data"], indent=2, sort_keys=True, ensure_ascii=False)
        self.dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text("Event details"),
            content=ft.Column(
                [ft.Text(f"{label}: {value}") for label, value in lines]
                + [
                    ft.Text("Data", weight=ft.FontWeight.BOLD),
                    ft.Text(data, selectable=True, font_family="monospace"),
                ],
                tight=True,
                width=520,
                scroll=ft.ScrollMode.AUTO,
            ),
            actions=[
                ft.TextButton(
                    "Close", tooltip="Close the details", on_click=lambda _: self.close_dialog()
                )
            ],
        )
        self.open_dialog(self.dialog)
