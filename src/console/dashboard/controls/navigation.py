"""The screens a signed-in user can go to: a navigation rail on wide windows, a drawer (opened
from the app bar's menu button) on narrow ones, built from one list of destinations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import flet as ft

# Material's breakpoint between a compact/medium window (drawer) and an expanded one (rail).
WIDE_MIN_WIDTH = 840


@dataclass(frozen=True)
class Destination:
    route: str
    label: str
    icon: ft.IconData


Go = Callable[[str], Awaitable[None]]


def is_wide(page: ft.Page) -> bool:
    width = page.width
    return width is None or width >= WIDE_MIN_WIDTH


RAIL_KEY = "navigation-rail"
DRAWER_KEY = "navigation-drawer"


def rail(destinations: Sequence[Destination], selected: int | None, go: Go) -> ft.Container:
    """A Material 3 style rail: icon in a pill over the label. Plain buttons rather than
    ft.NavigationRail, whose destinations Flutter names "Projects Tab 2 of 7": here each
    one's accessible name is its label, and Tab/Enter reach and open it."""
    return ft.Container(
        key=RAIL_KEY,
        width=88,
        padding=ft.Padding.symmetric(vertical=8),
        content=ft.Column(
            [_rail_item(d, i == selected, go) for i, d in enumerate(destinations)],
            spacing=4,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            scroll=ft.ScrollMode.AUTO,
        ),
    )


def drawer(
    destinations: Sequence[Destination], selected: int | None, go: Go, title: str
) -> ft.NavigationDrawer:
    """The same destinations in a drawer (its Flutter destinations carry "Tab n of m" in their
    names too, hence buttons)."""
    return ft.NavigationDrawer(
        key=DRAWER_KEY,
        controls=[
            ft.Container(
                ft.Text(title, theme_style=ft.TextThemeStyle.TITLE_SMALL),
                padding=ft.Padding.only(left=28, top=16, right=16, bottom=10),
            ),
            *(_drawer_item(d, i == selected, go) for i, d in enumerate(destinations)),
        ],
        selected_index=-1,  # the buttons show which screen is on
    )


def tooltip(destination: Destination, current: bool) -> str:
    return f"{destination.label} (current page)" if current else f"Go to {destination.label}"


def _rail_item(destination: Destination, current: bool, go: Go) -> ft.TextButton:
    color = ft.Colors.ON_SECONDARY_CONTAINER if current else ft.Colors.ON_SURFACE_VARIANT
    return ft.TextButton(
        content=ft.Column(
            [
                ft.Container(
                    ft.Icon(destination.icon, color=color),
                    width=56,
                    height=32,
                    border_radius=16,
                    alignment=ft.Alignment.CENTER,
                    bgcolor=ft.Colors.SECONDARY_CONTAINER if current else None,
                ),
                ft.Text(
                    destination.label,
                    size=12,
                    weight=ft.FontWeight.BOLD if current else ft.FontWeight.W_500,
                    color=ft.Colors.ON_SURFACE if current else ft.Colors.ON_SURFACE_VARIANT,
                    text_align=ft.TextAlign.CENTER,
                ),
            ],
            spacing=4,
            tight=True,
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        ),
        tooltip=tooltip(destination, current),
        width=80,
        style=ft.ButtonStyle(
            padding=ft.Padding.symmetric(vertical=6),
            shape=ft.RoundedRectangleBorder(radius=12),
        ),
        on_click=_click(destination, go),
    )


def _drawer_item(destination: Destination, current: bool, go: Go) -> ft.Container:
    return ft.Container(
        padding=ft.Padding.symmetric(horizontal=12),
        content=ft.Row(
            [
                ft.TextButton(
                    destination.label,
                    icon=destination.icon,
                    tooltip=tooltip(destination, current),
                    on_click=_click(destination, go),
                    height=52,  # a comfortable touch target: the drawer is for narrow screens
                    style=ft.ButtonStyle(
                        alignment=ft.Alignment.CENTER_LEFT,
                        padding=ft.Padding.symmetric(horizontal=16),
                        shape=ft.StadiumBorder(),
                        bgcolor=ft.Colors.SECONDARY_CONTAINER if current else None,
                        color=ft.Colors.ON_SECONDARY_CONTAINER
                        if current
                        else ft.Colors.ON_SURFACE_VARIANT,
                        text_style=ft.TextStyle(
                            weight=ft.FontWeight.BOLD if current else ft.FontWeight.W_500
                        ),
                    ),
                    expand=True,
                )
            ]
        ),
    )


def _click(destination: Destination, go: Go) -> Callable[[ft.ControlEvent], Awaitable[None]]:
    async def click(_: ft.ControlEvent) -> None:
        await go(destination.route)

    return click
