"""Who is calling: a signed-in user (cookie session) or an API token acting for its owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from console.tenancy.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    email: str
    name: str
    is_operator: bool
    via: Literal["session", "token"]
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    token_tenant_id: uuid.UUID | None = None
    token_role: Role | None = None
    token_name: str | None = None
    issuer: str | None = None

    @property
    def label(self) -> str:
        """How audit events name the actor."""
        return f"{self.email} (token {self.token_name})" if self.via == "token" else self.email

    def opens(self, tenant_issuer: str | None) -> bool:
        """Whether this caller may enter a tenant whose own provider is `tenant_issuer`: a
        browser session opens only tenants that trust the provider that signed it in."""
        return (
            self.via != "session"
            or self.issuer is None
            or tenant_issuer is None
            or tenant_issuer == self.issuer
        )

    @property
    def may_operate_platform(self) -> bool:
        # Tokens are tenant-bound: they never carry operator powers.
        return self.is_operator and self.via == "session"
