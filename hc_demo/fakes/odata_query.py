"""The subset of OData v3 query options that 1C's standard interface is used with here.

`$filter`: comparisons `eq ne gt ge lt le` between a field and a literal (`guid'…'`,
`datetime'…'`, `'text'`, numbers, `true`/`false`, `null`), combined with `and`, `or`, `not`
and parentheses. Anything else is a parse error, as 1C answers it (code 14). References
(GUIDs) compare and sort in 1C's storage order (`reference_order`), as paging by key relies on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<lit>guid'[^']*'|datetime'[^']*'|'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<paren>[()])|(?P<word>[^\s()']+))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class ODataQueryError(ValueError):
    """`code` is 1C's error code: 14 for a bad $filter, 6 for an unknown field."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _tokens(text: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataQueryError("14", f"Ошибка при разборе опции запроса $filter: неожиданный символ в позиции {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, raw: str) -> Any:
    if kind == "num":
        return float(raw) if "." in raw else int(raw)
    if raw.startswith("guid'"):
        return raw[5:-1].lower()
    if raw.startswith("datetime'"):
        value = raw[9:-1]
        return value if len(value) > 16 else value + ":00"
    if raw.startswith("'"):
        return raw[1:-1].replace("''", "'")
    if raw in ("true", "false"):
        return raw == "true"
    if raw == "null":
        return None
    raise ODataQueryError("14", f"Ошибка при разборе опции запроса $filter: неизвестное значение {raw}")


def reference_order(value: Any) -> Any:
    """The value a 1C reference is compared and sorted by. 1C keeps a reference as 16 bytes with
    the GUID's groups reordered (`…-aaaa-bbbbbbbbbbbb` first, then the 3rd, 2nd and 1st group),
    so `$orderby=Ref_Key` and `Ref_Key gt guid'…'` follow that order, not the text's. Other
    values are returned as they are."""
    if isinstance(value, str) and _is_guid(value):
        v = value.lower()
        return v[19:23] + v[24:36] + v[14:18] + v[9:13] + v[0:8]
    return value


def _cmp(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str) and _is_guid(left) and _is_guid(right):
        left, right = reference_order(left), reference_order(right)
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def _is_guid(value: str) -> bool:
    return len(value) == 36 and value.count("-") == 4


def parse_filter(text: str, fields: set[str], referenced: set[str] | None = None) -> Predicate:
    """A predicate over a record; the field names used are added to `referenced`."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise ODataQueryError("14", "Ошибка при разборе опции запроса $filter: неожиданный конец выражения")
        pos += 1
        return tokens[pos - 1]

    def expr() -> Predicate:
        left = term()
        while (t := peek()) and t[1] == "or":
            take()
            right = term()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def term() -> Predicate:
        left = factor()
        while (t := peek()) and t[1] == "and":
            take()
            right = factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor() -> Predicate:
        kind, value = take()
        if value == "not":
            inner = factor()
            return lambda r: not inner(r)
        if value == "(":
            inner = expr()
            if take()[1] != ")":
                raise ODataQueryError("14", "Ошибка при разборе опции запроса $filter: ожидается )")
            return inner
        if kind != "word":
            raise ODataQueryError(
                "14", f"Ошибка при разборе опции запроса $filter: ожидается имя поля, получено {value}"
            )
        field = value
        _, op = take()
        if op not in _OPS:
            raise ODataQueryError("14", f"Ошибка при разборе опции запроса $filter: неизвестная операция {op}")
        lit_kind, lit_raw = take()
        literal = _literal(lit_kind, lit_raw)
        if field not in fields:
            raise ODataQueryError("6", f"Сегмент пути {field} не найден")
        if referenced is not None:
            referenced.add(field)
        return lambda r: _cmp(op, r.get(field), literal)

    predicate = expr()
    if pos != len(tokens):
        raise ODataQueryError("14", f"Ошибка при разборе опции запроса $filter: лишний текст после позиции {pos}")
    return predicate


def parse_orderby(text: str, fields: set[str]) -> list[tuple[str, bool]]:
    """[(field, descending)]."""
    out = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ODataQueryError("14", f"Ошибка при разборе опции запроса $orderby: {part.strip()}")
        if words[0] not in fields:
            raise ODataQueryError("6", f"Сегмент пути {words[0]} не найден")
        out.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return out
