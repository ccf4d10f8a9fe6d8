"""The client half of Flet's wire protocol, enough for one signed-in dashboard tab.

One `Tab` is one browser tab on /dashboard/t/<slug>/projects: a real websocket to
`<mount>/ws` (Origin and cookies in the handshake, permessage-deflate offered as browsers do),
the register message the Flutter web client sends, a mirror of the control tree built only
from what the server sent (register answer + patches), answers to the server's method calls
the way the Flutter client gives them, and "clicks" that go to the "Projects" section again
(the one on screen, through the navigation rail/drawer or a header link: the view is rebuilt
and its first page of projects loaded again).

Wire format (flet 1.0.5, flet_web/fastapi/flet_app.py): binary frames `0x00 + msgpack([action,
body])`; actions 1 register, 2 patch, 3 event, 4 update props, 5 invoke method, 6 crashed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import msgpack
from flet.messaging.protocol import decode_ext_from_msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.dashboard.wire import Control, apply_patch, register_request

REGISTER, PATCH, EVENT, UPDATE, INVOKE, CRASHED = 1, 2, 3, 4, 5, 6
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36 console-bench"
)
SECTION = "Projects"  # the section the tabs show, and go to again when they click


def encode(action: int, body: Any) -> bytes:
    return b"\x00" + msgpack.packb([action, body])


def decode(frame: bytes) -> list[Any]:
    return msgpack.unpackb(frame[1:], strict_map_key=False, ext_hook=decode_ext_from_msgpack)


def _children(control: Control) -> Iterator[Control]:
    stack: list[Any] = [v for k, v in control.items() if k not in ("_c", "_i")]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "_c" in value:
                yield value
            else:
                stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def walk(root: Control) -> Iterator[Control]:
    stack = [root]
    while stack:
        control = stack.pop()
        yield control
        stack.extend(_children(control))


class Tab:
    """One dashboard tab. `ready` is set once the projects view shows its rows."""

    def __init__(self, number: int, slug: str, cookies: dict[str, str], rows: int) -> None:
        self.number = number
        self.slug = slug
        self.route = f"/t/{slug}/projects"
        self.cookies = cookies
        self.rows = rows  # rows the projects table shows once loaded
        self.ws: ClientConnection | None = None
        self.page: Control | None = None
        self.session_id: str | None = None
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self.crashes: list[str] = []
        self.errors: list[str] = []
        self.frames = 0
        self.bytes = 0
        self.extensions = ""
        self.opened_at = self.ready_at = 0.0
        # The way to the "Projects" section and the table, as last seen.
        self.button_id: int | None = None
        self.nav_index: int | None = None
        self.nav_kind = self.link_kind = ""
        self.click_kind: str | None = None
        self.table_id: int | None = None
        self.table_rows = 0
        # The click in flight: (sent at, table id before it); results appended to the lists.
        self.click_sent: float | None = None
        self.click_table: int | None = None
        self.click_first: float | None = None
        self.click_saw_loading = False
        self.loading: bool | None = None  # the view's loading bar shows (None: not found)
        self.click_done = asyncio.Event()  # set while no click is in flight
        self.click_done.set()
        self.first_patch_ms: list[float] = []
        self.reloaded_ms: list[float] = []
        self._reader: asyncio.Task[None] | None = None

    # -- connection ----------------------------------------------------------------------------

    async def open(self, ws_url: str, origin: str, compression: str | None) -> None:
        self.opened_at = time.perf_counter()
        self.ws = await connect(
            ws_url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())},
            user_agent_header=USER_AGENT,
            compression=compression,
            max_size=None,
            ping_interval=None,  # browsers do not ping; the server's pings are answered
            open_timeout=120,
            close_timeout=5,
        )
        self.extensions = ", ".join(type(e).__name__ for e in self.ws.protocol.extensions)
        self._reader = asyncio.create_task(self._read())
        await self.ws.send(encode(REGISTER, register_request(self.route)))

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await self.ws.close()
            except Exception as exc:
                self.errors.append(f"close: {exc!r}"[:300])
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                if not isinstance(frame, bytes) or frame[:1] != b"\x00":
                    continue
                self.frames += 1
                self.bytes += len(frame)
                await self._receive(decode(frame), now)
        except ConnectionClosed as exc:
            if not self.closed.is_set() and exc.rcvd is not None and exc.rcvd.code != 1000:
                self.errors.append(f"closed by the server: {exc.rcvd}")
        except Exception as exc:
            self.errors.append(f"reader: {exc!r}"[:300])
        finally:
            self.closed.set()

    async def _receive(self, message: list[Any], now: float) -> None:
        action, body = message
        if action == REGISTER:
            self.session_id = body["session_id"]
            if body.get("error"):
                self.crashes.append(str(body["error"])[:300])
            self.page = body["page_patch"]
        elif action == PATCH:
            if self.click_sent is not None and self.click_first is None:
                self.click_first = now
                self.first_patch_ms.append((now - self.click_sent) * 1000)
            if self.page is not None:
                target = self._by_id(body["id"])
                if target is not None:
                    apply_patch(target, body["patch"])
            self._look()
            if self.click_sent is not None and self.loading:
                self.click_saw_loading = True
            if self.click_sent is not None and self._reloaded():
                self.reloaded_ms.append((now - self.click_sent) * 1000)
                self.click_sent = None
                self.click_done.set()
            if not self.ready.is_set() and self._loaded():
                self.ready_at = now
                self.ready.set()
        elif action == INVOKE:
            await self._answer(body)
        elif action == CRASHED:
            self.crashes.append(str(body.get("message"))[:300])

    async def _answer(self, call: dict[str, Any]) -> None:
        """What the Flutter client answers (push_route: the route changes, then route_change)."""
        assert self.ws is not None
        assert self.page is not None
        error = None
        if call["name"] == "push_route":
            route = call["args"]["route"]
            self.page["route"] = route
            await self.ws.send(encode(UPDATE, {"id": self.page["_i"], "props": {"route": route}}))
            await self.ws.send(
                encode(
                    EVENT,
                    {"target": self.page["_i"], "name": "route_change", "data": {"route": route}},
                )
            )
        elif call["name"] not in ("open_window", "launch_url"):
            error = f"the bench client cannot {call['name']}"
        await self.ws.send(
            encode(
                INVOKE,
                {
                    "control_id": call["control_id"],
                    "call_id": call["call_id"],
                    "result": None,
                    "error": error,
                },
            )
        )

    # -- the screen ------------------------------------------------------------------------------

    def _by_id(self, control_id: int) -> Control | None:
        assert self.page is not None
        for control in walk(self.page):
            if control.get("_i") == control_id:
                return control
        return None

    def _look(self) -> None:
        """Find the way to the "Projects" section and the projects table on screen: a
        NavigationRail's or NavigationDrawer's destination (`nav_index`), else the first
        clickable control showing "Projects" (a rail or header button)."""
        self.button_id = self.table_id = self.nav_index = self.loading = None
        self.table_rows = 0
        if self.page is None:
            return
        link = None
        for control in walk(self.page):
            kind = control["_c"]
            if kind == "ProgressBar" and control.get("value") is None and self.loading is None:
                self.loading = control.get("visible", True)  # the view's loading bar
            elif kind == "DataTable":
                self.table_id = control["_i"]
                self.table_rows = len(control.get("rows") or [])
            elif kind in ("NavigationRail", "NavigationDrawer") and control.get("on_change"):
                if self.nav_index is not None and kind == "NavigationDrawer":
                    continue  # the rail is what a wide window shows
                labels = [d.get("label") for d in _destinations(control)]
                if SECTION in labels:
                    self.button_id, self.nav_index = control["_i"], labels.index(SECTION)
                    self.nav_kind = kind
            elif link is None and control.get("on_click") and _shows(control, SECTION):
                link = control["_i"]
                self.link_kind = kind
        if self.button_id is None:
            self.button_id = link
            self.click_kind = f"{self.link_kind} click" if link is not None else None
        else:
            self.click_kind = f"{self.nav_kind} destination {self.nav_index} change"

    def describe(self) -> dict[str, Any]:
        """What this tab shows (for a tab that never got ready)."""
        if self.page is None:
            return {"page": None, "frames": self.frames}
        controls = list(walk(self.page))
        texts = [
            v
            for c in controls
            for k in ("value", "content", "label", "text", "title")
            if isinstance(v := c.get(k), str) and v
        ]
        return {
            "route": self.page.get("route"),
            "controls": len(controls),
            "table_rows": self.table_rows,
            "way_to_section": self.click_kind,
            "texts": texts[:40],
            "frames": self.frames,
        }

    def _loaded(self) -> bool:
        return self.button_id is not None and self.table_rows == self.rows

    def _reloaded(self) -> bool:
        """The rows are on screen again: in a rebuilt view (a new table), or in the same view
        once its loading bar came and went."""
        rebuilt = self.table_id != self.click_table
        return self._loaded() and (rebuilt or (self.click_saw_loading and self.loading is False))

    @property
    def busy(self) -> bool:
        return self.click_sent is not None

    async def click(self) -> None:
        """Go to the "Projects" section (the one on screen): its rows are loaded again. On a
        navigation rail or drawer the client first reports the selected index, then the change
        (as Flet's Flutter client does); a link is clicked."""
        assert self.ws is not None
        assert self.button_id is not None
        self.click_table = self.table_id
        self.click_first = None
        self.click_saw_loading = False
        self.click_done.clear()
        self.click_sent = time.perf_counter()
        if self.nav_index is None:
            event = {"target": self.button_id, "name": "click", "data": None}
        else:
            props = {"selected_index": self.nav_index}
            await self.ws.send(encode(UPDATE, {"id": self.button_id, "props": props}))
            event = {"target": self.button_id, "name": "change", "data": str(self.nav_index)}
        await self.ws.send(encode(EVENT, event))


def _shows(control: Control, text: str) -> bool:
    """A clickable control for `text`: its content, a text inside it, or a tooltip that starts
    with it ("Projects (current page)")."""
    tooltip = control.get("tooltip")
    if isinstance(tooltip, dict):
        tooltip = tooltip.get("message")
    if isinstance(tooltip, str) and tooltip.startswith(f"{text} ("):
        return True
    return any(
        c.get(k) == text for c in walk(control) for k in ("content", "value", "label", "text")
    )


def _destinations(nav: Control) -> list[Control]:
    if nav["_c"] == "NavigationRail":
        return list(nav.get("destinations") or [])
    return [c for c in nav.get("controls") or [] if c["_c"] == "NavigationDrawerDestination"]
