"""The app bar: who is signed in, the tenant switcher, the theme switch, sign-out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft


def header(
    *,
    title: str,
    user: dict[str, Any] | None,
    tenant: dict[str, Any] | None,
    tenants: list[dict[str, Any]],
    on_switch: Callable[[str], Awaitable[None]],
    on_sign_out: Callable[[], Awaitable[None]],
    theme_toggle: ft.Control | None = None,
    compact: bool = False,
) -> ft.AppBar:
    """The screens themselves are in the navigation rail or drawer (controls/navigation.py);
    with a drawer, Flutter puts its menu button first in the bar. `compact` (a narrow window):
    the tenant switcher shows its icon only (the title names the tenant)."""
    actions: list[ft.Control] = [theme_toggle] if theme_toggle is not None else []
    if user is not None:
        if tenants:
            actions.append(
                ft.PopupMenuButton(
                    content=ft.Container(ft.Icon(ft.Icons.APARTMENT), padding=8)
                    if compact
                    else ft.Row(
                        [
                            ft.Icon(ft.Icons.APARTMENT),
                            ft.Text(tenant["name"] if tenant else "Tenants"),
                        ],
                        tight=True,
                    ),
                    tooltip="Switch tenant",
                    items=[
                        ft.PopupMenuItem(
                            content=ft.Text(f"{t['name']} ({t['role']})"),
                            checked=tenant is not None and t["slug"] == tenant["slug"],
                            on_click=_bind(on_switch, t["slug"]),
                        )
                        for t in tenants
                    ],
                )
            )
        actions.append(
            ft.PopupMenuButton(
                # The icon as `content` (padded like an icon button): the tooltip then names the
                # button for screen readers too; with `icon=` Flet leaves it unnamed.
                content=ft.Container(ft.Icon(ft.Icons.ACCOUNT_CIRCLE), padding=8),
                tooltip=f"Signed in as {user['email']}",
                items=[
                    ft.PopupMenuItem(content=ft.Text(user["name"] or user["email"]), disabled=True),
                    ft.PopupMenuItem(content=ft.Text(user["email"]), disabled=True),
                    ft.PopupMenuItem(),
                    ft.PopupMenuItem(
                        content=ft.Text("Sign out"),
                        icon=ft.Icons.LOGOUT,
                        on_click=_bind(on_sign_out),
                    ),
                ],
            )
        )
    return ft.AppBar(
        title=ft.Text(title, overflow=ft.TextOverflow.ELLIPSIS),
        actions=[*actions, ft.Container(width=8)],
    )


def _bind(handler: Callable[..., Awaitable[None]], *args: Any) -> Callable[[Any], Awaitable[None]]:
    """An async click handler: Flet awaits only coroutine functions (a lambda returning a
    coroutine is called and the coroutine dropped, never run)."""

    async def click(_: Any) -> None:
        await handler(*args)

    return click
