"""Read a user file into a header row and data rows, whatever its format.

Text files: encoding UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's «Unicode text») or
windows-1251 (a file that is not valid UTF-8 is read as windows-1251, unless its first part is
UTF-8 with Russian text: then it mixes encodings and is rejected, naming the line); delimiter
`;` or tab (whichever the header line holds more of; `,` only when the header has neither).
Whitespace-separated text (a fixed-width-like export, columns separated by runs of spaces or
tabs; `WHITESPACE`): taken when the header holds none of `;`, `,` and single tabs, and only where
unambiguous: the header and every non-empty row must split into the same number of fields,
either at every run of whitespace or at the column gaps (a tab or two or more spaces, so values
may hold single spaces); when neither split fits every row, or both fit and give different
cells, the file is rejected naming the first row that does not fit (no quoting in this form).
XLSX: the first worksheet, within size caps (a decompression bomb or a forged 5M-row sheet is
rejected, naming the file). Leading empty rows are skipped; the first non-empty row is the
header. Row numbers are the 1-based line / sheet row numbers a user sees in their editor (a
record spanning several lines is numbered by its first line).

A row that cannot be taken apart is not guessed at: `rows` yields `(row, RowProblem)` for a row
whose cell count differs from the header's, a cell longer than `FIELD_LIMIT` characters, or an
unterminated quote (the row is skipped and reading resumes on the next line, so the quote does
not swallow the rest of the file). A file that cannot be read at all raises `FileFormatError`.
"""
from __future__ import annotations

import codecs
import csv
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
FIELD_LIMIT = 131_072  # the csv module's default limit on one cell, in characters
XLSX_MAX_ROWS = 1_048_576  # Excel's own limit on the rows of a sheet
XLSX_MAX_BYTES = int(float(os.environ.get("FILES_XLSX_MAX_MB", "2048")) * 2**20)  # all parts, decompressed
XLSX_MAX_SHARED_STRINGS = int(float(os.environ.get("FILES_XLSX_MAX_STRINGS_MB", "256")) * 2**20)
_CYRILLIC = re.compile("[\u0400-\u04ff]")


class FileFormatError(ValueError):
    """The file cannot be read at all (unknown format, no header, broken XLSX, encoding)."""


class NotRegular(Exception):
    """The file needs the row-by-row reader (raised by the Arrow fast path, `arrow_path`)."""


@dataclass(frozen=True)
class RowProblem:
    """A data row that cannot be split into the header's columns; it goes to quarantine."""

    reason: str
    raw: dict[str, Any] | None = None
    field: str | None = None
    value: str | None = None


@dataclass
class Table:
    path: Path
    encoding: str | None
    delimiter: str | None
    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[Any] | RowProblem]]


def detect_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a UTF-8 multibyte character cut at the end of a sample is still UTF-8
        if exc.start < len(data) - 4:
            return "cp1251"
    return "utf-8"


def _file_encoding(path: Path, whole: bool = True) -> str:
    """The encoding of the whole file; `FileFormatError` names the line for UTF-16 without a
    BOM, a file mixing UTF-8 and windows-1251, and bytes neither can decode.

    `whole=False` trusts the first 64 KiB when they are UTF-8 and does not read on: for a
    reader that checks the rest itself (the Arrow path fails on text that is not UTF-8, and the
    file then goes through this function in full)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        encoding = detect_encoding(head)
        if encoding == "utf-16":
            return encoding
        sample = head[:4096]
        if sample and sample.count(0) > len(sample) // 10:
            raise FileFormatError(
                f"{path.name}: the text has NUL bytes between the characters (line 1): it looks like "
                "UTF-16 without a byte-order mark; save it as UTF-8 (or «Unicode text» with its BOM)")
        if encoding == "utf-8-sig":
            fh.seek(3)
            encoding = "utf-8"
            first = "utf-8-sig"
        else:
            fh.seek(0)
            first = encoding
        # (a BOM made `encoding` "utf-8" above; "cp1251": the start already is not UTF-8)
        if encoding == "utf-8" and (not whole or _all_utf8(fh)):
            return first
        fh.seek(3 if first == "utf-8-sig" else 0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        line, cyrillic = 1, 0
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = max(exc.start, 0)
                line += chunk[:start].count(b"\n")
                if first == "utf-8-sig" or cyrillic + len(_CYRILLIC.findall(
                        chunk[:start].decode("utf-8", "ignore"))) >= 8:
                    raise FileFormatError(
                        f"{path.name}: mixed encodings: the file is UTF-8 up to line {line}, where byte "
                        f"0x{chunk[start]:02x} is not UTF-8 (windows-1251?); save the whole file in one "
                        "encoding, UTF-8") from None
                return _check_cp1251(path)
            line += chunk.count(b"\n")
            if cyrillic < 8:
                cyrillic += len(_CYRILLIC.findall(text))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return _check_cp1251(path)
    return first


FAST_UTF8_BYTES = 1 << 20  # from this size, UTF-8 is checked by Arrow first (the common case, in C)
_UTF8_BLOCK = 1 << 26


def _all_utf8(fh: Any) -> bool:
    """True when the rest of the file is valid UTF-8, checked by Arrow a block at a time (blocks
    cut after a line end, which never falls inside a character); False when it is not, or when
    the file is small or pyarrow is missing: then the caller's own decoder, which can also say
    where it failed, decides. Reads the file once, without building Python strings."""
    start = fh.tell()
    fh.seek(0, os.SEEK_END)
    size = fh.tell() - start
    fh.seek(start)
    if size < FAST_UTF8_BYTES:
        return False
    try:
        import pyarrow as pa
    except ImportError:
        return False

    def valid(data: Any) -> bool:
        offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
        array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
        try:
            array.cast(pa.large_string())
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return False
        return True

    carry = b""  # the end of the last block, after its last line end
    while True:
        block = fh.read(_UTF8_BLOCK)
        if not block:
            return valid(carry)
        cut = block.rfind(b"\n") + 1
        if not cut:
            carry += block
            continue
        view = memoryview(block)
        first = block.index(b"\n") + 1 if carry else 0
        if (carry and not valid(carry + block[:first])) or not valid(view[first:cut]):
            return False
        carry = bytes(view[cut:])


def _check_cp1251(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("cp1251")()
    line = 1
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[:exc.start].count(b"\n")
                raise FileFormatError(
                    f"{path.name}: cannot decode line {line} as UTF-8 or windows-1251 (byte "
                    f"0x{chunk[exc.start]:02x}); save the file as UTF-8") from None
            line += chunk.count(b"\n")
    return "cp1251"


WHITESPACE = "whitespace"  # Table.delimiter of a whitespace-separated text file
_GAPS = re.compile(r"[ \t]*\t[ \t]*| {2,}")  # column gaps: a run holding a tab, or two or more spaces
_RUNS = re.compile(r"[ \t]+")  # every run of spaces and tabs
_TAB_RUN = re.compile(r"\t[ \t]|[ \t]\t")  # a tab next to another space or tab


def _whitespace_header(line: str) -> bool:
    """The header line of a whitespace-separated file: no `;` or `,`, tabs (if any) in runs
    with other blanks, and at least two fields."""
    text = line.strip().lstrip("\ufeff")
    if ";" in text or "," in text:
        return False
    if "\t" in text and not _TAB_RUN.search(text):
        return False  # plain tab-delimited
    return len(_RUNS.split(text)) >= 2


def _whitespace_split(path: Path, encoding: str, header_line: str, header_row: int) -> re.Pattern[str]:
    """The split (column gaps or every run) that fits the header and every non-empty row of the
    file; `FileFormatError` naming the file and the row when none fits or the fit is ambiguous."""
    header_text = header_line.strip().lstrip("\ufeff")
    widths = {pattern: len(pattern.split(header_text)) for pattern in (_GAPS, _RUNS)}
    splits = [pattern for pattern in (_GAPS, _RUNS) if widths[pattern] >= 2]
    misfit: dict[re.Pattern[str], tuple[int, int]] = {}  # first row that does not fit, its field count
    differs: int | None = None
    with path.open("r", encoding=encoding, newline="") as fh:
        for _ in range(header_row):
            fh.readline()
        for number, line in enumerate(fh, start=header_row + 1):
            text = line.strip()
            if not text:
                continue
            cells = {}
            for pattern in splits:
                if pattern not in misfit:
                    cells[pattern] = pattern.split(text)
                    if len(cells[pattern]) != widths[pattern]:
                        misfit[pattern] = (number, len(cells[pattern]))
            if differs is None and len(cells) == 2 and len(set(map(tuple, cells.values()))) == 2:
                differs = number
            if len(misfit) == len(splits):
                break
    fitting = [pattern for pattern in splits if pattern not in misfit]
    if not fitting:
        pattern = splits[0]
        number, count = misfit[pattern]
        raise FileFormatError(
            f"{path.name}: the columns look separated by spaces or tabs, but row {number} splits into "
            f"{count} fields and the header into {widths[pattern]}: a value with spaces, or an empty "
            "cell? Separate the columns with ; or a tab instead")
    if len(fitting) == 2 and differs is not None and widths[_GAPS] != widths[_RUNS]:
        raise FileFormatError(
            f"{path.name}: the columns look separated by spaces, but it is ambiguous whether a single "
            f"space separates columns: the header splits into {widths[_GAPS]} fields at the wide gaps and "
            f"{widths[_RUNS]} at every space, and so does every row (row {differs} differs); separate the "
            "columns with ; or a tab instead")
    return fitting[0]


def _read_whitespace(path: Path, encoding: str, fh_text: Any, header_line: str, header_row: int) -> Table:
    try:
        pattern = _whitespace_split(path, encoding, header_line, header_row)
    except BaseException:
        fh_text.close()
        raise
    header = [h.strip() for h in pattern.split(header_line.strip().lstrip("\ufeff"))]
    width = len(header)

    def rows() -> Iterator[tuple[int, list[Any] | RowProblem]]:
        try:
            for number, line in enumerate(fh_text, start=header_row + 1):
                text = line.strip()
                if text:
                    yield from _checked((number, pattern.split(text)), header, width)
        finally:
            fh_text.close()

    return Table(path, encoding, WHITESPACE, header, header_row, rows())


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    return "," if "," in header_line else ";"


def read_table(path: Path, whole_encoding: bool = True) -> Table:
    """The file's header and rows. `whole_encoding=False`: see `_file_encoding(whole=False)`."""
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path)
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, whole_encoding)
    raise FileFormatError(f"{path.name}: unsupported file type {suffix!r}; use .csv, .txt or .xlsx")


def _width(header: list[str]) -> int:
    """Columns of the header, trailing empty header cells not counted."""
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    return width


def _shape_problem(cells: list[Any], header: list[str], width: int, short_ok: bool) -> RowProblem | None:
    """A row with fewer cells than the header (text files only) or a non-empty cell beyond it."""
    n = len(cells)
    if n == width or (n < width and short_ok):
        return None
    if n > width and all(c is None or (isinstance(c, str) and not c.strip()) for c in cells[width:]):
        return None
    raw = {h: c for h, c in zip(header, cells, strict=False) if h}
    for i in range(width, n):
        if not (cells[i] is None or (isinstance(cells[i], str) and not cells[i].strip())):
            raw[f"(column {i + 1})"] = cells[i]
    return RowProblem(
        f"the row has {n} cells but the header has {width} columns (a shifted column: an unquoted "
        "delimiter or decimal comma in a value?)", raw)


def _read_text(path: Path, whole_encoding: bool = True) -> Table:
    encoding = _file_encoding(path, whole_encoding)
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
            if _whitespace_header(line):
                return _read_whitespace(path, encoding, fh_text, line, header_row)
            delimiter = detect_delimiter(line)
            header = next(csv.reader([line], delimiter=delimiter))
            break
    if header is None:
        fh_text.close()
        raise FileFormatError(f"{path.name}: the file is empty (no header row)")
    header = [h.strip().lstrip("\ufeff") for h in header]
    width = _width(header)
    csv.field_size_limit(FIELD_LIMIT)

    def rows() -> Iterator[tuple[int, list[Any] | RowProblem]]:
        fh = fh_text
        base = header_row  # physical lines before the current reader's first line
        try:
            while True:
                reader = csv.reader(fh, delimiter=delimiter)
                resume: int | None = None
                held: tuple[int, list[str]] | None = None  # a multi-line record, until we know it is not the last
                before = 0
                while True:
                    try:
                        cells = next(reader)
                    except StopIteration:
                        break
                    except csv.Error:
                        start = base + before + 1
                        end, closed, longest = _scan_record(path, encoding, delimiter, start)
                        if held is not None:
                            yield from _checked(held, header, width)
                            held = None
                        if closed:
                            name = header[longest] if longest < len(header) else f"(column {longest + 1})"
                            yield start, RowProblem(f"a cell longer than {FIELD_LIMIT:,} characters", field=name or None)
                            resume = end
                        else:
                            yield start, _unterminated(start)
                            resume = start
                        break
                    after = reader.line_num
                    start = base + before + 1
                    multi = after - before > 1
                    before = after
                    if held is not None:
                        yield from _checked(held, header, width)
                        held = None
                    if multi:
                        held = (start, cells)
                    elif len(cells) == width:  # the common case, inline
                        joined = "".join(cells)  # blank when every cell is empty or whitespace
                        if joined and not joined.isspace():
                            yield start, cells
                    else:
                        yield from _checked((start, cells), header, width)
                if resume is None and held is not None:
                    # the last record spans several lines: an unterminated quote runs to the end
                    start = held[0]
                    _end, closed, _longest = _scan_record(path, encoding, delimiter, start)
                    if closed:
                        yield from _checked(held, header, width)
                        return
                    yield start, _unterminated(start)
                    resume = start
                if resume is None:
                    return
                fh.close()
                fh = path.open("r", encoding=encoding, newline="")
                for _ in range(resume):
                    fh.readline()
                base = resume
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"{path.name}: cannot decode the text as {encoding} ({exc.reason})") from None
        finally:
            fh.close()

    return Table(path, encoding, delimiter, header, header_row, rows())


def _unterminated(start: int) -> RowProblem:
    return RowProblem(f"unterminated quote starting at row {start}: the row is skipped and reading "
                      f"resumes on the next line")


def _checked(record: tuple[int, list[str]], header: list[str], width: int) -> Iterator[tuple[int, list[Any] | RowProblem]]:
    number, cells = record
    joined = "".join(cells)  # blank when every cell is empty or whitespace
    if not joined or joined.isspace():
        return
    if len(cells) != width:
        problem = _shape_problem(cells, header, width, short_ok=False)
        if problem is not None:
            yield number, problem
            return
    yield number, cells


def _scan_record(path: Path, encoding: str, delimiter: str, start: int) -> tuple[int, bool, int]:
    """Follow the csv quoting rules from line `start`: (last line of the record, whether its
    quotes close, index of its longest cell). Used only when the csv reader gives up."""
    with path.open("r", encoding=encoding, newline="") as fh:
        for _ in range(start - 1):
            fh.readline()
        line = start - 1
        in_quotes = False
        at_start = True
        field = length = 0
        longest, longest_len = 0, -1
        for text in fh:
            line += 1
            i, n = 0, len(text)
            while i < n:
                if in_quotes:
                    j = text.find('"', i)
                    if j < 0:
                        length += n - i
                        break
                    length += j - i
                    if j + 1 < n and text[j + 1] == '"':
                        length += 1
                        i = j + 2
                        continue
                    in_quotes = False
                    i = j + 1
                    continue
                ch = text[i]
                if at_start and ch == '"':
                    in_quotes, at_start = True, False
                elif ch == delimiter or ch in "\r\n":
                    if length > longest_len:
                        longest, longest_len = field, length
                    if ch != delimiter:
                        return line, True, longest
                    field, length, at_start = field + 1, 0, True
                else:
                    length += 1
                    at_start = False
                i += 1
        if length > longest_len:
            longest = field
        return line, not in_quotes, longest


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook (not a ZIP archive: an old .xls, "
                              "or a CSV renamed to .xlsx?)") from None
    total = sum(p.file_size for p in parts)
    strings = sum(p.file_size for p in parts if "sharedstrings" in p.filename.lower())
    if strings > XLSX_MAX_SHARED_STRINGS or total > XLSX_MAX_BYTES:
        raise FileFormatError(
            f"{path.name}: the workbook expands to {total / 2**20:,.0f} MiB ({strings / 2**20:,.0f} MiB of shared "
            f"strings), over the limit of {XLSX_MAX_BYTES / 2**20:,.0f} MiB ({XLSX_MAX_SHARED_STRINGS / 2**20:,.0f} "
            "MiB of strings; FILES_XLSX_MAX_MB, FILES_XLSX_MAX_STRINGS_MB); save the sheet as CSV")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on broken files
        raise FileFormatError(f"{path.name}: not a readable XLSX workbook ({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    declared = getattr(sheet, "max_row", None)
    if isinstance(declared, int) and declared > XLSX_MAX_ROWS:
        workbook.close()
        raise FileFormatError(f"{path.name}: the sheet declares {declared:,} rows, more than Excel's "
                              f"{XLSX_MAX_ROWS:,}; save the data as CSV")
    it = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    header_row = 0
    for number, values in enumerate(it, start=1):
        if any(v is not None and str(v).strip() for v in values):
            header = ["" if v is None else str(v).strip() for v in values]
            header_row = number
            break
        if number >= XLSX_MAX_ROWS:
            break
    if header is None:
        workbook.close()
        raise FileFormatError(f"{path.name}: the first sheet is empty (no header row)")
    width = _width(header)

    def rows() -> Iterator[tuple[int, list[Any] | RowProblem]]:
        try:
            for number, values in enumerate(it, start=header_row + 1):
                if number > XLSX_MAX_ROWS:
                    raise FileFormatError(f"{path.name}: more than {XLSX_MAX_ROWS:,} rows (Excel's limit); "
                                          "save the data as CSV")
                cells = ["" if v is None else v for v in values]
                if any(not (isinstance(c, str) and not c.strip()) for c in cells):
                    problem = _shape_problem(cells, header, width, short_ok=True) if len(cells) > width else None
                    yield number, (cells if problem is None else problem)
        finally:
            workbook.close()

    return Table(path, None, None, header, header_row, rows())

