"""The dashboard's dialogs: one modal shape for forms and confirmations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

DESTRUCTIVE = ft.ButtonStyle(bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR)


def modal(
    title: str,
    content: list[ft.Control],
    *,
    confirm: ft.Control,
    on_cancel: Callable[[Any], Any],
    cancel_tooltip: str = "Close without changing anything",
    width: int = 420,
    scrollable: bool = False,
) -> ft.AlertDialog:
    """A modal dialog: a title, its content in a column, then Cancel and the confirming
    button (Escape or a click outside do not dismiss it, so typed input is never lost).
    `scrollable`: the dialog scrolls when its content outgrows a small window (Flutter's own
    dialog scrolling; a scrolling column inside would take the whole height)."""
    return ft.AlertDialog(
        modal=True,
        scrollable=scrollable,
        title=ft.Text(title),
        content=ft.Column(content, tight=True, width=width),
        actions=[ft.TextButton("Cancel", tooltip=cancel_tooltip, on_click=on_cancel), confirm],
    )


def confirm_button(
    label: str, on_click: Callable[[Any], Any], *, tooltip: str, destructive: bool = False
) -> ft.FilledButton:
    """The dialog's confirming button; red when what it does cannot be taken back."""
    return ft.FilledButton(
        label, tooltip=tooltip, on_click=on_click, style=DESTRUCTIVE if destructive else None
    )
