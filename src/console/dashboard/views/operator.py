"""The operator console: every tenant (counts, status), creating one with its first admin,
suspend/resume, and the system's health (refreshed every few seconds while on screen)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import flet as ft
import structlog

from console.dashboard.api_client import ApiError
from console.dashboard.controls.badge import badge
from console.dashboard.controls.dialogs import confirm_button, modal
from console.dashboard.notify import field_errors, problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import page_header

log = structlog.get_logger(__name__)

HEALTH_INTERVAL = 5.0
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
PLATFORM = "/api/v1/platform"


def _ms(part: dict[str, Any]) -> str:
    latency = part.get("latency_ms")
    return f"{latency:.0f} ms" if latency is not None else "not timed"


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "none waiting"
    if seconds < 120:
        return f"oldest {seconds:.0f} s"
    if seconds < 7200:
        return f"oldest {seconds / 60:.0f} min"
    return f"oldest {seconds / 3600:.1f} h"


class OperatorView(BaseView):
    title = "Operator console"

    def build(self) -> list[ft.Control]:
        self.tenants: list[dict[str, Any]] = []
        self.busy = ft.ProgressBar(visible=False, semantics_label="Loading")
        self.refused = ft.Column(
            [
                ft.Icon(ft.Icons.LOCK, size=48),
                ft.Text("Operators only", size=22, weight=ft.FontWeight.BOLD),
                ft.Text(
                    "The operator console is for platform operators. Sign in as an operator "
                    "to use it."
                ),
            ],
            visible=False,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        )
        self.cards = ft.Row(wrap=True, spacing=12, run_spacing=12)
        self.health_note = ft.Text("Checking…", size=12)
        self.count = ft.Text("")
        self.search = ft.TextField(
            label="Search tenants",
            hint_text="slug or name",
            prefix_icon=ft.Icons.SEARCH,
            tooltip="Search tenants by slug or name (press Enter)",
            width=280,
            max_length=100,
            on_submit=self._search,
        )
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(ft.Text("Slug")),
                ft.DataColumn(ft.Text("Name")),
                ft.DataColumn(ft.Text("Status")),
                ft.DataColumn(ft.Text("Members"), numeric=True),
                ft.DataColumn(ft.Text("Projects"), numeric=True),
                ft.DataColumn(ft.Text("Actions")),
            ],
            rows=[],
        )
        self.content = ft.Column(
            [
                ft.Row(
                    [
                        ft.Text("System health", size=20, weight=ft.FontWeight.BOLD),
                        ft.IconButton(
                            ft.Icons.REFRESH,
                            tooltip="Refresh health",
                            on_click=self._refresh_clicked,
                        ),
                        self.health_note,
                    ]
                ),
                self.cards,
                ft.Divider(),
                ft.Row(
                    [
                        ft.Text("Tenants", size=20, weight=ft.FontWeight.BOLD),
                        self.count,
                        self.search,
                        ft.FilledButton(
                            "Create tenant",
                            icon=ft.Icons.ADD,
                            tooltip="Create a tenant with its first admin",
                            on_click=self._open_create,
                        ),
                    ],
                    spacing=16,
                ),
                ft.Row([self.table], scroll=ft.ScrollMode.AUTO),
            ],
            spacing=12,
            visible=False,
        )
        return [
            self.busy,
            ft.Container(
                padding=24,
                expand=True,
                content=ft.Column(
                    [self.refused, self.content], scroll=ft.ScrollMode.AUTO, expand=True
                ),
            ),
        ]

    @property
    def is_operator(self) -> bool:
        return bool(self.state.user and self.state.user.get("is_operator"))

    @safe
    async def on_enter(self) -> None:
        self.state.tenant = None
        self.view.appbar = page_header(self, "Operator console")
        if not self.is_operator:
            self.refused.visible = True
            self.content.visible = False
            self.page.update()
            return
        self.refused.visible = False
        self.content.visible = True
        await self._load_tenants()
        if self.task_count == 0:
            self.run_task(self._poll)

    # -- health --------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """Refresh the health panel now and every HEALTH_INTERVAL seconds until cancelled."""
        while True:
            await self._load_health()
            await asyncio.sleep(HEALTH_INTERVAL)

    async def _load_health(self) -> None:
        try:
            health = await self.state.api.get(f"{PLATFORM}/health")
        except asyncio.CancelledError:
            raise
        except ApiError as exc:
            self.health_note.value = f"Health unavailable: {problem_text(exc)}"
            self.page.update()
            return
        except Exception:
            log.exception("operator_health_failed")
            self.health_note.value = "Health unavailable (the API did not answer)."
            self.page.update()
            return
        self.show_health(health)

    def show_health(self, h: dict[str, Any]) -> None:
        db, broker, workers, queue, sessions = (
            h["database"],
            h["broker"],
            h["workers"],
            h["queue"],
            h["sessions"],
        )
        queue_lines = [
            f"{queue['queued']} queued · {queue['running']} running"
            if queue["ok"]
            else "jobs table unreadable",
            _age(queue.get("oldest_queued_age_seconds")),
        ]
        if queue.get("broker_queue_length") is not None:
            queue_lines.append(f"{queue['broker_queue_length']} in the broker")
        self.cards.controls = [
            self._card(
                "Database",
                ft.Icons.STORAGE,
                db["ok"],
                ["reachable" if db["ok"] else "unreachable", _ms(db)],
            ),
            self._card(
                "Broker",
                ft.Icons.SWAP_HORIZ,
                broker["ok"],
                ["reachable" if broker["ok"] else "unreachable", _ms(broker)],
            ),
            self._card(
                "Workers",
                ft.Icons.ENGINEERING,
                workers["ok"],
                [
                    f"{workers['count']} answering",
                    ", ".join(workers["names"]) or (workers.get("detail") or ""),
                ],
            ),
            self._card(
                "Queue",
                ft.Icons.QUEUE,
                queue["ok"],
                queue_lines,
            ),
            self._card(
                "Sessions",
                ft.Icons.DEVICES,
                True,
                [f"{sessions['total']} in this process", f"{sessions['signed_in']} signed in"],
            ),
        ]
        status = "all good" if h["status"] == "ok" else "degraded"
        self.health_note.value = f"{status} · {h['process']} · checked {h['checked_at'][11:19]}"
        self.page.update()

    def _card(self, title: str, icon: ft.IconData, ok: bool, lines: list[str]) -> ft.Control:
        state = "OK" if ok else "Attention"
        return ft.Card(
            content=ft.Container(
                padding=16,
                width=220,
                tooltip=f"{title}: {state}. " + "; ".join(line for line in lines if line),
                content=ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Icon(icon),
                                ft.Text(title, weight=ft.FontWeight.BOLD),
                                ft.Icon(
                                    ft.Icons.CHECK_CIRCLE if ok else ft.Icons.ERROR,
                                    color=ft.Colors.GREEN if ok else ft.Colors.ERROR,
                                    semantics_label=state,
                                ),
                            ]
                        ),
                        *[ft.Text(line, size=13) for line in lines if line],
                    ],
                    spacing=4,
                ),
            )
        )

    @safe
    async def _refresh_clicked(self, _: ft.ControlEvent) -> None:
        self.health_note.value = "Checking…"
        self.page.update()
        await self._load_health()
        await self._load_tenants()

    # -- tenants -------------------------------------------------------------------------------

    async def _load_tenants(self) -> None:
        self.busy.visible = True
        self.page.update()
        try:
            params: dict[str, Any] = {"limit": 500}
            if (q := (self.search.value or "").strip()) != "":
                params["q"] = q
            self.tenants = await self.state.api.get(f"{PLATFORM}/tenants", params=params)
        finally:
            self.busy.visible = False
        self.table.rows = [self._row(t) for t in self.tenants]
        n = len(self.tenants)
        self.count.value = f"{n} tenant{'s' if n != 1 else ''}" if n else "No tenants found."
        self.page.update()

    @safe
    async def _search(self, _: ft.ControlEvent) -> None:
        await self._load_tenants()

    def _row(self, t: dict[str, Any]) -> ft.DataRow:
        suspended = t["status"] == "suspended"
        chip = (
            badge(
                "Suspended",
                ft.Icons.PAUSE_CIRCLE,
                ft.Colors.RED_800,
                tooltip=f"Suspended: {t.get('suspended_reason') or 'no reason given'}",
            )
            if suspended
            else badge("Active", ft.Icons.CHECK_CIRCLE, ft.Colors.GREEN_800)
        )
        action = (
            ft.TextButton(
                "Resume",
                icon=ft.Icons.PLAY_ARROW,
                tooltip=f"Resume {t['name']}",
                on_click=self._confirm_status(t, suspend=False),
            )
            if suspended
            else ft.TextButton(
                "Suspend",
                icon=ft.Icons.PAUSE,
                tooltip=f"Suspend {t['name']}",
                on_click=self._confirm_status(t, suspend=True),
            )
        )
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(t["slug"])),
                ft.DataCell(ft.Text(t["name"])),
                ft.DataCell(chip),
                ft.DataCell(ft.Text(str(t["member_count"]))),
                ft.DataCell(ft.Text(str(t["project_count"]))),
                ft.DataCell(action),
            ]
        )

    def _confirm_status(self, t: dict[str, Any], *, suspend: bool) -> Callable[[Any], Any]:
        @safe
        async def click(_: ft.ControlEvent) -> None:
            verb = "Suspend" if suspend else "Resume"

            async def apply() -> None:
                action = "suspend" if suspend else "resume"
                await self.state.api.post(f"{PLATFORM}/tenants/{t['id']}/{action}")
                snack(self.page, f"{'Suspended' if suspend else 'Resumed'} {t['name']}.")
                await self._load_tenants()

            text = (
                f"Suspend {t['name']} ({t['slug']})? Its members are refused until it is resumed."
                if suspend
                else f"Resume {t['name']} ({t['slug']})? Its members can use it again."
            )
            self.confirm(f"{verb} {t['name']}?", text, verb, apply, destructive=suspend)

        return click

    @safe
    async def _open_create(self, _: ft.ControlEvent) -> None:
        slug = ft.TextField(
            label="Slug",
            hint_text="acme",
            helper="Lowercase letters, digits and dashes; used in addresses.",
            autofocus=True,
            max_length=63,
            error_max_lines=3,
        )
        name = ft.TextField(label="Name", hint_text="ACME Corporation", max_length=200)
        email = ft.TextField(
            label="First admin email",
            hint_text="admin@example.com",
            max_length=320,
            error_max_lines=3,
        )
        fields = {"slug": slug, "name": name, "admin_email": email}

        @safe
        async def create(_: ft.ControlEvent) -> None:
            values = {
                "slug": (slug.value or "").strip(),
                "name": (name.value or "").strip(),
                "admin_email": (email.value or "").strip(),
            }
            errors: dict[str, str] = {}
            if not SLUG_RE.match(values["slug"]):
                errors["slug"] = "Use lowercase letters, digits and dashes (e.g. acme-eu)."
            if not values["name"]:
                errors["name"] = "Enter the tenant's name."
            if "@" not in values["admin_email"]:
                errors["admin_email"] = "Enter an email address, such as admin@example.com."
            if not errors:
                try:
                    created = await self.state.api.post(f"{PLATFORM}/tenants", json=values)
                except ApiError as exc:
                    errors = field_errors(exc)
                    if exc.status == 409:
                        errors.setdefault("slug", exc.message)
                    if not set(errors) & set(fields):
                        snack(self.page, problem_text(exc), error=True)
                else:
                    self.close_dialog()
                    snack(
                        self.page,
                        f"Created {created['name']} with {values['admin_email']} as its admin.",
                    )
                    await self._load_tenants()
                    return
            for key, field in fields.items():
                field.error = errors.get(key)
            self.page.update()

        self.open_dialog(
            modal(
                "Create tenant",
                [ft.Text("The first admin signs in with this email address."), slug, name, email],
                confirm=confirm_button("Create", create, tooltip="Create the tenant"),
                on_cancel=lambda _: self.close_dialog(),
                cancel_tooltip="Close without creating",
            )
        )
