"""Sign-in and identity-provider API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from console.identity.oidc.transport import is_local
from console.tenancy.schemas import SLUG_PATTERN

# Either case: pydantic checks the pattern before `to_lower` applies.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=rf"^{_LABEL}(\.{_LABEL})+$", max_length=253
    ),
]
ScopeToken = Annotated[str, StringConstraints(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")]
# RFC 6749 A.1/A.2: client_id and client_secret are printable ASCII (VSCHAR).
_VSCHARS = r"^[\x20-\x7e]+$"


def _check_issuer(value: str) -> str:
    """OpenID Connect Discovery: https (plain http only on this machine), no credentials, query
    or fragment. Kept exactly as given: the provider's `iss` must match it character for
    character (some end in a slash)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError("must be an absolute https URL") from exc
    if parts.scheme != "https" and not (parts.scheme == "http" and is_local(value)):
        raise ValueError("must be an https URL (plain http only for a provider on this machine)")
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError("must be an absolute https URL without credentials")
    if "?" in value or "#" in value:
        raise ValueError("must have no query or fragment")
    return value


Issuer = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://[\x21-\x7e]+$"),
    AfterValidator(_check_issuer),
]


class SignInTarget(BaseModel):
    """Public: what the sign-in screen may show about a tenant."""

    slug: str
    name: str
    sign_in_available: bool
    suspended: bool = False


class SignInStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant: Annotated[str | None, Field(pattern=SLUG_PATTERN, max_length=63)] = Field(
        default=None, description="The tenant whose provider to use; omit for platform operators."
    )


class SignInStarted(BaseModel):
    authorization_url: str
    state: str
    expires_in: int


class SessionInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool = False


class IdentityProviderConfig(BaseModel):
    """A tenant's provider as admins see it; the client secret is never returned."""

    issuer: str
    client_id: str
    client_secret_set: bool
    scopes: list[str]
    allowed_email_domains: list[str]
    join_policy: Literal["invite_only", "open"]
    updated_at: datetime


class IdentityProviderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuer: Issuer = Field(description="Exactly as the provider's discovery document names it.")
    client_id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=_VSCHARS),
    ]
    client_secret: (
        Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=_VSCHARS)] | None
    ) = Field(default=None, description="Write-only; omit to keep the stored secret.")
    scopes: list[ScopeToken] = Field(
        default_factory=lambda: ["openid", "email", "profile"], max_length=20
    )
    allowed_email_domains: list[Domain] = Field(default_factory=list, max_length=50)
    join_policy: Literal["invite_only", "open"] = "invite_only"


class ProviderCheck(BaseModel):
    ok: bool
    issuer: str
    detail: str
    endpoints: dict[str, str] = Field(default_factory=dict)
