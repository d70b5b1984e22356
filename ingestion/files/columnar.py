"""Columnar conversion of text files: `FileParser.json_records()` for large exports.

Rows are taken in chunks; each column's distinct cell texts are converted once (through the
same parsers, blank and range checks as `FileParser.records()`) into a JSON fragment and the
text that goes into the key; payloads are then formatted from the fragments. A row with any
rejected cell goes through `FileParser._payload`, so its errors (file, row, column, value,
reason, raw cells) are exactly those of the row-by-row path, in the same order; duplicate keys
likewise. The result is the row-by-row path's records with the payload pre-serialised.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..landing import JsonText
from .readers import RowProblem

if TYPE_CHECKING:
    from .readers import Table
    from .validate import ColumnPlan, FileParser

CHUNK_ROWS = 20_000
CACHE_LIMIT = 200_000  # distinct cell texts remembered per column (amounts are mostly unique)

# a cell's conversion: (JSON fragment, text in the key); None = rejected
Converted = tuple[str, str] | None
_NULL: tuple[str, str] = ("null", "")  # an empty optional cell: JSON null, "" in the key


def _fragment(value: Any) -> str:
    if value.__class__ is str:
        text = json.dumps(value, ensure_ascii=False)
        return text.replace("\\u0000", "") if "\\u0000" in text else text  # jsonb cannot hold NUL
    if value.__class__ is float:
        return float.__repr__(value)  # what json.dumps writes for a finite float
    if value.__class__ is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def _converter(plan: ColumnPlan) -> Callable[[Any], Converted]:
    col, _key, _index, parse, ranged = plan
    required = col.required
    low, high = col.min, col.max

    def convert(cell: Any) -> Converted:
        if cell is None or (cell.__class__ is str and (not cell or cell.isspace())):
            return None if required else _NULL
        try:
            value = parse(cell)
        except ValueError:
            return None
        if ranged and ((low is not None and value < low) or (high is not None and value > high)):
            return None
        if isinstance(value, date):
            value = value.isoformat()
        return _fragment(value), str(value)

    return convert


def _column(rows: list[list[Any]], index: int, width: int) -> list[Any]:
    if index < 0:
        return [""] * len(rows)
    if width > index:
        return list(map(itemgetter(index), rows))
    return [cells[index] if index < len(cells) else "" for cells in rows]


def columnar_records(parser: FileParser, table: Table, parsers: list[ColumnPlan]) -> Iterator[
        tuple[str, JsonText, None]]:
    spec = parser.spec
    name = parser.path.name
    header = table.header
    key_fields = spec.key
    by_key = {plan[1]: n for n, plan in enumerate(parsers)}
    key_columns = {by_key[k] for k in key_fields if k in by_key}
    doc_column = by_key.get("document_number")
    if doc_column is not None:
        key_columns.add(doc_column)
    converters = [_converter(plan) for plan in parsers]
    # per column: cell text -> JSON fragment (None = rejected), and -> text in the key
    fragment_caches: list[dict[Any, str | None]] = [{} for _ in parsers]
    key_caches: list[dict[Any, str]] = [{} for _ in parsers]
    # '{"inn":{},"client_name":{},...}' as a str.format template (braces in keys doubled)
    template = "{{" + ",".join(json.dumps(plan[1], ensure_ascii=False).replace("{", "{{").replace("}", "}}") + ":{}"
                               for plan in parsers) + "}}"
    seen: dict[str, int] = {}
    prior = parser.prior_keys or {}
    per_document: dict[str, int] = {}
    rows_iter = iter(table.rows)
    while True:
        parser._flush()
        chunk = list(islice(rows_iter, CHUNK_ROWS))
        if not chunk:
            return
        parser.rows_read += len(chunk)
        numbers, rows = map(list, zip(*chunk, strict=True))
        # rows the reader could not split (RowProblem) are carried as empty rows and reported in order
        problems = {i: cells for i, cells in enumerate(rows) if cells.__class__ is RowProblem}
        for i in problems:
            rows[i] = []
        width = min(map(len, rows))
        fragments: list[list[str | None]] = []
        key_texts: dict[int, list[str]] = {}
        bad: set[int] = set(problems)
        for n, plan in enumerate(parsers):
            values = _column(rows, plan[2], width)
            fragment_cache, key_cache, convert = fragment_caches[n], key_caches[n], converters[n]
            if len(fragment_cache) > CACHE_LIMIT:
                fragment_cache.clear()
                key_cache.clear()
            for value in set(values).difference(fragment_cache):
                converted = convert(value)
                fragment_cache[value], key_cache[value] = converted if converted is not None else (None, "None")
            column = list(map(fragment_cache.__getitem__, values))
            if None in column:
                bad.update(i for i, c in enumerate(column) if c is None)
            fragments.append(column)
            if n in key_columns:
                key_texts[n] = list(map(key_cache.__getitem__, values))
        # key parts, as the row-by-row path builds them from the payload
        parts: list[list[str]] = []
        for k in key_fields:
            if k == "#row":
                parts.append(list(map(str, numbers)))
            elif k == "#file":
                parts.append([name] * len(rows))
            elif k == "#row_in_document":
                # counted over every row, rejected ones too; an empty number counts as "None"
                documents = ["None"] * len(rows) if doc_column is None else [
                    d or "None" for d in key_texts[doc_column]]
                running = []
                for i, document in enumerate(documents):
                    if i in problems:  # not counted, as in the row-by-row path
                        running.append("")
                        continue
                    count = per_document.get(document, 0) + 1
                    per_document[document] = count
                    running.append(str(count))
                parts.append(running)
            else:
                parts.append(key_texts[by_key[k]])
        keys = parts[0] if len(parts) == 1 else list(map("|".join, zip(*parts, strict=True)))
        payloads = list(map(template.format, *fragments))
        for i, key in enumerate(keys):
            if i in bad:
                if i in problems:
                    parser._problem(numbers[i], problems[i])
                else:
                    parser._payload(numbers[i], rows[i], header, parsers)  # records the row's errors
                continue
            first = seen.get(key)
            if first is not None or key in prior:
                parser._duplicate(numbers[i], rows[i], header, key, first)
                continue
            seen[key] = numbers[i]
            yield key, payloads[i], None
