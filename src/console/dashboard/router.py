"""Route → view: deep links, the browser's back button (route changes), and a not-found view."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import flet as ft
import structlog

from console.dashboard.state import get_session_state
from console.dashboard.views.audit import AuditView
from console.dashboard.views.base import BaseView
from console.dashboard.views.home import HomeView
from console.dashboard.views.job_detail import JobDetailView
from console.dashboard.views.jobs import JobsView
from console.dashboard.views.members import MembersView
from console.dashboard.views.not_found import NotFoundView
from console.dashboard.views.operator import OperatorView
from console.dashboard.views.project_detail import ProjectDetailView
from console.dashboard.views.projects import ProjectsView
from console.dashboard.views.settings import SettingsView
from console.dashboard.views.signin import SignInView
from console.dashboard.views.tenants import TenantsView
from console.dashboard.views.tokens import TokensView

log = structlog.get_logger(__name__)

SLUG = r"(?P<tenant>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
ROUTES: list[tuple[re.Pattern[str], type[BaseView]]] = [
    (re.compile(r"^/sign-in$"), SignInView),
    (re.compile(r"^/operator/sign-in$"), SignInView),
    (re.compile(r"^/operator$"), OperatorView),
    (re.compile(rf"^/t/{SLUG}/sign-in$"), SignInView),
    (re.compile(r"^/tenants$"), TenantsView),
    (re.compile(rf"^/t/{SLUG}(?:/home)?$"), HomeView),
    (re.compile(rf"^/t/{SLUG}/projects$"), ProjectsView),
    (re.compile(rf"^/t/{SLUG}/jobs$"), JobsView),
    (re.compile(rf"^/t/{SLUG}/audit$"), AuditView),
    (re.compile(rf"^/t/{SLUG}/settings$"), SettingsView),
    (re.compile(rf"^/t/{SLUG}/jobs/(?P<job_id>[0-9a-fA-F-]{{36}})$"), JobDetailView),
    (
        re.compile(rf"^/t/{SLUG}/projects/(?P<project_id>[0-9a-fA-F-]{{36}})$"),
        ProjectDetailView,
    ),
    (re.compile(rf"^/t/{SLUG}/members$"), MembersView),
    (re.compile(rf"^/t/{SLUG}/tokens$"), TokensView),
]


def resolve(route: str) -> tuple[type[BaseView], dict[str, str], dict[str, str], str]:
    """(view class, path params, query, path) for a route such as `/t/acme/projects?q=x`."""
    parts = urlsplit(route or "/")
    path = parts.path.rstrip("/") or "/"
    query = dict(parse_qsl(parts.query))
    for pattern, view in ROUTES:
        match = pattern.match(path)
        if match:
            return view, match.groupdict(), query, path
    return NotFoundView, {}, query, path


def home_route(page: ft.Page) -> str:
    state = get_session_state(page)
    if not state.signed_in:
        return "/sign-in"
    if state.tenant is not None:
        return f"/t/{state.tenant['slug']}/home"
    if len(state.tenants) == 1:
        return f"/t/{state.tenants[0]['slug']}/home"
    return "/tenants"


class Router:
    """Shows exactly one view at a time and runs its lifecycle."""

    def __init__(self, page: ft.Page) -> None:
        self.page = page
        self.current: BaseView | None = None

    async def go(self, route: str) -> None:
        """Navigate (adds a browser history entry; on_route_change renders)."""
        if route == self.page.route:
            await self.show(route)
        else:
            await self.page.push_route(route)

    async def show(self, route: str) -> None:
        state = get_session_state(self.page)
        if (route.split("?")[0].rstrip("/") or "/") == "/":
            route = home_route(self.page)
        view_cls, params, query, _ = resolve(route)
        if view_cls.needs_user and not state.signed_in:
            tenant = params.get("tenant")
            target = f"/t/{tenant}/sign-in" if tenant else "/sign-in"
            view_cls, params, query, _ = resolve(target)
            route = target
        if self.current is not None:
            await self.current.on_leave()
        view = view_cls(self.page, route, params, query)
        self.current = view
        self.page.views.clear()
        self.page.views.append(view.view)
        self.page.title = f"{view.title} · Console"
        self.page.update()
        await view.on_enter()

    async def refresh(self) -> None:
        if self.current is not None:
            await self.current.on_refresh()

    async def leave(self) -> None:
        if self.current is not None:
            await self.current.on_leave()
            self.current = None
