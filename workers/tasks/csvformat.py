"""The projects CSV format shared by export and import.

- Dialect: RFC 4180 (comma, double quotes doubled, CRLF records), UTF-8; export writes no BOM,
  import accepts one.
- Header: `key,name,description,status,created_at,updated_at` on export. Import needs `key` and
  `name`, may have `description` and `status`, accepts and ignores `created_at`/`updated_at` (so an
  export re-imports), and refuses any other column by name.
- Formula injection: a text cell that starts with = + - @ TAB CR (or with the escape character ')
  is written with one ' in front, so a spreadsheet shows it as text instead of running it. Import
  removes that one quote again, so export → import gives back exactly the same text.
- Rows are checked with the API's own rules (console.projects.schemas): the key pattern and its
  upper-casing, the name's length, the description's maximum, no NUL.

Line numbers are the row numbers a spreadsheet shows for the file: the header is row 1, and a
record whose quoted cell spans several physical lines is still one row.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, String, case, func, literal

from console.projects.models import PROJECT_STATUSES
from console.projects.schemas import KEY_RULE, Description, ProjectKey, ProjectName


class Dialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    escapechar = None
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    skipinitialspace = False
    strict = True


DIALECT = Dialect()

EXPORT_HEADER = ("key", "name", "description", "status", "created_at", "updated_at")
REQUIRED_COLUMNS = ("key", "name")
OPTIONAL_COLUMNS = ("description", "status")
IGNORED_COLUMNS = ("created_at", "updated_at")
REPORT_HEADER = ("line", "key", "error")

# Larger files are refused before anything is written (the upload size limit bounds bytes; this
# bounds the work and the memory the first pass keeps per row).
MAX_IMPORT_ROWS = 200_000

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
# Cells starting with any of these get the escape in front: the formula starts, and the escape
# itself (so a leading ' in the data survives the round trip).
ESCAPED_STARTS = (*FORMULA_STARTS, ESCAPE)

HOW_TO_SAVE = 'Save the spreadsheet as "CSV UTF-8 (comma delimited)" and upload it again.'
NOT_CSV = "This is not a CSV file"

# Leading bytes of files people upload by mistake.
_SIGNATURES = (
    (b"PK\x03\x04", "it looks like an Excel workbook (.xlsx) or another ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "it looks like an old Excel workbook (.xls)"),
    (b"%PDF", "it looks like a PDF document"),
    (b"\x89PNG", "it looks like a PNG image"),
    (b"\xff\xd8\xff", "it looks like a JPEG image"),
    (b"\x1f\x8b", "it looks like a gzip archive"),
)


class CsvFileError(ValueError):
    """The whole file is unusable; `message` tells the user why (nothing was imported)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- writing ------------------------------------------------------------------------------------


def escape_cell(value: str) -> str:
    """A text cell as written to a CSV a spreadsheet may open (formula-injection safe)."""
    return ESCAPE + value if value.startswith(ESCAPED_STARTS) else value


def unescape_cell(value: str) -> str:
    """Undo escape_cell: drop one leading ' when it guards a formula start or another '."""
    if len(value) > 1 and value[0] == ESCAPE and value[1] in ESCAPED_STARTS:
        return value[1:]
    return value


def escaped_sql(column: ColumnElement[str]) -> ColumnElement[str]:
    """escape_cell as a SQL expression (PostgreSQL and SQLite), so rows need no Python work."""
    return case(
        (func.substr(column, 1, 1).in_(ESCAPED_STARTS), literal(ESCAPE, String) + column),
        else_=column,
    )


def write_report(handle: IO[str], errors: Sequence[RowError]) -> None:
    """The import's per-row report: line, key, error."""
    writer = csv.writer(handle, DIALECT)
    writer.writerow(REPORT_HEADER)
    writer.writerows((e.line, escape_cell(e.key), escape_cell(e.error)) for e in errors)


# -- reading ------------------------------------------------------------------------------------


class _Position:
    """The spreadsheet row of the record being read (header = 1)."""

    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line = 1


def _decoded_lines(handle: IO[bytes], position: _Position) -> Iterator[str]:
    first = True
    for raw in handle:
        if first:
            first = False
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvFileError(f"The file is UTF-16 text, not UTF-8. {HOW_TO_SAVE}")
            for signature, what in _SIGNATURES:
                if raw.startswith(signature):
                    raise CsvFileError(f"{NOT_CSV}: {what}. {HOW_TO_SAVE}")
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        if b"\x00" in raw:
            raise CsvFileError(
                f"{NOT_CSV}: it contains NUL bytes (line {position.line:,}), as binary files "
                f"do. {HOW_TO_SAVE}"
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CsvFileError(
                f"The file is not UTF-8 text: line {position.line:,} has bytes that are not "
                f"UTF-8 (perhaps it was saved as Latin-1 or Windows-1252). {HOW_TO_SAVE}"
            ) from None


def records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row, cells) of every record, blank ones included; CsvFileError when the
    bytes are not UTF-8 CSV."""
    position = _Position()
    with open(path, "rb") as handle:
        reader = csv.reader(_decoded_lines(handle, position), DIALECT)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise CsvFileError(
                    f"{NOT_CSV} we can read: {exc} (line {position.line:,}). {HOW_TO_SAVE}"
                ) from None
            yield position.line, cells
            position.line += 1


def is_blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each known column is in the file's records."""

    key: int
    name: int
    description: int | None
    status: int | None
    width: int


def parse_header(cells: Sequence[str]) -> Columns:
    names = [cell.strip().lower() for cell in cells]
    while names and not names[-1]:  # spreadsheets add empty columns at the end
        names.pop()
    if len(names) == 1 and ";" in names[0]:
        raise CsvFileError("The header is separated by semicolons (;), not commas. " + HOW_TO_SAVE)
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    if missing:
        raise CsvFileError(
            f"The header has no {' and no '.join(missing)} column. The first row must name the "
            f"columns, e.g. key,name,description,status."
        )

    allowed = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *IGNORED_COLUMNS)
    unknown = [
        f'"{cells[i].strip()}"' if n else f"(column {i + 1} has no name)"
        for i, n in enumerate(names)
        if n not in allowed
    ]
    if unknown:
        listed = ", ".join(unknown)
        raise CsvFileError(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {listed}. The header may name "
            f"key, name, description and status (created_at and updated_at are ignored)."
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CsvFileError(f"The header names {', '.join(twice)} more than once.")

    def at(name: str) -> int | None:
        return names.index(name) if name in names else None

    return Columns(
        key=names.index("key"),
        name=names.index("name"),
        description=at("description"),
        status=at("status"),
        width=len(names),
    )


@dataclass(slots=True)
class ImportRow:
    """A valid row, normalised as the API would store it; None = column absent (keep)."""

    line: int
    key: str
    name: str
    description: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    key: str
    error: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "error": self.error}


_KEY = TypeAdapter(ProjectKey)
_NAME = TypeAdapter(ProjectName)
_DESCRIPTION = TypeAdapter(Description)


def _check(adapter: TypeAdapter[str], value: str, label: str) -> tuple[str, str | None]:
    try:
        return adapter.validate_python(value), None
    except ValidationError as exc:
        error = exc.errors()[0]
        kind = error["type"]
        if kind == "project_key":
            return value, KEY_RULE
        if kind == "string_too_short":
            return value, f"{label} is missing."
        if kind == "string_too_long":
            limit = (error.get("ctx") or {}).get("max_length")
            return value, f"{label} is longer than {limit:,} characters."
        if kind == "nul_character":
            return value, f"{label} contains a NUL character."
        return value, f"{label}: {error['msg']}."


@dataclass(slots=True)
class Parsed:
    row: ImportRow | None  # None when the row has errors
    key: str  # as the report shows it (normalised when valid)
    key_valid: bool
    problems: list[str]


def parse_row(line: int, cells: Sequence[str], columns: Columns) -> Parsed:
    problems: list[str] = []
    if len(cells) > columns.width and not is_blank(cells[columns.width :]):
        problems.append(
            f"This row has {len(cells)} cells but the header names {columns.width} columns."
        )

    def cell(index: int | None) -> str | None:
        if index is None:
            return None
        return cells[index] if index < len(cells) else ""

    raw_key = (cell(columns.key) or "").strip()
    key, error = (raw_key, "Key is missing.") if not raw_key else _check(_KEY, raw_key, "Key")
    if error:
        problems.append(error)
    key_valid = error is None
    name, error = _check(_NAME, unescape_cell(cell(columns.name) or ""), "Name")
    if error:
        problems.append(error)
    description = cell(columns.description)
    if description is not None:
        description, error = _check(_DESCRIPTION, unescape_cell(description), "Description")
        if error:
            problems.append(error)
    status = cell(columns.status)
    if status is not None:
        status = status.strip().lower() or None
        if status is not None and status not in PROJECT_STATUSES:
            shown = status if len(status) <= 40 else status[:40] + "…"
            problems.append(f'Status must be active or archived, not "{shown}".')
    if problems:
        return Parsed(None, key, key_valid, problems)
    return Parsed(ImportRow(line, key, name, description, status), key, key_valid, problems)


# -- the import's first pass ----------------------------------------------------------------------


@dataclass
class Scan:
    """What the first pass learned: the columns, the row count, and every row error."""

    columns: Columns
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_lines: set[int] = field(default_factory=set)


def _header(iterator: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    for line, cells in iterator:
        if not is_blank(cells):
            return line, cells
    return None


def scan(
    path: Path,
    *,
    max_rows: int | None = None,
    tick: Callable[[int], None] | None = None,
    tick_every: int = 5_000,
) -> Scan:
    """Validate the whole file (encoding, CSV, header, every row, duplicate keys) without
    touching the database. CsvFileError for file-level problems."""
    max_rows = MAX_IMPORT_ROWS if max_rows is None else max_rows
    iterator = records(path)
    header = _header(iterator)
    if header is None:
        raise CsvFileError("The file is empty.")
    result = Scan(parse_header(header[1]))
    first_line: dict[str, int] = {}
    for line, cells in iterator:
        if is_blank(cells):
            continue
        result.rows += 1
        if result.rows > max_rows:
            raise CsvFileError(
                f"The file has more than {max_rows:,} rows; split it into files of at most "
                f"{max_rows:,} rows."
            )
        parsed = parse_row(line, cells, result.columns)
        problems = parsed.problems
        if parsed.key_valid:
            earlier = first_line.setdefault(parsed.key, line)
            if earlier != line:
                problems.append(
                    f"Key {parsed.key} is also on line {earlier:,}; a key may appear once per file."
                )
        if problems:
            result.errors.append(RowError(line, parsed.key, " ".join(problems)))
            result.error_lines.add(line)
        if tick is not None and result.rows % tick_every == 0:
            tick(result.rows)
    if result.rows == 0:
        raise CsvFileError("The file has a header but no rows.")
    return result


def valid_rows(path: Path, checked: Scan) -> Iterator[tuple[int, ImportRow]]:
    """Second pass: (data row ordinal, row) of every valid row, in file order."""
    iterator = records(path)
    _header(iterator)
    ordinal = 0
    for line, cells in iterator:
        if is_blank(cells):
            continue
        ordinal += 1
        if line in checked.error_lines:
            continue
        row = parse_row(line, cells, checked.columns).row
        if row is None:  # the file changed under us: scan() accepted it
            raise CsvFileError("The uploaded file changed while it was being imported.")
        yield ordinal, row
