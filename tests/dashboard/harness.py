"""Drive the Flet dashboard the way a browser does, without a browser.

`FakeBrowser` is the client half of Flet's wire protocol: it keeps a mirror of the control tree
built only from what the server sent (register answer + patches), answers the server's method
calls the way the Flutter client does (`push_route` updates the page's route, then fires
`route_change`), and sends events (click, submit, dismiss) and property updates (typing).

Two transports:
- `InProcessBrowser`: a real `flet.messaging.session.Session` over a recording Connection that
  msgpack-encodes every message (encoding records the snapshot the next diff is computed
  against, so diffs only work when every message is encoded) and calls `main(page)` directly;
  the handshake cookies are given to the session's tasks through the gate's HANDSHAKE ContextVar.
- `WebSocketBrowser`: the whole ASGI app over an in-process websocket (httpx-ws).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import flet as ft
import httpx
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    Message,
    MessageAction,
    RegisterClientResponseBody,
    configure_encode_object_for_msgpack,
    decode_ext_from_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub
from flet_web.fastapi.flet_app_manager import app_manager
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

from console.dashboard.gate import HANDSHAKE, Handshake
from tests.conftest import ORIGIN
from tests.dashboard.wire import apply_patch, register_request

REGISTER, PATCH, EVENT, UPDATE, INVOKE, CRASHED = 1, 2, 3, 4, 5, 6
# Props whose string values a person can read on screen (or in a tooltip).
TEXT_PROPS = ("value", "content", "label", "text", "title", "error", "hint_text", "tooltip")
DIALOG_TYPES = {"AlertDialog", "SnackBar", "BottomSheet", "Banner", "CupertinoAlertDialog"}
Control = dict[str, Any]


def encode(action: int, body: Any) -> bytes:
    """One client→server websocket frame."""
    return b"\x00" + msgpack.packb([action, body])


def decode(frame: bytes) -> list[Any]:
    assert frame[:1] == b"\x00", f"not a protocol frame: {frame[:8]!r}"
    return msgpack.unpackb(frame[1:], strict_map_key=False, ext_hook=decode_ext_from_msgpack)


def _is_control(value: Any) -> bool:
    return isinstance(value, dict) and "_c" in value


def _children(control: Control) -> Iterator[Control]:
    def walk(value: Any) -> Iterator[Control]:
        if _is_control(value):
            yield value
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)

    for key, value in control.items():
        if key not in ("_c", "_i"):
            yield from walk(value)


def signature(tree: Control) -> list[tuple[Any, ...]]:
    """What a tree shows, insensitive to how it was sent: a patch may add a prop after others
    (key order) or set it back to its default explicitly (`visible: True`) where a full
    encoding leaves it out."""
    found: list[tuple[Any, ...]] = []

    def walk(c: Control) -> None:
        found.append(
            (
                c["_i"],
                c["_c"],
                c.get("visible") is not False,
                bool(c.get("open")),
                bool(c.get("disabled")),
                tuple(own_texts(c)),
            )
        )
        for key in sorted(k for k in c if k not in ("_c", "_i")):
            for child in _children({key: c[key]}):
                walk(child)

    walk(tree)
    return found


def own_texts(control: Control) -> list[str]:
    return [v for k in TEXT_PROPS if isinstance(v := control.get(k), str) and v]


class FakeBrowser:
    """The client side of one Flet connection: a control-tree mirror plus input."""

    def __init__(self) -> None:
        self.page: Control | None = None
        self.session_id: str | None = None
        self.messages: list[list[Any]] = []  # everything the server sent, decoded
        self.crashes: list[str] = []
        self.opened_urls: list[str] = []  # windows/tabs the app asked the browser to open
        self._tasks: set[asyncio.Task[Any]] = set()
        self._open_dialogs: set[int] = set()

    # -- the server's messages -------------------------------------------------------------

    def receive(self, message: list[Any]) -> None:
        self.messages.append(message)
        action, body = message
        if action == REGISTER:
            self.session_id = body["session_id"]
            if body.get("error"):
                self.crashes.append(body["error"])
            self.page = body["page_patch"]
        elif action == PATCH:
            target = self.by_id(body["id"])
            if target is not None:
                apply_patch(target, body["patch"])
            self._dismiss_closed_dialogs()
        elif action == INVOKE:
            self._spawn(self._answer(body))
        elif action == CRASHED:
            self.crashes.append(body["message"])

    async def _answer(self, call: dict[str, Any]) -> None:
        """What the Flutter client does for the page methods the dashboard uses."""
        result, error = None, None
        if self.by_id(call["control_id"]) is None:  # as the Flutter client answers
            error = f"Calling {call['name']} method of inexistent control: {call['control_id']}"
        elif call["name"] in ("open_window", "launch_url"):
            self.opened_urls.append(call["args"]["url"])
        elif call["name"] == "push_route":
            route = call["args"]["route"]
            assert self.page is not None
            self.page["route"] = route
            await self.send(UPDATE, {"id": self.page["_i"], "props": {"route": route}})
            await self.send(
                EVENT, {"target": self.page["_i"], "name": "route_change", "data": {"route": route}}
            )
        else:
            error = f"the test browser cannot {call['name']}"
        await self.send(
            INVOKE,
            {
                "control_id": call["control_id"],
                "call_id": call["call_id"],
                "result": result,
                "error": error,
            },
        )

    def _dismiss_closed_dialogs(self) -> None:
        """A dialog closed by the server is dismissed by the client (which tells the server)."""
        dialogs = (self.page or {}).get("_dialogs", {}).get("controls", [])
        now_open = {d["_i"] for d in dialogs if d.get("open")}
        for dialog in dialogs:
            if dialog["_i"] in self._open_dialogs - now_open and dialog.get("on_dismiss"):
                self._spawn(self.send(EVENT, {"target": dialog["_i"], "name": "dismiss"}))
        self._open_dialogs = now_open

    # -- reading the screen ----------------------------------------------------------------

    def by_id(self, control_id: int) -> Control | None:
        if self.page is None:
            return None
        stack = [self.page]
        while stack:
            control = stack.pop()
            if control.get("_i") == control_id:
                return control
            stack.extend(_children(control))
        return None

    def controls(self, *, visible: bool = True) -> list[Control]:
        """Every control (depth first); with `visible`, what a person could see."""
        found: list[Control] = []

        def walk(control: Control) -> None:
            if visible and control.get("visible") is False:
                return
            if visible and control["_c"] in DIALOG_TYPES and not control.get("open"):
                return
            found.append(control)
            for child in _children(control):
                walk(child)

        if self.page is not None:
            walk(self.page)
        return found

    def texts(self, root: Control | None = None) -> list[str]:
        controls = self.controls() if root is None else _subtree(root)
        return [t for c in controls for t in own_texts(c)]

    def screen(self) -> str:
        return "\n".join(self.texts())

    def has_text(self, text: str) -> bool:
        return any(text in t for t in self.texts())

    def find(self, type_: str | None = None, *, text: str | None = None, **props: Any) -> Control:
        matches = self.find_all(type_, text=text, **props)
        if not matches:
            raise LookupError(
                f"no visible {type_ or 'control'} {text or props!r}:\n{self.screen()}"
            )
        return matches[0]

    def find_all(
        self, type_: str | None = None, *, text: str | None = None, **props: Any
    ) -> list[Control]:
        return [
            c
            for c in self.controls()
            if (type_ is None or c["_c"] == type_)
            and (text is None or text in " ".join(self.texts(c)))
            and all(c.get(k) == v for k, v in props.items())
        ]

    def snackbars(self) -> list[str]:
        return [" ".join(self.texts(s)) for s in self.find_all("SnackBar")]

    def table(self) -> list[list[str]]:
        """The visible DataTable's rows as cell texts."""
        table = self.find("DataTable")
        return [
            [" ".join(self.texts(cell)) for cell in row.get("cells", [])]
            for row in table.get("rows", [])
        ]

    def everything_sent(self) -> str:
        """Every string the server ever sent this browser (patches, dialogs, errors)."""
        return "\n".join(_strings(self.messages))

    # -- input -------------------------------------------------------------------------------

    async def click(self, text: str, type_: str | None = None) -> None:
        """Click the innermost visible, enabled control showing `text` that has a click
        handler; while a modal dialog is open, only inside it (as a person could)."""
        modal = [d for d in self.find_all("AlertDialog") if d.get("modal")]
        reachable = {id(c) for c in _subtree(modal[-1])} if modal else None
        candidates = [
            c
            for c in self.find_all(type_, text=text)
            if c.get("on_click")
            and not c.get("disabled")
            and (reachable is None or id(c) in reachable)
        ]
        if not candidates:
            raise LookupError(f"nothing clickable shows {text!r}:\n{self.screen()}")
        await self.event(candidates[-1], "click")

    async def fill(self, label: str, value: str) -> None:
        """Type into the text field with this label (the client reports the new value)."""
        field = self.find(label=label)
        field["value"] = value
        await self.send(UPDATE, {"id": field["_i"], "props": {"value": value}})
        if field.get("on_change"):
            await self.event(field, "change", value)
        await self.settle()

    async def submit(self, label: str) -> None:
        field = self.find(label=label)
        await self.event(field, "submit", field.get("value") or "")

    async def event(self, control: Control, name: str, data: Any = None) -> None:
        await self.send(EVENT, {"target": control["_i"], "name": name, "data": data})
        await self.settle()

    # -- waiting -----------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[], bool], *, within: float = 10.0, what: str = ""
    ) -> None:
        """Poll until `predicate()` holds (for work the browser did not start itself)."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {within}s for {what or predicate}:\n{self.screen()}")
            await asyncio.sleep(0.01)

    async def wait_for_text(self, text: str, *, within: float = 10.0) -> None:
        await self.wait_for(lambda: self.has_text(text), within=within, what=repr(text))

    async def settle(self) -> None:
        """Wait for what this browser started (events, answers) to finish on the server."""
        while pending := {t for t in self._tasks if not t.done()}:
            await asyncio.wait(pending)
        for task in list(self._tasks):
            self._tasks.discard(task)
            task.result()

    def _spawn(self, coro: Awaitable[Any], ctx: contextvars.Context | None = None) -> None:
        task = asyncio.ensure_future(coro) if ctx is None else _task_in(ctx, coro)
        self._tasks.add(task)

    async def send(self, action: int, body: dict[str, Any]) -> None:
        raise NotImplementedError


def _task_in(ctx: contextvars.Context, coro: Any) -> asyncio.Task[Any]:
    return asyncio.get_running_loop().create_task(coro, context=ctx)


def _subtree(root: Control) -> list[Control]:
    found = [root]
    for child in _children(root):
        if child.get("visible") is not False:
            found.extend(_subtree(child))
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


# -- layer 1: an in-process Session ------------------------------------------------------------


class RecordingConnection(Connection):
    """A Connection whose every message is msgpack-encoded (as FletApp does) and handed to the
    fake browser decoded."""

    def __init__(self, browser: FakeBrowser, hub: PubSubHub) -> None:
        super().__init__()
        self.browser = browser
        self.loop = asyncio.get_running_loop()
        self.executor = app_manager.executor
        self.pubsubhub = hub
        self.page_name = "dashboard"
        self.page_url = f"{ORIGIN}/dashboard"
        self._encode = configure_encode_object_for_msgpack(BaseControl)
        self.oauth_states: list[dict[str, Any]] = []

    def send_message(self, message: Message) -> None:
        frame = b"\x00" + msgpack.packb([message.action, message.body], default=self._encode)
        self.browser.receive(decode(frame))

    def oauth_authorize(self, attrs: dict[str, Any]) -> None:
        """page.login registers its state here (FletApp keeps it for the oauth callback)."""
        self.oauth_states.append(attrs)


class InProcessBrowser(FakeBrowser):
    """One browser tab on an in-process Flet session running the dashboard's `main(page)`."""

    def __init__(self, main: Callable[[ft.Page], Awaitable[None]], hub: PubSubHub) -> None:
        super().__init__()
        self.main = main
        self.hub = hub
        self.session: Session | None = None
        self.connection: RecordingConnection | None = None
        self._ctx = contextvars.copy_context()

    @property
    def flet_page(self) -> ft.Page:
        assert self.session is not None
        return self.session.page

    def _handshake(self, cookies: dict[str, str]) -> None:
        """A fresh context per connection, as each websocket handler has its own."""
        self._ctx = contextvars.copy_context()
        self._ctx.run(
            HANDSHAKE.set,
            Handshake(cookies=dict(cookies), client_ip="127.0.0.1", user_agent="pytest"),
        )

    async def open(self, route: str, cookies: dict[str, str] | None = None) -> InProcessBrowser:
        """First load of a tab: register, then main(page) (as FletApp does for a new session)."""
        self._handshake(cookies or {})
        self.connection = conn = RecordingConnection(self, self.hub)
        self.session = session = Session(conn)
        self._ctx.run(_context_page.set, session.page)
        session.apply_page_patch(register_request(route)["page"])
        session.page.client_ip = "127.0.0.1"
        session.page.client_user_agent = "pytest"
        conn.send_message(
            Message(
                MessageAction.REGISTER_CLIENT,
                RegisterClientResponseBody(
                    session_id=session.id, page_patch=session.get_page_patch(), error=""
                ),
            )
        )
        self._spawn(self._run_main(session), self._ctx)
        await self.settle()
        return self

    async def _run_main(self, session: Session) -> None:
        _context_page.set(session.page)
        context.reset_auto_update()
        try:
            await self.main(session.page)
            await session.after_event(session.page)
        except Exception as exc:  # FletApp reports a crashed main() to the client like this
            session.error(str(exc))

    async def reload(self, cookies: dict[str, str] | None = None) -> None:
        """F5: the socket drops, the same session is re-attached with a new handshake, and
        on_connect runs (main is not run again)."""
        session = self.session
        assert session is not None
        await self.disconnect()
        self._handshake(cookies or {})
        self._open_dialogs.clear()
        self.connection = conn = RecordingConnection(self, self.hub)
        session.apply_page_patch(register_request(self.flet_page.route, session.id)["page"])
        conn.send_message(
            Message(
                MessageAction.REGISTER_CLIENT,
                RegisterClientResponseBody(
                    session_id=session.id, page_patch=session.page, error=""
                ),
            )
        )
        session.attach_connection(conn)
        self._spawn(session.dispatch_connect_event(), self._ctx)
        await self.settle()

    def server_tree(self) -> Control:
        """The session's page as a full encoding would send it now (to check the mirror).
        Only call it settled: encoding records what was sent, so unsent changes would be lost."""
        encoded = msgpack.packb(self.flet_page, default=self.connection._encode)
        return msgpack.unpackb(encoded, strict_map_key=False, ext_hook=decode_ext_from_msgpack)

    async def in_session(self, coro: Awaitable[Any]) -> Any:
        """Run server-side code as the session would (its context), and wait for the tasks it
        starts (Flet fires some events, e.g. on_login, with bare create_task)."""
        before = asyncio.all_tasks()
        result = await _task_in(self._ctx, coro)
        started = asyncio.all_tasks() - before
        await asyncio.gather(*(t for t in started if not t.done()))
        await self.settle()
        return result

    async def disconnect(self) -> None:
        assert self.session is not None
        await self.settle()
        await self.session.disconnect(60)

    async def close(self) -> None:
        """The session timed out after its tab went away: Flet closes it (on_close)."""
        assert self.session is not None
        before = asyncio.all_tasks()
        self.session.close()
        started = asyncio.all_tasks() - before
        await asyncio.gather(*started)

    async def send(self, action: int, body: dict[str, Any]) -> None:
        """What FletApp.__on_message does with a client message."""
        session = self.session
        assert session is not None
        if action == EVENT:
            coro = session.dispatch_event(body["target"], body["name"], body.get("data"))
            self._spawn(coro, self._ctx)
        elif action == UPDATE:
            session.apply_patch(body["id"], body["props"])
        elif action == INVOKE:
            session.handle_invoke_method_results(
                body["control_id"], body["call_id"], body["result"], body["error"]
            )
        else:
            raise AssertionError(f"unexpected client message {action}")
        await asyncio.sleep(0)


# -- layer 2: the whole ASGI app over a websocket ----------------------------------------------


class WebSocketBrowser(FakeBrowser):
    """One browser tab speaking Flet's protocol to the whole app (gate, mount, FletApp)."""

    def __init__(self, ws: AsyncWebSocketSession) -> None:
        super().__init__()
        self.ws = ws

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        app: ASGIApp,
        route: str,
        *,
        cookies: dict[str, str] | None = None,
        origin: str | None = ORIGIN,
        path: str = "/dashboard/ws",
        session_id: str = "",
    ) -> AsyncIterator[WebSocketBrowser]:
        """Open the websocket (as the page at `route` does) and register; use inside the test
        body (httpx-ws runs the app in a task group that must not cross a fixture's yield)."""
        headers = {"User-Agent": "pytest-browser"}
        if origin is not None:
            headers["Origin"] = origin
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        transport = ASGIWebSocketTransport(app=app, client=("127.0.0.1", 50000))
        async with (
            httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client,
            aconnect_ws(path, client, headers=headers, keepalive_ping_interval_seconds=None) as ws,
            anyio.create_task_group() as group,
        ):
            browser = cls(ws)
            group.start_soon(browser._read)
            await browser.send(REGISTER, register_request(route, session_id))
            await browser.wait_for(lambda: browser.page is not None, what="the register answer")
            try:
                yield browser
            finally:
                group.cancel_scope.cancel()

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.ws.receive_bytes()
            except WebSocketDisconnect:
                return
            self.receive(decode(frame))

    async def send(self, action: int, body: dict[str, Any]) -> None:
        await self.ws.send_bytes(encode(action, body))

    async def settle(self) -> None:
        """Only the server knows when it is done: give it a moment (use wait_for to assert)."""
        await super().settle()
        await asyncio.sleep(0.05)


async def refused_with(app: ASGIApp, **connect: Any) -> int | None:
    """The close code of a websocket refused before it was accepted (None if it was accepted).
    httpx-ws raises the refusal inside its task groups, hence the exception group."""
    codes: list[int] = []
    try:
        async with WebSocketBrowser.connect(app, "/", **connect):
            pass
    except* WebSocketDisconnect as group:
        codes = [e.code for e in _leaves(group)]
    return codes[0] if codes else None


def _leaves(group: BaseExceptionGroup) -> Iterator[Any]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def flet_sessions() -> dict[str, Session]:
    """The sessions FletApp registered (key: page name, session id and client hash)."""
    return dict(app_manager._FletAppManager__sessions)  # type: ignore[attr-defined]


async def evict_flet_sessions(keys: set[str]) -> None:
    """Evict these sessions now, as the eviction loop would after their timeout (on_close)."""
    before = asyncio.all_tasks()
    for key in keys:
        await app_manager.delete_session(key)
    await asyncio.gather(*(asyncio.all_tasks() - before))
