"""A tenant's projects: search, read, and (members) create."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import flet as ft

from console.dashboard.api_client import ApiError
from console.dashboard.notify import problem_text, safe, snack
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import page_header

ROLE_RANK = {"viewer": 0, "member": 1, "admin": 2}


class ProjectsView(BaseView):
    title = "Projects"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.search = ft.TextField(
            label="Search projects",
            value=self.query.get("q", ""),
            prefix_icon=ft.Icons.SEARCH,
            on_submit=self._search,
            width=320,
            dense=True,
        )
        self.create_button = ft.FilledButton(
            "New project", icon=ft.Icons.ADD, on_click=self._open_create, visible=False
        )
        self.summary = ft.Text("")
        self.progress = ft.ProgressBar(visible=True)
        self.table = ft.DataTable(
            columns=[ft.DataColumn(ft.Text(h)) for h in ("Key", "Name", "Status", "Updated")],
            rows=[],
        )
        self.more = ft.TextButton("Load more", on_click=self._more, visible=False)
        self.empty = ft.Text("No projects yet.", visible=False)
        self.next_cursor: str | None = None
        self.dialog: ft.AlertDialog | None = None
        return [
            self.progress,
            ft.Container(
                padding=24,
                content=ft.Column(
                    [
                        ft.Row(
                            [self.search, self.create_button],
                            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                        ),
                        self.summary,
                        self.table,
                        self.empty,
                        self.more,
                    ],
                    spacing=16,
                    scroll=ft.ScrollMode.AUTO,
                ),
                expand=True,
            ),
        ]

    @safe
    async def on_enter(self) -> None:
        state = self.state
        state.tenant = state.tenant_by_slug(self.slug)
        self.view.appbar = page_header(self, state.tenant["name"] if state.tenant else "Console")
        if state.tenant is None:
            # Not among the tenants this sign-in opens: a member elsewhere, or of a tenant with
            # its own provider. Its sign-in screen says which.
            self.progress.visible = False
            self.summary.value = f"Your sign-in does not open '{self.slug}'."
            self.page.update()
            await state.router.go(f"/t/{self.slug}/sign-in")
            return
        self.create_button.visible = ROLE_RANK[state.tenant["role"]] >= ROLE_RANK["member"]
        await self._load(reset=True)

    async def on_leave(self) -> None:
        """The view's dialog goes with it (a sign-out elsewhere must not leave it on top of the
        sign-in screen)."""
        self._close_dialog()
        await super().on_leave()

    async def _load(self, *, reset: bool) -> None:
        params: dict[str, Any] = {"limit": 50}
        if self.search.value:
            params["q"] = self.search.value
        if not reset and self.next_cursor:
            params["cursor"] = self.next_cursor
        self.progress.visible = True
        self.page.update()
        try:
            page = await self.state.api.get(f"/api/v1/tenants/{self.slug}/projects", params=params)
        finally:
            self.progress.visible = False
        rows = [
            ft.DataRow(
                cells=[
                    ft.DataCell(ft.Text(p["key"], weight=ft.FontWeight.BOLD)),
                    ft.DataCell(ft.Text(p["name"])),
                    ft.DataCell(ft.Text(p["status"])),
                    ft.DataCell(ft.Text(p["updated_at"][:16].replace("T", " "))),
                ]
            )
            for p in page["items"]
        ]
        self.table.rows = rows if reset else [*self.table.rows, *rows]
        self.next_cursor = page["next_cursor"]
        self.more.visible = self.next_cursor is not None
        total = f"{page['total']}{'' if page['total_exact'] else '+'}"
        self.summary.value = f"{total} project{'s' if page['total'] != 1 else ''}"
        self.summary.visible = bool(self.table.rows)
        self.empty.value = (
            f"No projects match “{self.search.value}”." if self.search.value else "No projects yet."
        )
        self.empty.visible = not self.table.rows
        self.page.update()

    @safe
    async def _search(self, _: ft.ControlEvent) -> None:
        q = (self.search.value or "").strip()
        query = f"?{urlencode({'q': q})}" if q else ""
        await self.state.router.go(f"/t/{self.slug}/projects{query}")

    @safe
    async def _more(self, _: ft.ControlEvent) -> None:
        await self._load(reset=False)

    @safe
    async def _open_create(self, _: ft.ControlEvent) -> None:
        key = ft.TextField(label="Key", hint_text="WEB", autofocus=True, max_length=32)
        name = ft.TextField(label="Name", max_length=200)
        description = ft.TextField(label="Description", multiline=True, min_lines=2)

        @safe
        async def save(_: ft.ControlEvent) -> None:
            try:
                created = await self.state.api.post(
                    f"/api/v1/tenants/{self.slug}/projects",
                    json={
                        "key": key.value or "",
                        "name": name.value or "",
                        "description": description.value or "",
                    },
                )
            except ApiError as exc:
                fields = {e["loc"][-1]: e["msg"] for e in exc.problem.get("errors", [])}
                if exc.problem.get("field"):
                    fields[exc.problem["field"]] = exc.message
                key.error = fields.get("key")
                name.error = fields.get("name")
                if not fields:
                    snack(self.page, problem_text(exc), error=True)
                self.page.update()
                return
            self._close_dialog()
            snack(self.page, f"Created {created['key']}.")
            await self._load(reset=True)

        self.dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text("New project"),
            content=ft.Column([key, name, description], tight=True, width=420),
            actions=[
                ft.TextButton("Cancel", on_click=lambda _: self._close_dialog()),
                ft.FilledButton("Create", on_click=save),
            ],
        )
        self.page.show_dialog(self.dialog)

    def _close_dialog(self) -> None:
        """Close this view's dialog — not `page.pop_dialog()`, which closes the topmost open
        dialog, and a snackbar shown over the dialog (an error) is one."""
        if self.dialog is not None and self.dialog.open:
            self.dialog.open = False
            self.dialog.update()
