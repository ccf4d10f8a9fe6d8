"""The dashboard's websocket accepts only the console's own origin; its Content-Security-Policy
lets the Flutter app render and work (and blocks what it should)."""

from __future__ import annotations

import re
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.e2e.conftest import Console
from tests.e2e.flutter import expect, open_dashboard, shot, sign_in_screen

OPEN_SOCKET = """url => new Promise(resolve => {
    const socket = new WebSocket(url);
    socket.onopen = () => { socket.close(); resolve("open"); };
    socket.onclose = event => resolve(`closed ${event.code}`);
    setTimeout(() => resolve("timeout"), 5000);
})"""
# Flet's web client asks a CDN for Rive's runtime whatever no_cdn says; the policy blocks it and
# nothing the dashboard uses needs it.
KNOWN_BLOCKED = re.compile(r"^https://cdn\.jsdelivr\.net/npm/@rive-app/")


def _ws_url(console: Console) -> str:
    return f"ws://127.0.0.1:{console.port}/dashboard/ws"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:{port}", None])
def test_raw_websocket_from_a_foreign_or_no_origin_is_refused(console: Console, origin):
    with pytest.raises(InvalidStatus) as refused:
        connect(
            _ws_url(console), origin=origin and origin.format(port=console.port), open_timeout=5
        )
    assert refused.value.response.status_code == 403


def test_raw_websocket_from_the_console_origin_is_accepted(console: Console):
    with connect(_ws_url(console), origin=console.base, open_timeout=5) as socket:
        assert socket.response.status_code == 101


def test_websockets_abandoned_before_registering_are_cleaned_up(console: Console):
    """Flet's handler used to wait forever for a client that left (or sent a frame it cannot
    read) before registering: one stuck task per connection, and a 25 s graceful shutdown."""
    before = console.log_text().count("dashboard_websocket_abandoned")
    with connect(_ws_url(console), origin=console.base, open_timeout=5):
        pass  # leaves at once
    with connect(_ws_url(console), origin=console.base, open_timeout=5) as socket:
        socket.send(b"\x00\xc1")  # not a Flet frame (0xc1 is never valid msgpack)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=15)  # the console gives up on it and closes it
    deadline = time.monotonic() + 15
    while console.log_text().count("dashboard_websocket_abandoned") < before + 2:
        assert time.monotonic() < deadline, "the abandoned handlers were not cleaned up"
        time.sleep(0.2)


def test_browser_websocket_from_another_origin_is_refused(console: Console, new_context):
    context = new_context()
    page = context.new_page()
    # http://localhost:<port> is the same server under another origin (and another site).
    page.goto(console.foreign_base + "/livez")
    assert page.evaluate(OPEN_SOCKET, _ws_url(console)).startswith("closed")
    page.goto(console.url("/livez"))
    assert page.evaluate(OPEN_SOCKET, _ws_url(console)) == "open"

    # The whole dashboard, loaded from the other origin, never gets a session.
    sockets: list[str] = []
    frames: list[str] = []
    errors: list[str] = []

    def watch(socket) -> None:
        sockets.append(socket.url)
        socket.on("framereceived", lambda frame: frames.append(socket.url))
        socket.on("socketerror", lambda error: errors.append(error))

    page.on("websocket", watch)
    open_dashboard(page, console.foreign_base + "/dashboard/t/demo/sign-in")
    page.wait_for_timeout(3000)
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_have_count(0)
    shot(page, "websocket-01-dashboard-from-foreign-origin")
    assert sockets
    assert all(url.startswith(f"ws://localhost:{console.port}/") for url in sockets)
    assert not frames
    assert errors, sockets


def test_content_security_policy_lets_the_dashboard_work(console: Console, new_context):
    context = new_context()
    context.add_init_script(
        """window.__csp = [];
        document.addEventListener("securitypolicyviolation", e => window.__csp.push(
            {directive: e.effectiveDirective, blocked: e.blockedURI}));"""
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    response = open_dashboard(page, console.url("/dashboard/sign-in"))
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy
    assert "'unsafe-eval'" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]

    # Renders, and works: choose a tenant, land on its sign-in screen.
    expect(sign_in_screen(page, "Sign in to Console")).to_be_visible()
    shot(page, "csp-01-tenant-picker")
    page.get_by_role("textbox", name=re.compile(r"\bTenant\b")).click()
    page.keyboard.type("demo")
    page.get_by_role("button", name="Continue").click()
    expect(sign_in_screen(page, "Sign in to Demo Company")).to_be_visible()
    assert page.url == console.url("/dashboard/t/demo/sign-in")
    shot(page, "csp-02-after-continue")

    violations = page.evaluate("window.__csp")
    unexpected = [v for v in violations if not KNOWN_BLOCKED.match(v["blocked"])]
    assert not unexpected, violations
    csp_errors = [e for e in errors if "Content Security Policy" in e and "rive" not in e]
    assert not csp_errors, errors
