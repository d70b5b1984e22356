"""Read a user file into a header row and data rows, whatever its format.

Text files: encoding UTF-8 (with or without BOM) or windows-1251 (detected: a file that is not
valid UTF-8 is read as windows-1251); delimiter `;` or tab (whichever the header line holds
more of; `,` only when the header has neither). XLSX: the first worksheet. Leading empty
rows are skipped; the first non-empty row is the header. Row numbers are the 1-based line /
sheet row numbers a user sees in their editor.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})


class FileFormatError(ValueError):
    """The file cannot be read at all (unknown format, no header, broken XLSX)."""


@dataclass
class Table:
    path: Path
    encoding: str | None
    delimiter: str | None
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[Any]]]


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a UTF-8 multibyte character cut at the end of a sample is still UTF-8
        if exc.start < len(data) - 4:
            return "cp1251"
    return "utf-8"


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    return "," if "," in header_line else ";"


def read_table(path: Path) -> Table:
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path)
    if suffix in TEXT_SUFFIXES:
        return _read_text(path)
    raise FileFormatError(f"{path.name}: unsupported file type {suffix!r}; use .csv, .txt or .xlsx")


def _read_text(path: Path) -> Table:
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    encoding = detect_encoding(head)
    if encoding == "utf-8" and len(head) == 1 << 20:
        # decide on the whole file: one windows-1251 byte further down must not break decoding
        try:
            with path.open("r", encoding="utf-8", newline="") as fh:
                for _ in iter(lambda: fh.read(1 << 22), ""):
                    pass
        except UnicodeDecodeError:
            encoding = "cp1251"
    fh_text = path.open("r", encoding=encoding, newline="")
    header: list[str] | None = None
    header_row = 0
    delimiter = ";"
    while True:
        line = fh_text.readline()
        if not line:
            break
        header_row += 1
        if line.strip():
            delimiter = detect_delimiter(line)
            header = next(csv.reader([line], delimiter=delimiter))
            break
    if header is None:
        fh_text.close()
        raise FileFormatError(f"{path.name}: the file is empty (no header row)")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            reader = csv.reader(fh_text, delimiter=delimiter)
            for cells in reader:
                joined = "".join(cells)  # blank when every cell is empty or whitespace
                if joined and not joined.isspace():
                    yield header_row + reader.line_num, cells
        finally:
            fh_text.close()

    return Table(path, encoding, delimiter, [h.strip().lstrip("\ufeff") for h in header], header_row, rows())


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on broken files
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    header_row = 0
    for number, values in enumerate(it, start=1):
        if any(v is not None and str(v).strip() for v in values):
            header = ["" if v is None else str(v).strip() for v in values]
            header_row = number
            break
    if header is None:
        workbook.close()
        raise FileFormatError(f"{path.name}: the first sheet is empty (no header row)")

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(it, start=header_row + 1):
                cells = ["" if v is None else v for v in values]
                if any(not (isinstance(c, str) and not c.strip()) for c in cells):
                    yield number, cells
        finally:
            workbook.close()

    return Table(path, None, None, header, header_row, rows())
