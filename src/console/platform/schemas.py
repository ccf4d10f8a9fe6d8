"""Platform (operator) API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from console.identity.signin_schemas import IdentityProviderUpdate
from console.kit.inputs import NoNul
from console.tenancy.schemas import SLUG_PATTERN


class PlatformTenant(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    status: Literal["active", "suspended"]
    suspended_reason: str | None
    created_at: datetime
    member_count: int
    project_count: int


class PlatformTenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=63)]
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
    ]
    admin_email: EmailStr = Field(description="The first admin; created if unknown.")
    identity_provider: IdentityProviderUpdate | None = Field(
        default=None,
        description="How the tenant's users sign in (its admins can change it later). "
        "Without one, only the development provider (dev) or an operator can set it up.",
    )


class SuspendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), NoNul] = ""
