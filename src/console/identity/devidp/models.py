"""What the lead configures: registered clients and the users offered on the sign-in page."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email


@dataclass(frozen=True)
class DevClient:
    """A confidential client; redirect URIs must match exactly."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class DevUser:
    email: str
    name: str

    @property
    def subject(self) -> str:
        """The `sub` claim: stable per email, whatever its case."""
        return hashlib.sha256(self.email.strip().lower().encode()).hexdigest()


MAX_NAME_LENGTH = 200  # as the console's users.name

KnownUsers = Callable[[], Awaitable[Sequence[DevUser]]]


def parse_user(email: str, name: str) -> tuple[DevUser | None, dict[str, str]]:
    """A user from the sign-in form, or the errors to show next to each field."""
    errors: dict[str, str] = {}
    normalized = ""
    try:
        normalized = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        errors["email"] = str(error)
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"Use at most {MAX_NAME_LENGTH} characters."
    elif any(unicodedata.category(c).startswith("C") for c in name):
        errors["name"] = "Remove the control characters."
    if errors:
        return None, errors
    return DevUser(email=normalized, name=name or normalized.partition("@")[0]), {}
