"""In Chromium: the page's CSP lets each form lead to the client on another origin.

`form-action` is also enforced on the redirect that follows a form POST, so the page allows
the client's origin besides 'self'. Skipped without Playwright and a Chromium binary.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from console.identity.devidp import DevClient, create_dev_idp
from tests.conftest import REQUIRE_BROWSER
from tests.identity.devidp.flow import AuthRequest, known_users

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        CHROMIUM is None and not REQUIRE_BROWSER,
        reason="no chromium binary on PATH (apt-get install chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(app: Starlette, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    return server


async def _callback(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"CALLBACK {request.url.query}")


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[str, DevClient]]:
    """The IdP on 127.0.0.1 and the client on localhost: different sites, as in the notes."""
    idp_port, rp_port = _free_port(), _free_port()
    client = DevClient("console", "secret", (f"http://localhost:{rp_port}/cb",))
    issuer = f"http://127.0.0.1:{idp_port}/dev-idp"
    idp = create_dev_idp(issuer=issuer, clients=[client], known_users=known_users)
    servers = [
        _serve(Starlette(routes=[Mount("/dev-idp", app=idp)]), idp_port),
        _serve(Starlette(routes=[Route("/cb", _callback)]), rp_port),
    ]
    yield f"http://127.0.0.1:{idp_port}", client
    for server in servers:
        server.should_exit = True


@pytest.mark.parametrize("choice", ["known", "typed", "cancel"])
async def test_every_form_reaches_the_client_under_the_pages_csp(
    sites: tuple[str, DevClient], choice: str
):
    origin, client = sites
    request = AuthRequest(client=client, redirect_uri=client.redirect_uris[0])
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda m: (
                    violations.append(m.text) if "Content Security Policy" in m.text else None
                ),
            )
            await page.goto(origin + request.url)
            if choice == "known":
                await page.get_by_role("button", name="Ada Admin").click()
            elif choice == "typed":
                await page.get_by_label("Email").fill("typed@demo.example")
                await page.get_by_role("button", name="Sign in", exact=True).click()
            else:
                await page.get_by_role("button", name="Cancel").click()
            await page.wait_for_url(f"{client.redirect_uris[0]}?*", timeout=5000)
            body = await page.text_content("body") or ""
        finally:
            await browser.close()
    assert violations == []
    assert body.startswith("CALLBACK ")
    assert ("error=access_denied" if choice == "cancel" else "code=") in body
    assert "iss=" in body
