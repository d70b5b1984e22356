"""PHP-style nested query strings, the format of Bitrix24 `batch` commands.

`{"filter": {">ID": 5}, "select": ["ID", "TITLE"]}` becomes
`filter%5B%3EID%5D=5&select%5B0%5D=ID&select%5B1%5D=TITLE`, which PHP decodes back into the
same nested array. Booleans become "Y"/"N" like Bitrix24's own forms; None becomes an empty value.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _pairs(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        if not value:
            return [(prefix, "")]
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_pairs(f"{prefix}[{k}]", v))
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            return [(prefix, "")]
        out = []
        for i, v in enumerate(items):
            out.extend(_pairs(f"{prefix}[{i}]", v))
        return out
    return [(prefix, _scalar(value))]


def php_query(params: Mapping[str, Any] | None) -> str:
    """Encode `params` as a PHP nested query string (keys and values percent-encoded)."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        pairs.extend(_pairs(str(key), value))
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def batch_command(method: str, params: Mapping[str, Any] | None) -> str:
    """One `cmd` entry of a batch call: `method?query`."""
    query = php_query(params)
    return f"{method}?{query}" if query else method
