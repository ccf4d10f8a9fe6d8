"""The shape of API tokens and session cookies."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from console.kit.crypto import hash_token, new_secret

TOKEN_PREFIX = "cnsl_"  # noqa: S105 - a public marker, not a secret
_TOKEN = re.compile(r"^cnsl_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class NewToken:
    secret: str
    prefix: str
    token_hash: str


def new_api_token() -> NewToken:
    """`cnsl_<12-char lookup prefix>_<43-char secret>`; only the hash is stored."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    secret = f"{TOKEN_PREFIX}{prefix}_{new_secret(32)}"
    return NewToken(secret=secret, prefix=prefix, token_hash=hash_token(secret))


def parse_api_token(value: str) -> str | None:
    """The lookup prefix of a well-formed token, else None."""
    match = _TOKEN.match(value)
    return match.group(1) if match else None


def new_session_token() -> tuple[str, str]:
    """A session cookie value and the hash stored for it."""
    value = new_secret(32)
    return value, hash_token(value)
