"""Turn a user file into raw records, rejecting bad rows with row-level errors.

A bad row (empty required value, unparsable number or date, value out of range, duplicate
key) is reported as `RowError`s naming the file, row, column and value, and goes to quarantine;
the good rows load. A missing required column rejects the whole file (one error, row = header).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..landing import JsonText
from .readers import TEXT_SUFFIXES, FileFormatError, Table, read_table
from .specs import ColumnSpec, FileSpec
from .values import PARSERS

# (column spec, payload key, cell index or -1 when the file lacks the column, parser, has a range)
ColumnPlan = tuple[ColumnSpec, str, int, Callable[[Any], Any], bool]


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


@dataclass
class FileParser:
    """Parse one file against one spec. Iterate `records()`; then read `errors`/`rows_read`."""

    path: Path
    spec: FileSpec
    errors: list[tuple[RowError, dict[str, Any] | None]] = field(default_factory=list)
    rows_read: int = 0
    encoding: str | None = None
    delimiter: str | None = None

    def _error(self, row: int | None, column: str | None, value: Any, reason: str, raw: dict[str, Any] | None) -> None:
        shown = None if value is None or value == "" else str(value)
        self.errors.append((RowError(self.path.name, row, column, shown, reason), raw))

    def _open(self) -> tuple[Table, list[ColumnPlan]] | None:
        """Read the header and map the spec's columns; None when the file is rejected whole."""
        try:
            table = read_table(self.path)
        except FileFormatError as exc:
            self._error(None, None, None, str(exc).split(": ", 1)[-1], None)
            return None
        except UnicodeDecodeError:
            self._error(None, None, None, "cannot decode text; save it as UTF-8 or windows-1251", None)
            return None
        self.encoding, self.delimiter = table.encoding, table.delimiter
        positions = {_norm(h): i for i, h in enumerate(table.header) if h}
        plan: list[tuple[ColumnSpec, int | None]] = []
        missing_required = False
        for col in self.spec.columns:
            index = next((positions[_norm(h)] for h in (col.header, *col.aliases) if _norm(h) in positions), None)
            if index is None and col.required:
                missing_required = True
                self._error(
                    table.header_row,
                    col.header,
                    None,
                    f"required column is missing; the header row must contain «{col.header}» "
                    f"(see ingestion/files/templates/{self.spec.kind}.csv)",
                    None,
                )
            plan.append((col, index))
        if missing_required:
            table.rows.close()  # closes the file
            return None
        parsers = [
            (col, col.key, -1 if index is None else index, PARSERS[col.type], col.min is not None or col.max is not None)
            for col, index in plan
        ]
        return table, parsers

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
            raw = _raw_cells(cells, header)
            for i in range(first_error, len(self.errors)):
                self.errors[i] = (self.errors[i][0], raw)
        return payload, bad

    def _duplicate(self, row_number: int, cells: list[Any], header: list[str], key: str, first: int) -> None:
        self._error(row_number, None, key, f"duplicate key; the same {'+'.join(self.spec.key)} is on row {first}",
                    _raw_cells(cells, header))

    def records(self) -> Iterator[tuple[str, dict[str, Any], None]]:
        opened = self._open()
        if opened is None:
            return
        table, parsers = opened
        name = self.path.name
        seen: dict[str, int] = {}
        per_document: dict[str, int] = {}
        key_fields = self.spec.key
        for row_number, cells in table.rows:
            self.rows_read += 1
            payload, bad = self._payload(row_number, cells, table.header, parsers)
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
            if first is not None:
                self._duplicate(row_number, cells, table.header, key, first)
                continue
            seen[key] = row_number
            yield key, payload, None

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
