"""CSRF tokens for the sign-in forms, bound to a browser cookie and to one authorization request."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from console.identity.devidp.integration import Pairs

COOKIE_NAME = "devidp_csrf"
FIELD_NAME = "csrf_token"
TOKEN_TTL_SECONDS = 900
_BROWSER_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


def browser_id_or_new(cookie: str | None) -> str:
    """The browser's random id from its cookie, or a fresh one."""
    if cookie and _BROWSER_ID.match(cookie):
        return cookie
    return secrets.token_urlsafe(32)


class CsrfGuard:
    """Issues `<issued-at>.<hmac>` tokens; valid for one browser id and one request's parameters."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._secret = secrets.token_bytes(32)
        self._clock = clock

    def issue(self, browser_id: str, params: Pairs) -> str:
        issued_at = str(int(self._clock()))
        return f"{issued_at}.{self._mac(issued_at, browser_id, params)}"

    def verify(self, token: str, browser_id: str | None, params: Pairs) -> bool:
        issued_at, _, mac = token.partition(".")
        if not browser_id or not issued_at.isdigit():
            return False
        if not 0 <= self._clock() - int(issued_at) <= TOKEN_TTL_SECONDS:
            return False
        return hmac.compare_digest(mac, self._mac(issued_at, browser_id, params))

    def _mac(self, issued_at: str, browser_id: str, params: Pairs) -> str:
        request = hashlib.sha256(urlencode(sorted(params)).encode()).hexdigest()
        message = f"{issued_at}|{browser_id}|{request}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
