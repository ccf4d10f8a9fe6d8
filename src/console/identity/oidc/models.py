"""The values the relying party hands out and its one error type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.kit.errors import ConsoleError


@dataclass(frozen=True)
class ProviderConfig:
    """An identity provider as the console is registered with it."""

    issuer: str
    client_id: str
    client_secret: str | None = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "email", "profile")


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the browser, and what to keep server-side (bound to that browser)."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider vouched for, after every check passed."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str
    claims: dict[str, Any] = field(repr=False)


class OIDCError(ConsoleError):
    """A failed sign-in or provider configuration. `message` is safe to show a user (no tokens,
    codes or secrets); `reason` is a stable code for logs and tests."""

    status, slug, title = 400, "sign-in-failed", "Sign-in failed"

    def __init__(self, message: str, *, reason: str = "invalid", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        if status is not None:
            self.status = status
