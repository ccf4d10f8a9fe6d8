"""Input types for request schemas: text every backend can store, date-times that exist in UTC.

Both reject at validation (a 422 problem) what would otherwise fail in the database (a 500):
PostgreSQL text cannot hold NUL, and an offset date-time at the edge of the calendar overflows
when converted to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def reject_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Text must not contain NUL (\\u0000)")
    return value


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("timezone_required", "Give a timezone, e.g. 2030-01-01T00:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "Date-time is out of range once converted to UTC"
        ) from None


NoNul = AfterValidator(reject_nul)
Text = Annotated[str, NoNul]
UTCDateTime = Annotated[datetime, AfterValidator(to_utc)]
