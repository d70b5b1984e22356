"""Fast path for large, regular text files: pyarrow's CSV reader and column-wise conversion.

A regular file is UTF-8 or windows-1251 with no quote character, no NUL, no lone CR, every
row with exactly the header's cells and no cell near the csv field limit (a blank line is a row
of empty cells, skipped and not counted, as on the row path). For such a file the
rows are read by pyarrow (C++, multi-threaded) and converted a column at a time: numbers of the
plain and space-grouped forms are checked with regular expressions and cast in Arrow; every
other value goes, once per distinct text, through the same converter as the row-by-row path
(`columnar._converter`). Rows with a rejected cell and duplicate keys are then handed, in row
order, to `FileParser._payload` / `_duplicate`, so errors, rows read and rows rejected are
exactly the row-by-row path's. Payload numbers may be written in another notation of the same
number (`0.00001` for `1e-05`), which jsonb stores identically.

Any other file (quotes, shifted rows, UTF-16, text that stops being UTF-8, ...) raises
`NotRegular` and takes the row-by-row path (`arrow_batches` says when).
"""
from __future__ import annotations

import codecs
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from .columnar import _converter
from .readers import FIELD_LIMIT, NotRegular
from .values import MAX_ABS, parse_number, parse_text

if TYPE_CHECKING:
    from .readers import Table
    from .validate import ColumnPlan, FileParser

MIN_BYTES = 1 << 20  # smaller files are not worth it
_PLAIN = r"^[+-]?[0-9]+(?:[.,][0-9]+)?$"
_AMBIGUOUS = r"^[+-]?[0-9]{1,3}\.[0-9]{3}$"
_SPACED = "^[+-]?[0-9]{1,3}(?:[ \u00a0\u202f\u2009\u2007'][0-9]{3})+(?:[.,][0-9]+)?$"
_SEPARATORS = "[ \u00a0\u202f\u2009\u2007']"
# text that parse_text keeps as it is and json.dumps writes as "<text>": no surrounding whitespace
# (Python's str.isspace set), no control character, quote or backslash, not formula-like
_WS = r"\s\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
_PLAIN_TEXT = (r'^[^' + _WS + r'\x00-\x1f"\\=@+-](?:[^\x00-\x1f"\\]*[^' + _WS + r'\x00-\x1f"\\])?$')


@dataclass
class ArrowRecords:
    keys: pa.Array  # string, unique
    payloads: pa.Array  # JSON text
    key_list: list[str] | None = None  # the keys as Python strings, when they were made anyway
    backslash: bool = True  # a payload may hold a backslash (a JSON escape); False when none can

    def python_keys(self) -> list[str]:
        return self.key_list if self.key_list is not None else self.keys.to_pylist()


def _body(parser: FileParser, table: Table) -> tuple[memoryview, _Digest]:
    """The file's bytes after the header, as UTF-8, and their file's SHA-256; `NotRegular` for
    quotes, NUL, lone CR line ends or another encoding. The file is read once: the digest is
    taken from these bytes, on a thread of its own (hashlib lets go of the GIL) while they are
    parsed."""
    data = parser.path.read_bytes()
    if b'"' in data or b"\x00" in data or parser.encoding not in ("utf-8", "utf-8-sig", "cp1251"):
        raise NotRegular
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        raise NotRegular  # lone CR line ends
    digest = _Digest(data)
    offset = 0
    for _ in range(table.header_row):
        offset = data.index(b"\n", offset) + 1
    body = memoryview(data)[offset:]
    if body[:1] == b"\n" or body[:2] == b"\r\n":
        raise NotRegular
    if parser.encoding == "cp1251":
        try:
            body = memoryview(codecs.decode(body, "cp1251").encode("utf-8"))
        except UnicodeDecodeError:
            raise NotRegular from None
    return body, digest


class _Digest:
    """SHA-256 of bytes, computed on a thread once `start()` is called (the fast path calls it
    when its last batch is handed over, while the database finishes the COPY); `str()` waits."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data
        self._value = ""
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._data is not None
        self._value = hashlib.sha256(self._data).hexdigest()
        self._data = None

    def __str__(self) -> str:
        self.start()
        assert self._thread is not None
        self._thread.join()
        return self._value


def _strings(values: pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _python(values: pa.Array, plan: ColumnPlan) -> tuple[pa.Array, pa.Array]:
    """(JSON fragment or null when rejected, text in the key) of each value, by the row path's converter."""
    convert = _converter(plan)
    converted = [convert(v) for v in values.to_pylist()]
    return (pa.array([c[0] if c is not None else None for c in converted], pa.string()),
            pa.array([c[1] if c is not None else "None" for c in converted], pa.string()))


def _texts(values: pa.Array, plan: ColumnPlan) -> tuple[pa.Array, pa.Array]:
    """`_python` for text, with the plain texts (most) done in Arrow."""
    plain = pc.match_substring_regex(values, _PLAIN_TEXT)
    fragments = pc.binary_join_element_wise(pa.scalar('"'), values, pa.scalar('"'), "")
    keys = values
    other = pc.invert(plain)
    if pc.any(other).as_py():
        slow_fragments, slow_keys = _python(values.filter(other), plan)
        fragments = pc.replace_with_mask(fragments, other, slow_fragments)
        keys = pc.replace_with_mask(keys, other, slow_keys)
    return fragments, keys


def _numbers(values: pa.Array, plan: ColumnPlan) -> pa.Array:
    col = plan[0]
    blank = pc.or_(pc.equal(pc.utf8_length(values), 0), pc.utf8_is_space(values))
    fast = pc.and_(pc.or_(pc.and_(pc.match_substring_regex(values, _PLAIN),
                                  pc.invert(pc.match_substring_regex(values, _AMBIGUOUS))),
                          pc.match_substring_regex(values, _SPACED)), pc.invert(blank))
    text = pc.replace_substring(pc.replace_substring_regex(values, _SEPARATORS, ""), ",", ".")
    number = pc.cast(pc.if_else(fast, text, "0"), pa.float64())
    good = pc.less(pc.abs(number), MAX_ABS)
    if col.min is not None:
        good = pc.and_(good, pc.greater_equal(number, col.min))
    if col.max is not None:
        good = pc.and_(good, pc.less_equal(number, col.max))
    fragments = pc.if_else(pc.and_(fast, good), pc.cast(number, pa.string()), pa.scalar(None, pa.string()))
    # blank cells: null JSON when optional, rejected when required
    fragments = pc.if_else(blank, pa.scalar(None if col.required else "null", pa.string()), fragments)
    other = pc.and_(pc.invert(fast), pc.invert(blank))  # other forms (1.234,56, errors): the exact parser
    if pc.any(other).as_py():
        slow, _ = _python(values.filter(other), plan)
        fragments = pc.replace_with_mask(fragments, other, slow)
    return fragments


BATCH_BYTES = 1 << 24  # the CSV reader's block: about 100k rows, converted and copied while the next is sent
FIRST_ROWS = 10_000  # the first batch is cut short, so the database starts on it sooner


def arrow_batches(parser: FileParser, table: Table, parsers: list[ColumnPlan],
                  stream: bool = False) -> Iterator[ArrowRecords]:
    """The file's good records, a block at a time.

    By default the whole body is read by Arrow first (in C++, on every core): a row with another
    cell count than the header or text that is not UTF-8 (the encoding was judged on the file's
    start) fails that read, and a cell near the csv field limit is caught after it, all before
    any row is used. `NotRegular` is raised here, before the generator is returned, so a file
    the fast path cannot take leaves the parser untouched.

    `stream=True` reads block by block instead, so the first rows are handed over at once: the
    same checks are made on each block as it comes, and a later block can raise `NotRegular`
    from the iteration, after earlier batches were yielded and the parser changed. The caller
    must then undo what it did with them (`load._land_arrow` rolls back to a savepoint) and
    read the file again by rows with a new parser."""
    width = len(table.header)
    delimiter = parser.delimiter or ";"
    if len(delimiter) != 1 or width < 2:  # whitespace-separated (readers.WHITESPACE), one column: the row path
        raise NotRegular
    body, digest = _body(parser, table)
    if not body:
        raise NotRegular
    source = pa.BufferReader(pa.py_buffer(body))
    options = {
        "read_options": pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)], block_size=BATCH_BYTES),
        # no quotes in the file: a line is a row, and every line must hold the header's cells
        "parse_options": pacsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False),
        "convert_options": pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(width)},
                                                strings_can_be_null=False),
    }
    try:
        if stream:
            batches: Iterator[pa.RecordBatch] = _checked(pacsv.open_csv(source, **options))
        else:
            whole = pacsv.read_csv(source, **options)
            _check_cells(whole.columns)
            batches = iter(whole.to_batches())
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise NotRegular from None
    parser.sha256 = digest
    return _batches(parser, table, parsers, _cut_first(batches), digest.start)


def _check_cells(columns: list[Any]) -> None:
    for column in columns:
        longest = pc.max(pc.binary_length(column)).as_py()
        if longest is not None and longest >= FIELD_LIMIT - 8:
            raise NotRegular  # the row path's csv reader would refuse the cell


def _checked(reader: Any) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError):
            raise NotRegular from None
        _check_cells(batch.columns)
        yield batch


def _cut_first(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for n, batch in enumerate(batches):
        if n == 0 and batch.num_rows > 2 * FIRST_ROWS:
            yield batch.slice(0, FIRST_ROWS)
            yield batch.slice(FIRST_ROWS)
        else:
            yield batch


def _batches(parser: FileParser, table: Table, parsers: list[ColumnPlan], reader: Any,
             done: Callable[[], None]) -> Iterator[ArrowRecords]:
    """The converted batches; `done()` once the last one has been handed over."""
    header = table.header
    width = len(header)
    spec = parser.spec
    by_key = {plan[1]: i for i, plan in enumerate(parsers)}
    key_columns = {by_key[k] for k in spec.key if k in by_key}
    doc = by_key.get("document_number")
    if doc is not None:
        key_columns.add(doc)
    template = [json_key(plan[1]) for plan in parsers]
    template_backslash = any("\\" in name for name in template)
    prior = parser.prior_keys or {}
    seen: dict[str, int] = {}  # key -> line, this file's good rows
    per_document: dict[str, int] = {}
    next_line = table.header_row + 1
    for batch in reader:
        columns = [batch.column(i) for i in range(width)]
        total = batch.num_rows
        lines = np.arange(next_line, next_line + total, dtype=np.int64)
        next_line += total
        # blank rows (every cell empty or whitespace) are skipped and not counted, as in the row path
        blank_row = None
        for values in columns:
            blank = pc.or_(pc.equal(pc.utf8_length(values), 0), pc.utf8_is_space(values))
            blank_row = blank if blank_row is None else pc.and_(blank_row, blank)
            if not pc.any(blank_row).as_py():
                break
        if pc.any(blank_row).as_py():
            keep_rows = pc.invert(blank_row)
            columns = [v.filter(keep_rows) for v in columns]
            lines = lines[np.asarray(keep_rows.to_numpy(zero_copy_only=False), dtype=bool)]
        n = len(lines)
        if not n:
            continue
        parser.rows_read += n
        fragments: list[pa.Array] = []
        key_texts: dict[int, pa.Array] = {}
        backslash = template_backslash  # JSON escapes, looked for in the distinct texts
        empty = pa.array([""] * n, pa.string()) if any(plan[2] < 0 for plan in parsers) else None
        for i, plan in enumerate(parsers):
            # each distinct text is converted once: on the column's dictionary, then taken per row
            encoded = (empty if plan[2] < 0 else columns[plan[2]]).dictionary_encode()
            distinct = encoded.dictionary
            if plan[3] is parse_number and i not in key_columns:
                fragment, keys = _numbers(distinct, plan), None
            elif plan[3] is parse_text:
                fragment, keys = _texts(distinct, plan)
            else:
                fragment, keys = _python(distinct, plan)
            if not backslash and plan[3] is not parse_number:  # a number's JSON has no escape
                backslash = bool(pc.any(pc.match_substring(fragment, "\\")).as_py())
            fragments.append(fragment.take(encoded.indices))
            if i in key_columns and keys is not None:
                key_texts[i] = keys.take(encoded.indices)
        bad = np.zeros(n, dtype=bool)
        for fragment in fragments:
            if fragment.null_count:
                bad |= np.asarray(fragment.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        # key parts, as the row path builds them
        parts: list[pa.Array] = []
        for k in spec.key:
            if k == "#row":
                parts.append(pa.array(lines).cast(pa.string()))
            elif k == "#file":
                parts.append(pa.array([parser.path.name] * n, pa.string()))
            elif k == "#row_in_document":
                documents = pa.array(["None"] * n) if doc is None else pc.if_else(
                    pc.equal(key_texts[doc], ""), "None", key_texts[doc])
                encoded_docs = documents.dictionary_encode()
                names = encoded_docs.dictionary.to_pylist()
                codes = np.asarray(encoded_docs.indices.to_numpy(), dtype=np.int64)
                order = np.argsort(codes, kind="stable")
                sorted_codes = codes[order]
                starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
                ranks = np.empty(n, dtype=np.int64)
                ranks[order] = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
                before = np.array([per_document.get(name, 0) for name in names], dtype=np.int64)
                ranks += before[codes]
                for name, count in zip(names, np.bincount(codes, minlength=len(names)).tolist(), strict=True):
                    per_document[name] = per_document.get(name, 0) + count
                parts.append(pa.array(ranks).cast(pa.string()))
            else:
                parts.append(key_texts[by_key[k]])
        keys = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")
        # duplicates, exactly as the row path finds them: the first good row of a key stays
        dropped = bad.copy()
        line_list = lines.tolist()
        good_rows = np.flatnonzero(~bad)
        good_keys = (keys if len(good_rows) == n else keys.filter(pa.array(~bad))).to_pylist()
        if len(set(good_keys)) == len(good_keys) and seen.keys().isdisjoint(good_keys) and (
                not prior or prior.keys().isdisjoint(good_keys)):
            seen.update(zip(good_keys, lines[good_rows].tolist(), strict=True))  # no duplicate (most batches)
        else:
            for row, key in zip(good_rows.tolist(), good_keys, strict=True):
                if key in seen or key in prior:
                    dropped[row] = True
                else:
                    seen[key] = line_list[row]
        for row in np.flatnonzero(dropped).tolist():
            cells = [v[row].as_py() for v in columns]
            if bad[row]:
                parser._payload(line_list[row], cells, header, parsers)
            else:
                key = keys[row].as_py()
                parser._duplicate(line_list[row], cells, header, key, seen.get(key))
            parser._flush()
        keep = pa.array(~dropped) if dropped.any() else None
        pieces: list[Any] = []
        for i, fragment in enumerate(fragments):
            pieces.append(pa.scalar(("{" if i == 0 else ",") + template[i] + ":"))
            pieces.append(fragment if keep is None else fragment.filter(keep))
        pieces.append(pa.scalar("}"))
        payloads = pc.binary_join_element_wise(*pieces, "")
        if keep is None:
            yield ArrowRecords(keys, payloads, good_keys, backslash)
        else:
            yield ArrowRecords(keys.filter(keep), payloads, None, backslash)
    done()


def json_key(key: str) -> str:
    import json

    return json.dumps(key, ensure_ascii=False)


_COPY_ESCAPES = re.compile(r"[\\\t\n\r]")


def copy_lines(records: ArrowRecords, tail: str, chunk: int = 200_000) -> list[memoryview]:
    """COPY text blocks `key<TAB>payload<tail>\\n` (keys and payloads escaped for COPY text)."""
    keys = records.keys
    if pc.any(pc.match_substring_regex(keys, _COPY_ESCAPES.pattern)).as_py():
        for old, new in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            keys = pc.replace_substring(keys, old, new)
    payloads = records.payloads
    if records.backslash and pc.any(pc.match_substring(payloads, "\\")).as_py():
        payloads = pc.replace_substring(payloads, "\\", "\\\\")  # JSON escapes; no raw tabs/newlines
    lines = pc.binary_join_element_wise(keys, pa.scalar("\t"), payloads, pa.scalar(tail + "\n"), "")
    blocks = []
    for start in range(0, len(lines), chunk):
        part = lines.slice(start, chunk)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(part)], pa.int32()), part), "")
        blocks.append(memoryview(joined[0].as_buffer()))
    return blocks
