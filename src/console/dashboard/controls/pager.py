"""Page links for a keyset-paginated list whose position lives in the route: `cursor` (where the
page starts) and `page` (its number), so a page can be linked to and back/forward walk the pages."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import flet as ft

from console.dashboard.notify import safe

# Routes of pages the session has seen → the page before each (bounded: a long session pages a
# lot). A page opened from a link has no known predecessor: Previous then offers the first page.
_TRAIL_LIMIT = 256


def page_number(query: dict[str, str]) -> int:
    """The route's page number (1 for a missing or nonsense value)."""
    raw = query.get("page", "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def paged_route(route: str, cursor: str | None, page: int) -> str:
    """`route` (path and filters) at another page; page 1 carries no cursor or number."""
    parts = urlsplit(route)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("cursor", "page")]
    if cursor and page > 1:
        query += [("cursor", cursor), ("page", str(page))]
    return parts.path + (f"?{urlencode(query)}" if query else "")


class Pager:
    """`control`: "Showing 51 to 100 of 1,234", then First/Previous/Next page buttons; each
    goes to this route at another page (a history entry)."""

    def __init__(
        self,
        trail: OrderedDict[str, str],
        route: str,
        query: dict[str, str],
        go: Callable[[str], Awaitable[None]],
        *,
        noun: str = "items",
        page_size: int,
    ) -> None:
        self.trail = trail
        self.current_route = route
        self.cursor = query.get("cursor") or None
        self.number = page_number(query) if self.cursor else 1
        self.go = go
        self.noun = noun
        self.page_size = page_size
        self.next_cursor: str | None = None
        self.range_text = ft.Text("")
        self.first = self._button("First page", ft.Icons.FIRST_PAGE, self._first)
        self.previous = self._button("Previous page", ft.Icons.CHEVRON_LEFT, self._previous)
        self.next = self._button("Next page", ft.Icons.CHEVRON_RIGHT, self._next)
        self.control = ft.Row(
            [self.range_text, self.first, self.previous, self.next],
            spacing=8,
            wrap=True,
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
            visible=False,
        )

    @staticmethod
    def _button(label: str, icon: ft.IconData, handler: Any) -> ft.OutlinedButton:
        return ft.OutlinedButton(
            label, icon=icon, tooltip=f"Go to the {label.lower()}", on_click=handler
        )

    def show(
        self, shown: int, next_cursor: str | None, total: int | None = None, exact: bool = True
    ) -> None:
        """Update for a loaded page of `shown` rows (of `total`, a lower bound unless exact)."""
        self.next_cursor = next_cursor
        start = (self.number - 1) * self.page_size
        of = "" if total is None else f" of {total:,}{'' if exact else '+'}"
        self.range_text.value = (
            f"Showing {start + 1:,} to {start + shown:,}{of} {self.noun}" if shown else ""
        )
        has_previous = self.number > 1
        known_previous = self.current_route in self.trail
        self.first.visible = has_previous and (self.number > 2 or not known_previous)
        self.previous.visible = has_previous and known_previous
        self.next.visible = next_cursor is not None
        self.control.visible = has_previous or next_cursor is not None

    @safe
    async def _next(self, _: ft.ControlEvent) -> None:
        if self.next_cursor is None:
            return
        target = paged_route(self.current_route, self.next_cursor, self.number + 1)
        self.trail[target] = self.current_route
        self.trail.move_to_end(target)
        while len(self.trail) > _TRAIL_LIMIT:
            self.trail.popitem(last=False)
        await self.go(target)

    @safe
    async def _previous(self, _: ft.ControlEvent) -> None:
        first = paged_route(self.current_route, None, 1)
        await self.go(self.trail.get(self.current_route) or first)

    @safe
    async def _first(self, _: ft.ControlEvent) -> None:
        await self.go(paged_route(self.current_route, None, 1))
