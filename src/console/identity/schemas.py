"""Identity API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from console.kit.inputs import NoNul, UTCDateTime
from console.tenancy.roles import Role


class Me(BaseModel):
    id: uuid.UUID
    email: str
    name: str
    is_operator: bool
    authenticated_via: Literal["session", "token"]


class ApiToken(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's visible start (`cnsl_<prefix>_...`).")
    role: Role
    owner_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul
    ]
    role: Role = Role.VIEWER
    expires_at: UTCDateTime | None = Field(default=None, description="Omit for no expiry.")


class ApiTokenCreated(ApiToken):
    token: str = Field(description="The secret, shown only in this response.")
