"""A network for tests: chosen origins are served by in-process ASGI apps, every other origin is
the real network (so an unreachable host stays unreachable)."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp


def origin_of(url: httpx.URL | str) -> str:
    url = httpx.URL(url)
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}"


class InProcessNetwork(httpx.AsyncBaseTransport):
    """Give it to `create_app(oidc_transport=...)` and to the test's browser, then `serve` the
    app under its public origin (and any test identity provider under its own)."""

    def __init__(self) -> None:
        self._hosts: dict[str, httpx.ASGITransport] = {}
        self._internet = httpx.AsyncHTTPTransport()

    def serve(self, origin: str, app: ASGIApp) -> None:
        self._hosts[origin_of(origin)] = httpx.ASGITransport(app=app)

    def forget(self, origin: str) -> None:
        self._hosts.pop(origin_of(origin), None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._hosts.get(origin_of(request.url), self._internet)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._internet.aclose()
