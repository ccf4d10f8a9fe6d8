"""Light and dark themes, the bundled fallback fonts (CJK, emoji), and the app bar's theme
menu (System, Light, Dark), remembered for the session and in the browser."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import flet as ft
import structlog

log = structlog.get_logger(__name__)

# Served from the dashboard's assets (assets/fonts/README.md says how they are built).
# Our own family names, so Flutter never mistakes them for the Noto fonts it would download.
CJK_FONT = "Console CJK"
EMOJI_FONT = "Console Emoji"
FONTS = {
    CJK_FONT: "fonts/NotoSansCJK-Subset.woff2",
    EMOJI_FONT: "fonts/NotoColorEmoji-Subset.ttf",
}
FALLBACK = [CJK_FONT, EMOJI_FONT]
SEED = ft.Colors.INDIGO
TEXT_STYLES = (
    "display_large",
    "display_medium",
    "display_small",
    "headline_large",
    "headline_medium",
    "headline_small",
    "title_large",
    "title_medium",
    "title_small",
    "body_large",
    "body_medium",
    "body_small",
    "label_large",
    "label_medium",
    "label_small",
)
MODES = {
    "system": (ft.ThemeMode.SYSTEM, ft.Icons.BRIGHTNESS_AUTO, "System"),
    "light": (ft.ThemeMode.LIGHT, ft.Icons.LIGHT_MODE, "Light"),
    "dark": (ft.ThemeMode.DARK, ft.Icons.DARK_MODE, "Dark"),
}
PREFERENCE_KEY = "console.theme"


def theme() -> ft.Theme:
    """Every text style falls back to the bundled fonts for characters Roboto lacks. Flet
    replaces the theme's styles with these (sizes still come from the typography), so each
    names its colour too: unset, text would be black on the dark theme's surfaces."""
    style = ft.TextStyle(font_family_fallback=FALLBACK, color=ft.Colors.ON_SURFACE)
    return ft.Theme(
        color_scheme_seed=SEED,
        text_theme=ft.TextTheme(**dict.fromkeys(TEXT_STYLES, style)),
        use_material3=True,
    )


def style_page(page: ft.Page, mode: str = "system") -> None:
    page.fonts = dict(FONTS)
    page.theme = theme()  # the client derives the dark colours from the same seed
    page.dark_theme = theme()
    page.theme_mode = MODES.get(mode, MODES["system"])[0]


def theme_toggle(page: ft.Page, mode: str, on_change: Callable[[str], None]) -> ft.PopupMenuButton:
    """A menu (System, Light, Dark) behind an icon showing the current choice."""
    mode = mode if mode in MODES else "system"
    icon = ft.Icon(MODES[mode][1])
    button = ft.PopupMenuButton(
        # The icon as `content`, padded like an icon button: the tooltip then names the button.
        content=ft.Container(icon, padding=8),
        tooltip=f"Theme: {MODES[mode][2]}",
    )

    def choose(chosen: str) -> Callable[[ft.ControlEvent], None]:
        def click(_: ft.ControlEvent) -> None:
            icon.icon = MODES[chosen][1]
            button.tooltip = f"Theme: {MODES[chosen][2]}"
            for name, item in zip(MODES, button.items, strict=True):
                item.checked = name == chosen
            page.theme_mode = MODES[chosen][0]
            on_change(chosen)

        return click

    button.items = [
        ft.PopupMenuItem(
            content=ft.Text(label), icon=glyph, checked=name == mode, on_click=choose(name)
        )
        for name, (_, glyph, label) in MODES.items()
    ]
    return button


def preferences() -> ft.SharedPreferences | None:
    """The browser's storage (constructing it registers it with the current page)."""
    try:
        return ft.SharedPreferences()
    except Exception:
        log.warning("dashboard_preferences_unavailable")
        return None


async def remembered(prefs: ft.SharedPreferences | None) -> str | None:
    """The theme this browser chose last time, if it can say within a moment."""
    if prefs is None:
        return None
    try:
        value = await asyncio.wait_for(prefs.get(PREFERENCE_KEY), 5)
    except Exception:
        return None
    return value if isinstance(value, str) and value in MODES else None


async def remember(prefs: ft.SharedPreferences | None, mode: str) -> None:
    if prefs is None:
        return
    try:
        await asyncio.wait_for(prefs.set(PREFERENCE_KEY, mode), 5)
    except Exception:
        log.info("dashboard_theme_not_saved")
