"""Bounded, time-limited requests to an identity provider; https unless it runs locally."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import structlog

from console.identity.oidc.models import OIDCError

log = structlog.get_logger(__name__)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_BODY_BYTES = 512 * 1024
UNREACHABLE = "The identity provider could not be reached"


def is_local(url: str) -> bool:
    """A development provider on this machine may use plain http."""
    try:
        return urlsplit(url).hostname in LOCAL_HOSTS
    except ValueError:
        return False


def check_url(url: object, *, allow_http: bool, what: str) -> str:
    """An absolute https URL (or http when allowed), else an OIDCError naming `what`."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
    except ValueError:
        parts = None
    if parts is None or not parts.hostname or parts.fragment:
        raise OIDCError(f"The identity provider's {what} is not a valid URL", reason="invalid_url")
    if parts.scheme == "https" or (allow_http and parts.scheme == "http"):
        return str(url)
    raise OIDCError(f"The identity provider's {what} must use https", reason="insecure_endpoint")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        """The decoded body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class ProviderHTTP:
    """Every call has a total deadline and a size cap, and never follows redirects."""

    def __init__(self, http: httpx.AsyncClient, deadline: float) -> None:
        self._http = http
        self._deadline = deadline

    async def send(self, method: str, url: str, **kwargs: Any) -> Reply:
        try:
            with anyio.fail_after(self._deadline):
                async with self._http.stream(
                    method, url, timeout=self._deadline, follow_redirects=False, **kwargs
                ) as response:
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > MAX_BODY_BYTES:
                            raise OIDCError(
                                "The identity provider sent an oversized response",
                                reason="oversized_response",
                                status=502,
                            )
                    return Reply(response.status_code, bytes(body))
        except (TimeoutError, httpx.HTTPError, httpx.InvalidURL) as exc:
            # Exception texts may carry URLs: log the type only, chain nothing.
            log.warning("oidc_unreachable", host=urlsplit(url).hostname, error=type(exc).__name__)
            raise OIDCError(UNREACHABLE, reason="unreachable", status=502) from None

    async def get_json(self, url: str, *, what: str) -> dict[str, Any]:
        reply = await self.send("GET", url, headers={"Accept": "application/json"})
        if reply.status != 200:
            raise OIDCError(
                f"The identity provider's {what} answered HTTP {reply.status}",
                reason="bad_response",
                status=502,
            )
        document = reply.json()
        if not isinstance(document, dict):
            message = f"The identity provider's {what} is not a JSON object"
            raise OIDCError(message, reason="bad_response", status=502)
        return document
