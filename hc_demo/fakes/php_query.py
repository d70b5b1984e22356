"""PHP-style query strings, as Bitrix24 reads them: `filter[>ID]=5&order[ID]=ASC&select[]=ID`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote

_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def _to_list_if_sequential(node: Any) -> Any:
    if isinstance(node, dict):
        fixed = {k: _to_list_if_sequential(v) for k, v in node.items()}
        if (
            fixed
            and all(isinstance(k, str) and k.isdigit() for k in fixed)
            and sorted(int(k) for k in fixed) == list(range(len(fixed)))
        ):
            return [fixed[str(i)] for i in range(len(fixed))]
        return fixed
    return node


def parse_php_query(query: str) -> dict[str, Any]:
    """Decode `a[b][]=1&a[b][]=2&c=3` into {"a": {"b": ["1", "2"]}, "c": "3"}.

    `[]` appends; numeric keys 0..n-1 become a list, like PHP arrays do when JSON-encoded.
    """
    out: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query, keep_blank_values=True):
        m = _KEY.match(raw_key)
        if not m:
            out[raw_key] = value
            continue
        head, rest = m.group(1), m.group(2)
        parts = [head] + re.findall(r"\[([^\]]*)\]", rest)
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(sum(1 for k in node if str(k).isdigit()))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return _to_list_if_sequential(out)


def build_php_query(params: dict[str, Any]) -> str:
    """The inverse, for tests and for batch command strings."""
    pairs: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}[{k}]", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        else:
            pairs.append(f"{quote(prefix, safe='[]')}={quote(str(value), safe='')}")

    for key, value in params.items():
        walk(key, value)
    return "&".join(pairs)
