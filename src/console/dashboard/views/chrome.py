"""What every signed-in screen shares: the header's sections (Projects, Jobs), tenant switch and
sign-out."""

from __future__ import annotations

from typing import Any

import flet as ft

from console.dashboard.controls.header import header
from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView


def enter_tenant(view: BaseView, slug: str) -> dict[str, Any] | None:
    """Make `slug` the session's tenant and put up its header; None if this sign-in does not
    open it."""
    state = view.state
    state.tenant = state.tenant_by_slug(slug)
    view.view.appbar = page_header(view, state.tenant["name"] if state.tenant else "Console")
    return state.tenant


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
        sections=sections(view),
    )


SECTIONS = (("projects", "Projects", ft.Icons.FOLDER), ("jobs", "Jobs", ft.Icons.WORK_HISTORY))


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
    ]
