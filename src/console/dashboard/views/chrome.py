"""What every signed-in screen shares: the header's sections (Projects, Jobs), tenant switch and
sign-out."""

from __future__ import annotations

from typing import Any

import flet as ft

from console.dashboard.controls.header import header
from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView


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


def page_body(busy: ft.Control, *controls: ft.Control) -> list[ft.Control]:
    """A screen's layout: its loading bar on top, then its controls in a padded, scrolling
    column."""
    return [
        busy,
        ft.Container(
            padding=24,
            expand=True,
            content=ft.Column(list(controls), spacing=16, scroll=ft.ScrollMode.AUTO),
        ),
    ]


def page_header(view: BaseView, title: str) -> ft.AppBar:
    state = view.state

    @safe
    async def switch(slug: str) -> None:
        await state.router.go(f"/t/{slug}/projects")

    @safe
    async def sign_out() -> None:
        from console.dashboard.events import broadcast_sign_out, signed_out

        await state.api.post("/api/v1/auth/sign-out")
        broadcast_sign_out(view.page)
        await signed_out(view.page, "You are signed out.")

    return header(
        title=title,
        user=state.user,
        tenant=state.tenant,
        tenants=state.tenants,
        on_switch=switch,
        on_sign_out=sign_out,
        sections=[*sections(view), *operator_link(view)],
    )


SECTIONS = (
    ("projects", "Projects", ft.Icons.FOLDER),
    ("jobs", "Jobs", ft.Icons.WORK_HISTORY),
    ("members", "Members", ft.Icons.PEOPLE),
    ("tokens", "API tokens", ft.Icons.KEY),
    ("audit", "Audit log", ft.Icons.HISTORY_EDU),
    ("settings", "Settings", ft.Icons.SETTINGS),
)
# Shown only to the tenant's admins (the API refuses everyone else anyway).
ADMIN_SECTIONS = frozenset({"tokens", "audit", "settings"})


def sections(view: BaseView) -> list[ft.Control]:
    """Links to the tenant's screens; the one on screen is marked in bold and its tooltip."""
    tenant = view.state.tenant
    if tenant is None:
        return []
    current = getattr(view, "section", None)

    def go(name: str):
        @safe
        async def click(_: ft.ControlEvent) -> None:
            await view.state.router.go(f"/t/{tenant['slug']}/{name}")

        return click

    return [
        ft.TextButton(
            label,
            icon=icon,
            tooltip=f"{label} (current page)" if name == current else f"Go to {label}",
            on_click=go(name),
            style=ft.ButtonStyle(
                text_style=ft.TextStyle(
                    weight=ft.FontWeight.BOLD if name == current else ft.FontWeight.NORMAL
                )
            ),
        )
        for name, label, icon in SECTIONS
        if name not in ADMIN_SECTIONS or tenant.get("role") == "admin"
    ]


def operator_link(view: BaseView) -> list[ft.Control]:
    """Operators get a way to the operator console from every screen."""
    user = view.state.user
    if not (user and user.get("is_operator")):
        return []
    here = view.route.split("?")[0].rstrip("/") == "/operator"

    @safe
    async def click(_: ft.ControlEvent) -> None:
        await view.state.router.go("/operator")

    return [
        ft.TextButton(
            "Operator console",
            icon=ft.Icons.ADMIN_PANEL_SETTINGS,
            tooltip="Operator console (current page)" if here else "Go to the operator console",
            on_click=click,
        )
    ]
