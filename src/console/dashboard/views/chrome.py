"""What every signed-in screen shares: the header's tenant switch and sign-out."""

from __future__ import annotations

import flet as ft

from console.dashboard.controls.header import header
from console.dashboard.notify import safe
from console.dashboard.views.base import BaseView


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
    )
