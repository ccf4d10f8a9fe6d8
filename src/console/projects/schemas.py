"""Project API shapes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from console.kit.inputs import NoNul

KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{1,31}$"
KEY_RULE = (
    "Key must start with a letter and have 2 to 32 letters, digits, hyphens (-) or underscores (_)."
)


def check_key(value: str) -> str:
    if not re.match(KEY_PATTERN, value):
        raise PydanticCustomError("project_key", KEY_RULE)
    return value


ProjectKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True),
    AfterValidator(check_key),
    WithJsonSchema({"type": "string", "pattern": KEY_PATTERN, "minLength": 2, "maxLength": 32}),
]
ProjectName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoNul
]
Description = Annotated[str, StringConstraints(max_length=10_000), NoNul]


class ProjectSort(StrEnum):
    NAME = "name"
    NAME_DESC = "-name"
    KEY = "key"
    KEY_DESC = "-key"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"


class Project(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    description: str
    status: Literal["active", "archived"]
    created_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectPage(BaseModel):
    items: list[Project]
    total: int = Field(description="Matching projects, counted up to a bound (see total_exact).")
    total_exact: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: ProjectKey = Field(description="Short code, unique in the tenant (stored upper-case).")
    name: ProjectName
    description: Description = ""


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ProjectName | None = None
    description: Description | None = None
    version: int | None = Field(
        default=None, ge=1, description="The version you edited; or send If-Match."
    )
