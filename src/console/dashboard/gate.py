"""The ASGI gate in front of the Flet app: websocket Origin allow-list, handshake cookies for the
session, the browser-binding cookie, and the dashboard's Content-Security-Policy."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)
# Flet's own OAuth state cookie would let a websocket attach to another session: never accepted.
_DROPPED_COOKIES = frozenset({"flet_oauth_state"})
# Seconds a dashboard websocket may go without Flet reading from it before it registered.
WEBSOCKET_CLEANUP_GRACE = 5.0
_WATCH_INTERVAL = 0.25


@dataclass(frozen=True)
class Handshake:
    """What the browser sent when it opened the dashboard's websocket."""

    cookies: dict[str, str] = field(default_factory=dict)
    client_ip: str | None = None
    user_agent: str = ""


# Set for the websocket's lifetime; Flet runs main(), on_connect and handlers in tasks created
# inside the websocket handler, so they all see the handshake of their current connection.
_NO_HANDSHAKE = Handshake()
HANDSHAKE: ContextVar[Handshake] = ContextVar("dashboard_handshake", default=_NO_HANDSHAKE)


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is ignored, not fatal
                continue
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def content_security_policy(script_hashes: list[str]) -> str:
    """A CSP Flutter's renderers work under: our origin only, wasm allowed, no framing."""
    scripts = " ".join(f"'sha256-{h}'" for h in script_hashes)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'wasm-unsafe-eval' {scripts}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class _FletWatch:
    """What Flet's websocket handler is doing: waiting for a frame, and whether it has sent any
    (the first is its answer to the client's register)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive, self._send = receive, send
        self.reading = False
        self.registered = False

    async def receive(self) -> Message:
        self.reading = True
        try:
            return await self._receive()
        finally:
            self.reading = False

    async def send(self, message: Message) -> None:
        if message["type"] == "websocket.send":
            self.registered = True
        await self._send(message)


class DashboardGate:
    """Wraps the Flet ASGI app (everything under FLET_WEB_APP_PATH)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_origins: frozenset[str],
        binding_cookie: str,
        secure_cookies: bool,
        websocket_cleanup_grace: float = WEBSOCKET_CLEANUP_GRACE,
    ) -> None:
        self.app = app
        self.websocket_cleanup_grace = websocket_cleanup_grace
        self.trusted_origins = trusted_origins
        self.binding_cookie = binding_cookie
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = (_header(scope, b"origin") or "").rstrip("/")
        if origin not in self.trusted_origins:
            log.warning("dashboard_websocket_refused", origin=origin[:200] or None)
            await send({"type": "websocket.close", "code": 1008})
            return
        cookies = {k: v for k, v in _cookies(scope).items() if k not in _DROPPED_COOKIES}
        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"cookie"]
        client = scope.get("client")
        token = HANDSHAKE.set(
            Handshake(
                cookies=cookies,
                client_ip=client[0] if client else None,
                user_agent=_header(scope, b"user-agent") or "",
            )
        )
        try:
            await self._flet_websocket(scope, receive, send)
        finally:
            HANDSHAKE.reset(token)

    async def _flet_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Flet's handler never returns when its receive loop ends before a session registered
        (the client left, or sent a frame Flet cannot read): its send loop waits forever, and
        with it the connection's task and graceful shutdown. Until the first frame Flet sends
        (the register answer), a handler that stops reading for the grace period is cancelled;
        after that Flet cleans up after itself."""
        watch = _FletWatch(receive, send)
        handler = asyncio.ensure_future(self.app(scope, watch.receive, watch.send))
        try:
            stalled = 0.0
            while not watch.registered and stalled < self.websocket_cleanup_grace:
                done, _ = await asyncio.wait({handler}, timeout=_WATCH_INTERVAL)
                if done:
                    break
                stalled = 0.0 if watch.reading else stalled + _WATCH_INTERVAL
            if not handler.done() and not watch.registered:
                log.info("dashboard_websocket_abandoned")
                handler.cancel()
            await asyncio.wait({handler})
        finally:
            if not handler.done():  # this connection's task itself was cancelled
                handler.cancel()
        if not handler.cancelled():
            handler.result()  # the handler's own error, if any

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        needs_binding = self.binding_cookie not in _cookies(scope)
        start: Message | None = None
        body = bytearray()

        async def send_wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if needs_binding:
                    headers.append((b"set-cookie", self._binding_cookie_header()))
                message["headers"] = headers
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # hold it: the CSP needs the page's inline-script hashes
                    return
                await send(message)
            elif start is not None:
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send_html(start, bytes(body), send)
            else:
                await send(message)

        await self.app(scope, receive, send_wrapped)

    async def _send_html(self, start: Message, body: bytes, send: Send) -> None:
        hashes = [
            base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()
            for m in _INLINE_SCRIPT.finditer(body)
        ]
        headers = [
            (k, v)
            for k, v in start["headers"]
            if k not in (b"content-length", b"content-security-policy")
        ]
        headers += [
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", content_security_policy(hashes).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _binding_cookie_header(self) -> bytes:
        value = secrets.token_urlsafe(24)
        parts = [f"{self.binding_cookie}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts).encode()
