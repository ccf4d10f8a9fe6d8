"""A status badge: colour AND text AND an icon (never colour alone), white on a dark fill for
contrast in light and dark themes."""

from __future__ import annotations

import flet as ft


def badge(label: str, icon: ft.IconData, color: str, *, tooltip: str | None = None) -> ft.Container:
    return ft.Container(
        content=ft.Row(
            [
                ft.Icon(icon, size=16, color=ft.Colors.WHITE),
                ft.Text(label, size=12, weight=ft.FontWeight.BOLD, color=ft.Colors.WHITE),
            ],
            spacing=4,
            tight=True,
        ),
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
        border_radius=12,
        bgcolor=color,
        tooltip=tooltip,
    )
