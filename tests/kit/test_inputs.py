"""Input that validation lets through must be storable: no NUL in text, no date-time that
overflows in UTC — in request fields and in the cursors clients send back."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import TypeAdapter, ValidationError

from console.kit.errors import Invalid
from console.kit.inputs import Text, UTCDateTime
from console.kit.pagination import decode_cursor, encode_cursor


def cursor_of(values: list[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


@pytest.mark.parametrize("value", ["\x00", "nul\x00inside"])
def test_text_with_nul_is_invalid(value: str):
    with pytest.raises(ValidationError, match="NUL"):
        TypeAdapter(Text).validate_python(value)


def test_datetimes_are_converted_to_utc():
    value = TypeAdapter(UTCDateTime).validate_python("2030-01-01T02:00:00+02:00")
    assert value == datetime(2030, 1, 1, tzinfo=UTC)
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2030-01-01T00:00:00", "timezone"),
        ("9999-12-31T23:59:59-23:59", "out of range"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
    ],
)
def test_naive_or_overflowing_datetimes_are_invalid(value: str, message: str):
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(UTCDateTime).validate_python(value)


def test_a_cursor_round_trips_in_utc():
    moment = datetime(2030, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    row_id = uuid.uuid4()
    assert decode_cursor(encode_cursor([moment, row_id]), (datetime, uuid.UUID)) == [
        moment.astimezone(UTC),
        row_id,
    ]


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        ([{"t": "9999-12-31T23:59:59-23:59"}, str(uuid.uuid4())], (datetime, uuid.UUID)),
        ([{"t": "2030-01-01T00:00:00"}, str(uuid.uuid4())], (datetime, uuid.UUID)),
        (["nul\x00inside", str(uuid.uuid4())], (str, uuid.UUID)),
    ],
)
def test_cursors_no_list_returned_are_invalid(values: list[object], kinds: tuple[type, ...]):
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(cursor_of(values), kinds)
