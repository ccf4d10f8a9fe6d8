"""Shown for a route that matches no screen."""

from __future__ import annotations

import flet as ft

from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView


class NotFoundView(BaseView):
    title = "Not found"
    needs_user = False

    def build(self) -> list[ft.Control]:
        return [
            ft.Container(
                padding=32,
                content=ft.Column(
                    [
                        ft.Text("Page not found", size=28, weight=ft.FontWeight.BOLD),
                        ft.Text(f"Nothing lives at {self.route}."),
                        ft.Button("Go to the console", on_click=self._home),
                    ],
                    spacing=16,
                ),
            )
        ]

    @safe
    async def _home(self, _: ft.ControlEvent) -> None:
        await self.state.router.go("/")
