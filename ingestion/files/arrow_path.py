"""Fast path for large, regular text files: pyarrow's CSV reader and column-wise conversion.

A regular file is UTF-8 or windows-1251 with no quote character, no NUL, no empty line, every
row with exactly the header's cells and no cell near the csv field limit. For such a file the
rows are read by pyarrow (C++, multi-threaded) and converted a column at a time: numbers of the
plain and space-grouped forms are checked with regular expressions and cast in Arrow; every
other value goes, once per distinct text, through the same converter as the row-by-row path
(`columnar._converter`). Rows with a rejected cell and duplicate keys are then handed, in row
order, to `FileParser._payload` / `_duplicate`, so errors, rows read and rows rejected are
exactly the row-by-row path's. Payload numbers may be written in another notation of the same
number (`0.00001` for `1e-05`), which jsonb stores identically.

Any other file (quotes, blank lines, shifted rows, UTF-16, ...) raises `NotRegular` before the
parser is changed, and takes the row-by-row path.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from .columnar import _converter
from .readers import FIELD_LIMIT
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


class NotRegular(Exception):
    """The file needs the row-by-row reader."""


@dataclass
class ArrowRecords:
    keys: pa.Array  # string, unique
    payloads: pa.Array  # JSON text


def _body(parser: FileParser, table: Table) -> bytes:
    data = parser.path.read_bytes()
    if b'"' in data or b"\x00" in data or parser.encoding not in ("utf-8", "utf-8-sig", "cp1251"):
        raise NotRegular
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        raise NotRegular  # lone CR line ends
    offset = 0
    for _ in range(table.header_row):
        offset = data.index(b"\n", offset) + 1
    body = data[offset:]
    if body.startswith((b"\n", b"\r\n")) or b"\n\n" in body or b"\n\r\n" in body:
        raise NotRegular
    if parser.encoding == "cp1251":
        body = body.decode("cp1251").encode("utf-8")
    return body


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


BATCH_BYTES = 1 << 24  # the CSV reader's block: about 100k rows, converted and copied while the next is read


def _check_structure(body: bytes, delimiter: str, width: int) -> None:
    """Every line has the header's cell count and is shorter than the csv field limit (no quotes
    in the file, so a line is a row): else `NotRegular`. Done on the bytes, before any row."""
    data = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    if not body.endswith(b"\n"):
        ends = np.r_[ends, len(data)]
    if not len(ends):
        raise NotRegular
    before = np.searchsorted(np.flatnonzero(data == ord(delimiter)), ends)  # delimiters before each line end
    if (np.diff(np.r_[0, before]) != width - 1).any():
        raise NotRegular
    if (np.diff(np.r_[-1, ends]) >= FIELD_LIMIT - 8).any():
        raise NotRegular


def arrow_batches(parser: FileParser, table: Table, parsers: list[ColumnPlan]) -> Iterator[ArrowRecords]:
    """The file's good records, a block at a time. `NotRegular` is raised here, before the
    generator is returned, so a file the fast path cannot take leaves the parser untouched."""
    width = len(table.header)
    delimiter = parser.delimiter or ";"
    if len(delimiter) != 1:  # whitespace-separated (readers.WHITESPACE): the row path
        raise NotRegular
    body = _body(parser, table)
    _check_structure(body, delimiter, width)
    reader = pacsv.open_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=[f"c{i}" for i in range(width)], block_size=BATCH_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={f"c{i}": pa.string() for i in range(width)},
                                             strings_can_be_null=False),
    )
    return _batches(parser, table, parsers, reader)


def _batches(parser: FileParser, table: Table, parsers: list[ColumnPlan], reader: Any) -> Iterator[ArrowRecords]:
    header = table.header
    width = len(header)
    spec = parser.spec
    by_key = {plan[1]: i for i, plan in enumerate(parsers)}
    key_columns = {by_key[k] for k in spec.key if k in by_key}
    doc = by_key.get("document_number")
    if doc is not None:
        key_columns.add(doc)
    template = [json_key(plan[1]) for plan in parsers]
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
        for row, key in zip(np.flatnonzero(~bad).tolist(), keys.filter(pa.array(~bad)).to_pylist(), strict=True):
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
        yield ArrowRecords(keys if keep is None else keys.filter(keep), payloads)


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
    if pc.any(pc.match_substring(payloads, "\\")).as_py():
        payloads = pc.replace_substring(payloads, "\\", "\\\\")  # JSON escapes; no raw tabs/newlines
    lines = pc.binary_join_element_wise(keys, pa.scalar("\t"), payloads, pa.scalar(tail + "\n"), "")
    blocks = []
    for start in range(0, len(lines), chunk):
        part = lines.slice(start, chunk)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(part)], pa.int32()), part), "")
        blocks.append(memoryview(joined[0].as_buffer()))
    return blocks
