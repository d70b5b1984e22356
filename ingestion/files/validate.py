"""Turn a user file into raw records, rejecting bad rows with row-level errors.

A bad row (empty required value, unparsable number or date, value or date out of range,
formula text, duplicate key, a cell count that differs from the header's, an over-long cell,
an unterminated quote) is reported as `RowError`s naming the file, row, column and value, and
goes to quarantine; the good rows load. A file that cannot be read as a whole (unreadable,
empty, undecodable, a required column missing, a mapped column twice in the header) sets
`rejected`: its kind is then not loaded at all (`ingestion.run` keeps the previous rows).
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..landing import JsonText
from .readers import TEXT_SUFFIXES, FileFormatError, RowProblem, Table, read_table
from .specs import ColumnSpec, FileSpec
from .values import PARSERS, DateBounds

# (column spec, payload key, cell index or -1 when the file lacks the column, parser, has a range)
ColumnPlan = tuple[ColumnSpec, str, int, Callable[[Any], Any], bool]
ErrorRow = tuple["RowError", "dict[str, Any] | None"]
FLUSH_ERRORS = 10_000  # errors kept in memory before they go to `sink` (the quarantine table)
FUTURE_SHOWN = 20


@dataclass(frozen=True)
class RowError:
    file: str
    row: int | None
    field: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file}, row {self.row}"
        if self.field:
            where += f", column «{self.field}»"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.reason}{value}"


def _norm(header: str) -> str:
    return " ".join(header.replace("\u00a0", " ").split()).lower()


def _bounded(parse: Callable[[Any], date], bounds: DateBounds, future: set[date] | None) -> Callable[[Any], date]:
    def parse_bounded(cell: Any) -> date:
        day = bounds.check(parse(cell))
        if future is not None and bounds.is_future(day) and len(future) < FUTURE_SHOWN:
            future.add(day)
        return day

    return parse_bounded


@dataclass
class FileParser:
    """Parse one file against one spec. Iterate `records()`; then read `errors`/`rows_read`.

    `sink`, when given, receives the errors in batches (and `errors` is emptied), so a file
    with millions of bad rows never holds them all in memory. `prior_keys` maps the keys of
    the kind's files parsed before this one to their file: the same key again is a duplicate.
    """

    path: Path
    spec: FileSpec
    errors: list[ErrorRow] = field(default_factory=list)
    rows_read: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    bounds: DateBounds = field(default_factory=DateBounds)
    sink: Callable[[list[ErrorRow]], None] | None = None
    prior_keys: Mapping[str, str] | None = None
    rejected: str | None = None  # why the whole file was rejected
    error_count: int = 0
    rows_rejected: int = 0
    future_dates: set[date] = field(default_factory=set)  # dates after today (a sample), loaded with a warning
    sha256: Any = None  # the Arrow path's digest of the bytes it read (`str()` gives the hex); None on the row path

    def _error(self, row: int | None, column: str | None, value: Any, reason: str, raw: dict[str, Any] | None) -> None:
        shown = None if value is None or value == "" else str(value)
        self.errors.append((RowError(self.path.name, row, column, shown, reason), raw))
        self.error_count += 1

    def _flush(self) -> None:
        if self.sink is not None and len(self.errors) >= FLUSH_ERRORS:
            self.sink(self.errors)
            self.errors = []

    def _reject(self, row: int | None, column: str | None, reason: str) -> None:
        self._error(row, column, None, reason, None)
        self.rejected = reason if self.rejected is None else f"{self.rejected}; {reason}"

    def _open(self, whole_encoding: bool = True) -> tuple[Table, list[ColumnPlan]] | None:
        """Read the header and map the spec's columns; None when the file is rejected whole.
        `whole_encoding=False`: the encoding is judged on the file's start (`read_table`)."""
        try:
            table = read_table(self.path, whole_encoding)
        except FileFormatError as exc:
            self._reject(None, None, str(exc).split(": ", 1)[-1])
            return None
        except UnicodeDecodeError:
            self._reject(None, None, "cannot decode text; save it as UTF-8 or windows-1251")
            return None
        self.encoding, self.delimiter = table.encoding, table.delimiter
        positions: dict[str, list[int]] = {}
        for i, h in enumerate(table.header):
            if h:
                positions.setdefault(_norm(h), []).append(i)
        plan: list[tuple[ColumnSpec, int | None]] = []
        for col in self.spec.columns:
            names = (col.header, *col.aliases)
            found = next((h for h in names if _norm(h) in positions), None)
            index = None
            if found is not None:
                indices = positions[_norm(found)]
                if len(indices) > 1:
                    self._reject(table.header_row, found,
                                 f"column «{found}» appears {len(indices)} times in the header (columns "
                                 f"{', '.join(str(i + 1) for i in indices)}); keep one")
                index = indices[0]
            elif col.required:
                self._reject(table.header_row, col.header, self._missing_text(col, table.header))
            plan.append((col, index))
        if self.rejected is not None:
            table.rows.close()  # closes the file
            return None
        future = self.future_dates
        parsers = []
        for col, index in plan:
            parse = PARSERS[col.type]
            if col.type in ("date", "month"):
                parse = _bounded(parse, self.bounds, future if col.type == "date" else None)
            parsers.append((col, col.key, -1 if index is None else index, parse,
                            col.min is not None or col.max is not None))
        return table, parsers

    def _missing_text(self, col: ColumnSpec, header: list[str]) -> str:
        names = (col.header, *col.aliases)
        text = (f"required column is missing; the header row must contain «{col.header}»"
                + (f" or one of: {', '.join(col.aliases)}" if col.aliases else "")
                + f" (see ingestion/files/templates/{self.spec.kind}.csv); headers found: "
                + ", ".join(f"«{h}»" for h in header if h))
        best = max(((difflib.SequenceMatcher(None, _norm(h), _norm(n)).ratio(), h, n)
                    for h in header if h for n in names), default=None)
        if best is not None and best[0] >= 0.6:
            text += f"; closest: «{best[1]}» looks like «{best[2]}»"
        return text

    def _problem(self, row_number: int, problem: RowProblem) -> None:
        self._error(row_number, problem.field, problem.value, problem.reason, problem.raw)
        self.rows_rejected += 1

    def _payload(self, row_number: int, cells: list[Any], header: list[str],
                 parsers: list[ColumnPlan]) -> tuple[dict[str, Any], bool]:
        """Parse one row's cells; errors go to `errors` (with the raw cells); returns (payload, bad)."""
        first_error = len(self.errors)
        payload: dict[str, Any] = {}
        bad = False
        ncells = len(cells)
        for col, key, index, parse, ranged in parsers:
            cell = cells[index] if -1 < index < ncells else ""
            if cell is None or (cell.__class__ is str and (not cell or cell.isspace())):
                if col.required:
                    self._error(row_number, col.header, None, "required value is empty", None)
                    bad = True
                payload[key] = None
                continue
            try:
                value = parse(cell)
            except ValueError as exc:
                self._error(row_number, col.header, cell, str(exc), None)
                bad = True
                continue
            if ranged and ((col.min is not None and value < col.min) or (col.max is not None and value > col.max)):
                self._error(row_number, col.header, cell, _range_text(col), None)
                bad = True
                continue
            payload[key] = value.isoformat() if isinstance(value, date) else value
        if bad:
            self.rows_rejected += 1
            raw = _raw_cells(cells, header)
            for i in range(first_error, len(self.errors)):
                self.errors[i] = (self.errors[i][0], raw)
        return payload, bad

    def _duplicate(self, row_number: int, cells: list[Any], header: list[str], key: str, first: int | None) -> None:
        where = f"is on row {first}" if first is not None else f"is in {(self.prior_keys or {}).get(key)}"
        self._error(row_number, None, key, f"duplicate key; the same {'+'.join(self.spec.key)} {where}",
                    _raw_cells(cells, header))
        self.rows_rejected += 1

    def records(self) -> Iterator[tuple[str, dict[str, Any], None]]:
        opened = self._open()
        if opened is None:
            return
        table, parsers = opened
        name = self.path.name
        seen: dict[str, int] = {}
        prior = self.prior_keys or {}
        per_document: dict[str, int] = {}
        key_fields = self.spec.key
        for row_number, cells in table.rows:
            self.rows_read += 1
            self._flush()
            if cells.__class__ is RowProblem:
                self._problem(row_number, cells)  # type: ignore[arg-type]
                continue
            payload, bad = self._payload(row_number, cells, table.header, parsers)  # type: ignore[arg-type]
            document_row = 0
            if "#row_in_document" in key_fields:
                document = str(payload.get("document_number"))
                document_row = per_document.get(document, 0) + 1
                per_document[document] = document_row
            if bad:
                continue
            parts = []
            for k in key_fields:
                if k == "#row":
                    parts.append(str(row_number))
                elif k == "#file":
                    parts.append(name)
                elif k == "#row_in_document":
                    parts.append(str(document_row))
                else:
                    v = payload.get(k)
                    parts.append("" if v is None else str(v))
            key = "|".join(parts)
            first = seen.get(key)
            if first is not None or key in prior:
                self._duplicate(row_number, cells, table.header, key, first)  # type: ignore[arg-type]
                continue
            seen[key] = row_number
            yield key, payload, None

    def arrow_records(self, stream: bool = False) -> Any:
        """The good records of a large regular text file as batches of Arrow arrays
        (`arrow_path`), with the same errors and counts as `records()` once consumed; None when
        the file takes the row path. `stream`: see `arrow_path.arrow_batches`."""
        if self.path.suffix.lower() not in TEXT_SUFFIXES:
            return None
        try:
            from . import arrow_path
        except ImportError:  # pyarrow missing: the row path
            return None
        if self.path.stat().st_size < arrow_path.MIN_BYTES:
            return None
        before = (list(self.errors), self.rejected, self.error_count)
        # the encoding from the file's start: Arrow checks that the rest is UTF-8 as it reads
        opened = self._open(whole_encoding=False)
        if opened is None:  # rejected as a whole: the row path says why, with the whole file's encoding
            self.errors, self.rejected, self.error_count = before
            return None
        table, parsers = opened
        table.rows.close()
        try:
            return arrow_path.arrow_batches(self, table, parsers, stream)
        except arrow_path.NotRegular:
            return None

    def json_records(self) -> Iterator[tuple[str, dict[str, Any] | JsonText, None]]:
        """The same records, rows read and errors as `records()`, faster: text files are
        converted a chunk of rows at a time, column by column, and each payload comes already
        serialised (`JsonText`) for the landing COPY. Other files yield `records()`."""
        if self.path.suffix.lower() not in TEXT_SUFFIXES:
            yield from self.records()
            return
        opened = self._open()
        if opened is None:
            return
        from .columnar import columnar_records

        yield from columnar_records(self, *opened)


def _raw_cells(cells: list[Any], header: list[str]) -> dict[str, Any]:
    ncells = len(cells)
    return {h: _cell_text(cells[i]) for i, h in enumerate(header) if h and i < ncells}


def _range_text(col: ColumnSpec) -> str:
    if col.min is not None and col.max is not None:
        return f"must be between {col.min:g} and {col.max:g}"
    if col.min is not None:
        return f"must be at least {col.min:g}"
    return f"must be at most {col.max:g}"


def _cell_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
