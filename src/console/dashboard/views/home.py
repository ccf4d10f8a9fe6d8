"""A tenant's Home: count tiles that lead to their screens, projects created per week and jobs
by status (charts with text alternatives), an empty state for a brand-new tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from console.dashboard.controls.charts import jobs_by_status_chart, weekly_projects_chart
from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView
from console.dashboard.views.chrome import enter_tenant, page_body
from console.dashboard.views.projects import ROLE_RANK, list_route


def plural(n: int, one: str) -> str:
    return one if n == 1 else f"{one}s"


def tiles_of(slug: str, overview: dict[str, Any]) -> list[tuple[str, int, str, str]]:
    """(key, number, label, route it opens) for each tile, in reading order."""
    projects, jobs = overview["projects"], overview["jobs"]
    jobs_with = f"/t/{slug}/jobs?status="
    tiles = [
        ("active", projects["active"], "Active project", list_route(slug, status="active")),
        ("archived", projects["archived"], "Archived project", list_route(slug, status="archived")),
        ("members", overview["members"], "Member", f"/t/{slug}/members"),
        (
            "invitations",
            overview["pending_invitations"],
            "Pending invitation",
            f"/t/{slug}/members",
        ),
        ("running", jobs["running"], "Running job", jobs_with + "running"),
        ("queued", jobs["queued"], "Queued job", jobs_with + "queued"),
        ("failed", jobs["failed"], "Failed job", jobs_with + "failed"),
    ]
    return [(key, n, plural(n, label), route) for key, n, label, route in tiles]


def panel(title: str, *controls: ft.Control) -> ft.Container:
    return ft.Container(
        padding=16,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        border_radius=12,
        content=ft.Column(
            [ft.Text(title, theme_style=ft.TextThemeStyle.TITLE_MEDIUM), *controls],
            spacing=8,
            tight=True,
        ),
    )


class HomeView(BaseView):
    title = "Home"
    section = "home"

    def build(self) -> list[ft.Control]:
        self.slug = self.params["tenant"]
        self.loading = ft.ProgressBar(visible=True)
        self.heading = ft.Text("Home", size=24, weight=ft.FontWeight.BOLD)
        self.refresh_button = ft.IconButton(
            ft.Icons.REFRESH, tooltip="Reload the numbers", on_click=self._reload
        )
        self.tiles = ft.Row(wrap=True, spacing=12, run_spacing=12, visible=False)
        self.create_link = ft.FilledButton(
            "Create a project",
            icon=ft.Icons.ADD,
            tooltip="Go to Projects to create one",
            on_click=self._go_create,
            visible=False,
        )
        self.empty = ft.Container(
            visible=False,
            padding=24,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            content=ft.Column(
                [
                    ft.Icon(ft.Icons.FOLDER_OPEN, size=40, color=ft.Colors.OUTLINE),
                    ft.Text("No projects yet", theme_style=ft.TextThemeStyle.TITLE_MEDIUM),
                    ft.Text("Projects this tenant creates or imports show up here."),
                    self.create_link,
                ],
                spacing=8,
                tight=True,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            ),
        )
        self.charts = ft.Row(wrap=True, spacing=16, run_spacing=16, visible=False)
        return page_body(
            self.loading,
            ft.Row([self.heading, self.refresh_button], spacing=8),
            self.tiles,
            self.empty,
            self.charts,
        )

    @safe
    async def on_enter(self) -> None:
        if await enter_tenant(self, self.slug, self.loading) is None:
            return
        await self._load()

    async def _load(self) -> None:
        self.loading.visible = True
        self.page.update()
        try:
            overview = await self.state.api.get(f"/api/v1/tenants/{self.slug}/overview")
        finally:
            self.loading.visible = False
            self.page.update()
        self.show(overview)

    def show(self, overview: dict[str, Any]) -> None:
        self.tiles.controls = [
            self._tile(key, number, label, route)
            for key, number, label, route in tiles_of(self.slug, overview)
        ]
        self.tiles.visible = True
        brand_new = overview["projects"]["total"] == 0
        member = ROLE_RANK.get(self.state.tenant["role"], 0) >= ROLE_RANK["member"]
        self.empty.visible = brand_new
        self.create_link.visible = brand_new and member
        self.charts.controls = [*self._weekly(overview, brand_new), self._jobs(overview)]
        self.charts.visible = True
        self.page.update()

    def _weekly(self, overview: dict[str, Any], brand_new: bool) -> list[ft.Control]:
        if brand_new:
            return []
        weeks = overview["projects_per_week"]
        chart, _ = weekly_projects_chart(weeks)
        created = sum(w["count"] for w in weeks)
        caption = (
            f"{created} {plural(created, 'project')} created in the last "
            f"{len(weeks)} weeks; {weeks[-1]['count']} this week."
        )
        return [
            ft.Container(
                key="chart-projects-per-week",
                content=panel("Projects created per week", chart, ft.Text(caption, size=12)),
            )
        ]

    def _jobs(self, overview: dict[str, Any]) -> ft.Control:
        jobs = overview["jobs"]
        if not any(jobs.values()):
            body: list[ft.Control] = [ft.Text("No jobs yet.")]
        else:
            chart, text = jobs_by_status_chart(jobs)
            body = [chart, ft.Text(text + ".", size=12)]
        return ft.Container(key="chart-jobs-by-status", content=panel("Jobs by status", *body))

    def _tile(self, key: str, number: int, label: str, route: str) -> ft.Control:
        return ft.Container(
            key=f"tile-{key}",
            width=150,
            height=110,  # room for a label on two lines, so the tiles line up
            padding=16,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=12,
            ink=True,
            tooltip=f"Open {label.lower()}",
            on_click=self._opener(route),
            content=ft.Column(
                [
                    ft.Text(str(number), size=28, weight=ft.FontWeight.BOLD),
                    ft.Text(label),
                ],
                spacing=2,
                tight=True,
            ),
        )

    def _opener(self, route: str) -> Callable[[Any], Awaitable[None]]:
        @safe
        async def open_route(_: Any) -> None:
            await self.state.router.go(route)

        return open_route

    @safe
    async def _reload(self, _: ft.ControlEvent) -> None:
        await self._load()

    @safe
    async def _go_create(self, _: ft.ControlEvent) -> None:
        await self.state.router.go(f"/t/{self.slug}/projects")
