"""Signed, expiring links: HMAC-SHA256 with a key derived from the app secret per purpose."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs the parts of a link; a different `purpose` gives unrelated signatures."""

    def __init__(self, secret_key: str, purpose: str) -> None:
        self._key = hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    def sign(self, *parts: object) -> str:
        message = "\x1f".join(str(part) for part in parts).encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def verify(self, signature: str, *parts: object) -> bool:
        return hmac.compare_digest(signature.encode(), self.sign(*parts).encode())

    def dumps(self, payload: dict[str, object]) -> str:
        """A self-contained token: the payload (JSON, base64url) and its signature."""
        body = _b64(orjson.dumps(payload))
        return f"{body}.{self.sign(body)}"

    def loads(self, token: str) -> dict[str, object] | None:
        """The payload of a token this signer made; None if it was not (or was changed)."""
        body, _, signature = token.partition(".")
        if not body or not signature or not self.verify(signature, body):
            return None
        try:
            payload = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError):
            return None
        return payload if isinstance(payload, dict) else None


def download_signer(secret_key: str) -> Signer:
    return Signer(secret_key, "console job download v1")


def upload_signer(secret_key: str) -> Signer:
    return Signer(secret_key, "console upload v1")
