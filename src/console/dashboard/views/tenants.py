"""The tenant picker for a signed-in user who belongs to several tenants (or none)."""

from __future__ import annotations

import flet as ft

from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import page_header


class TenantsView(BaseView):
    title = "Tenants"

    def build(self) -> list[ft.Control]:
        self.list = ft.Column(spacing=8)
        return [
            ft.Container(
                padding=24,
                content=ft.Column(
                    [ft.Text("Choose a tenant", size=24, weight=ft.FontWeight.BOLD), self.list],
                    spacing=16,
                ),
            )
        ]

    @safe
    async def on_enter(self) -> None:
        self.view.appbar = page_header(self, "Console")
        self.list.controls = [
            ft.ListTile(
                leading=ft.Icon(ft.Icons.APARTMENT),
                title=ft.Text(t["name"]),
                subtitle=ft.Text(
                    f"{t['slug']} · {t['role']}"
                    + (" · suspended" if t["status"] == "suspended" else "")
                ),
                on_click=self._open(t["slug"]),
            )
            for t in self.state.tenants
        ] or [ft.Text("You are not a member of any tenant yet. Ask an admin to invite you.")]
        self.page.update()

    def _open(self, slug: str):
        @safe
        async def click(_: ft.ControlEvent) -> None:
            await self.state.router.go(f"/t/{slug}/home")

        return click
