"""Hands a verified sign-in from the callback (HTTP) to the Flet session that started it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flet.auth.authorization import Authorization


@dataclass(frozen=True)
class SignInResult:
    session_cookie: str
    user_id: str
    tenant_slug: str | None


class Handoff:
    """In-process, short-lived: the callback reaches the process holding the Flet session
    (sticky routing), so the verified result never needs to leave it."""

    def __init__(self, ttl: float = 120) -> None:
        self.ttl = ttl
        self._results: dict[str, tuple[float, SignInResult]] = {}

    def put(self, state: str, result: SignInResult) -> None:
        now = time.monotonic()
        self._results = {k: v for k, v in self._results.items() if v[0] > now}
        self._results[state] = (now + self.ttl, result)

    def take(self, state: str) -> SignInResult | None:
        entry = self._results.pop(state, None)
        return entry[1] if entry and entry[0] > time.monotonic() else None


@dataclass(frozen=True)
class PreparedSignIn:
    """Passed to `page.login` as its provider: the authorization URL was made by the API."""

    authorization_url: str
    state: str
    handoff: Handoff
    redirect_url: str = ""


class ConsoleAuthorization(Authorization):
    """Keeps Flet's `page.login` flow but does none of its (unsafe) token handling: the
    callback gate has already verified everything; this only collects the result."""

    def __init__(self, provider: PreparedSignIn, **_: Any) -> None:
        self.provider = provider
        self.state = provider.state
        self.result: SignInResult | None = None
        self.user = None
        self.token = None

    def adopt(self, state: str) -> None:
        """Complete with another sign-in this tab started: "Sign in" was clicked again while
        the first sign-in window was still open, and the user finished the older one."""
        self.state = state

    def get_authorization_data(self) -> tuple[str, str]:
        return self.provider.authorization_url, self.provider.state

    async def request_token(self, code: str) -> None:
        self.result = self.provider.handoff.take(self.state)
        if self.result is None:
            raise RuntimeError("the sign-in could not be completed")

    async def get_token(self) -> None:
        return None

    async def dehydrate_token(self, saved_token: str) -> None:
        raise NotImplementedError("saved tokens are not used: sessions are server-side")
