"""Keyset pagination with opaque cursors, and counts that never scan more than a bound."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from console.kit.errors import Invalid
from console.kit.inputs import reject_nul, to_utc

R = TypeVar("R")


def encode_cursor(values: list[Any]) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return {"t": v.isoformat()}
        if isinstance(v, uuid.UUID):
            return str(v)
        return v

    raw = orjson.dumps([plain(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    """Values of a cursor, converted to `kinds`; a malformed cursor is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("shape")
        out: list[Any] = []
        for kind, value in zip(kinds, values, strict=True):
            if kind is datetime:
                out.append(to_utc(datetime.fromisoformat(value["t"])))
            elif kind is uuid.UUID:
                out.append(uuid.UUID(value))
            elif kind is str and isinstance(value, str):
                out.append(reject_nul(value))
            elif kind is int and isinstance(value, int):
                out.append(value)
            else:
                raise ValueError("kind")
        return out
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise Invalid("cursor: not a cursor this list returned") from exc


def keyset_after(
    sort_column: InstrumentedAttribute[Any] | ColumnElement[Any],
    id_column: InstrumentedAttribute[Any] | ColumnElement[Any],
    descending: bool,
    after: list[Any],
) -> ColumnElement[bool]:
    """Rows strictly after the cursor position in (sort, id) order.

    `after` holds the cursor's values, or bound parameters for a statement built once.
    """
    left = tuple_(sort_column, id_column)
    right = tuple_(*(v if isinstance(v, ColumnElement) else literal(v) for v in after))
    return left < right if descending else left > right


def bounded_count(filtered: Select[Any], bound: int | ColumnElement[int]) -> Select[tuple[int]]:
    """count(*) of a filtered select, reading at most bound + 1 rows (bound may be a parameter)."""
    limited = filtered.with_only_columns(literal(1)).order_by(None).limit(bound + 1).subquery()
    return select(func.count()).select_from(limited)


def cut_page(
    rows: list[R], limit: int, position: Callable[[R], list[Any]]
) -> tuple[list[R], str | None]:
    """Rows fetched as limit + 1 → the page, and the cursor after its last row (None at the end)."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(position(page[-1]))
