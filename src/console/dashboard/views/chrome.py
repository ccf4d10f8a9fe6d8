"""What every signed-in screen shares: the app bar (tenant switch, theme, sign-out) and the way
to the tenant's sections — a navigation rail on wide windows, a drawer on narrow ones."""

from __future__ import annotations

from typing import Any

import flet as ft

from console.dashboard.controls import navigation
from console.dashboard.controls.header import header
from console.dashboard.controls.navigation import Destination
from console.dashboard.controls.theme import remember, theme_toggle
from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView

SECTIONS = (
    ("home", "Home", ft.Icons.DASHBOARD),
    ("projects", "Projects", ft.Icons.FOLDER),
    ("jobs", "Jobs", ft.Icons.WORK_HISTORY),
    ("members", "Members", ft.Icons.PEOPLE),
    ("tokens", "API tokens", ft.Icons.KEY),
    ("audit", "Audit log", ft.Icons.HISTORY_EDU),
    ("settings", "Settings", ft.Icons.SETTINGS),
)
# Shown only to the tenant's admins (the API refuses everyone else anyway).
ADMIN_SECTIONS = frozenset({"tokens", "audit", "settings"})
OPERATOR_CONSOLE = "Operator console"
# Marks the Row page_body/shell builds, so the chrome finds its rail slot.
SHELL = object()


async def enter_tenant(view: BaseView, slug: str, busy: ft.Control) -> dict[str, Any] | None:
    """Make `slug` the session's tenant and put up its header. None if this sign-in does not
    open it (a member elsewhere, or of a tenant with its own provider): the view then hides
    `busy` and goes to that tenant's sign-in screen, which says which."""
    state = view.state
    state.tenant = state.tenant_by_slug(slug)
    view.view.appbar = page_header(view, state.tenant["name"] if state.tenant else "Console")
    if state.tenant is None:
        busy.visible = False
        view.page.update()
        await state.router.go(f"/t/{slug}/sign-in")
    return state.tenant


async def enter_as_admin(view: BaseView, slug: str, busy: ft.Control, denied: ft.Control) -> bool:
    """`enter_tenant` for a screen only admins use: anyone else gets `denied` shown instead of
    the API's refusal. True if the screen may load."""
    tenant = await enter_tenant(view, slug, busy)
    if tenant is None:
        return False
    if tenant["role"] != "admin":
        busy.visible = False
        denied.visible = True
        view.page.update()
        return False
    return True


def page_body(busy: ft.Control, *controls: ft.Control) -> list[ft.Control]:
    """A screen's layout: its loading bar on top, then its controls in a padded, scrolling
    column (beside the navigation rail, once the chrome is up)."""
    return [
        shell(
            [
                busy,
                ft.Container(
                    padding=24,
                    expand=True,
                    content=ft.Column(list(controls), spacing=16, scroll=ft.ScrollMode.AUTO),
                ),
            ]
        )
    ]


def shell(controls: list[ft.Control]) -> ft.Row:
    """A slot for the navigation rail (empty until the chrome fills it), then the screen."""
    row = ft.Row(
        [
            ft.Container(visible=False),
            ft.VerticalDivider(width=1, visible=False),
            ft.Column(controls, expand=True, spacing=0),
        ],
        expand=True,
        spacing=0,
        vertical_alignment=ft.CrossAxisAlignment.STRETCH,
    )
    row.data = SHELL
    return row


def switch_route(view: BaseView, slug: str) -> str:
    """The same section in the other tenant, if this user may open it there; else its home."""
    section = getattr(view, "section", None)
    target = view.state.tenant_by_slug(slug)
    names = {name for name, _, _ in SECTIONS}
    admin_only = section in ADMIN_SECTIONS and (target or {}).get("role") != "admin"
    if section not in names or admin_only:
        section = "home"
    return f"/t/{slug}/{section}"


def page_header(view: BaseView, title: str) -> ft.AppBar:
    """The screen's app bar; also puts up the navigation (rail or drawer) for this window."""
    chrome = Chrome(view, title)
    view.chrome = chrome  # type: ignore[attr-defined]
    chrome.layout(navigation.is_wide(view.page))
    assert chrome.appbar is not None
    return chrome.appbar


def relayout(view: BaseView, width: float | None) -> bool:
    """The window was resized: switch between rail and drawer if it crossed the breakpoint
    (no data is fetched again). True if the screen changed."""
    chrome: Chrome | None = getattr(view, "chrome", None)
    if chrome is None:
        return False
    wide = width is None or width >= navigation.WIDE_MIN_WIDTH
    if wide == chrome.wide:
        return False
    chrome.layout(wide)
    view.view.update()
    return True


def refresh_chrome(view: BaseView) -> None:
    """Rebuild the screen's app bar and navigation as they are (e.g. the theme changed)."""
    chrome: Chrome | None = getattr(view, "chrome", None)
    if chrome is not None and chrome.wide is not None:
        chrome.layout(chrome.wide)


class Chrome:
    """One screen's app bar and navigation, laid out for a wide or a narrow window."""

    def __init__(self, view: BaseView, title: str) -> None:
        self.view = view
        self.title = title
        self.destinations, self.selected = destinations(view)
        self.wide: bool | None = None
        self.appbar: ft.AppBar | None = None

    def layout(self, wide: bool) -> None:
        self.wide = wide
        view = self.view.view
        self.appbar = self._appbar(compact=not wide)
        view.appbar = self.appbar
        if not self.destinations:
            view.drawer = None
            return
        row = self._shell()
        slot, divider = row.controls[0], row.controls[1]
        assert isinstance(slot, ft.Container)
        if wide:
            slot.content = navigation.rail(self.destinations, self.selected, self._go)
            view.drawer = None
        else:
            slot.content = None
            view.drawer = navigation.drawer(self.destinations, self.selected, self._go, self.title)
        slot.visible = divider.visible = wide

    def _shell(self) -> ft.Row:
        """The screen's shell row; a screen built without page_body gets one around it."""
        view = self.view.view
        first = view.controls[0] if len(view.controls) == 1 else None
        if isinstance(first, ft.Row) and first.data is SHELL:
            return first
        row = shell(list(view.controls))
        view.controls = [row]
        return row

    async def _go(self, route: str) -> None:
        """Go to a section; the section on screen (same route) reloads its data instead of
        being built again."""
        if route == self.view.route:
            await safe(self.view.reload)()
        else:
            await safe(self.view.state.router.go)(route)

    def _appbar(self, *, compact: bool) -> ft.AppBar:
        view = self.view
        state = view.state

        @safe
        async def switch(slug: str) -> None:
            await state.router.go(switch_route(view, slug))

        @safe
        async def sign_out() -> None:
            from console.dashboard.events import broadcast_sign_out, signed_out

            await state.api.post("/api/v1/auth/sign-out")
            broadcast_sign_out(view.page)
            await signed_out(view.page, "You are signed out.")

        def theme_chosen(mode: str) -> None:
            state.theme_mode = mode
            view.page.run_task(remember, state.preferences, mode)

        return header(
            title=self.title,
            user=state.user,
            tenant=state.tenant,
            tenants=state.tenants,
            on_switch=switch,
            on_sign_out=sign_out,
            theme_toggle=theme_toggle(view.page, state.theme_mode, theme_chosen),
            compact=compact,
        )


def destinations(view: BaseView) -> tuple[list[Destination], int | None]:
    """The tenant's sections this user may open (admin-only ones for admins), then the
    operator console for operators; and which of them is on screen."""
    state = view.state
    found: list[Destination] = []
    selected: int | None = None
    tenant = state.tenant
    if tenant is not None:
        current = getattr(view, "section", None)
        for name, label, icon in SECTIONS:
            if name in ADMIN_SECTIONS and tenant.get("role") != "admin":
                continue
            if name == current:
                selected = len(found)
            found.append(Destination(f"/t/{tenant['slug']}/{name}", label, icon))
    if state.user and state.user.get("is_operator"):
        if view.route.split("?")[0].rstrip("/") == "/operator":
            selected = len(found)
        found.append(Destination("/operator", OPERATOR_CONSOLE, ft.Icons.ADMIN_PANEL_SETTINGS))
    return found, selected
