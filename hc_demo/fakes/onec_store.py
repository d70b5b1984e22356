"""1C records kept compactly: the raw JSON bytes of every record plus a small index of the
fields queries filter and sort on, so a million-line demo fits in memory and loads quickly."""

from __future__ import annotations

import bisect
import gc
import json
from pathlib import Path
from typing import Any

# fields copied into the index; a query on any other field parses the full records
INDEX_FIELDS = ("Ref_Key", "DataVersion", "DeletionMark", "Posted", "Number", "Date", "Code", "IsFolder", "Parent_Key")
_SAMPLE = 200


def _parse(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as e:
        raise ValueError(f"{path}: line {number} is not a JSON object: {e}") from None
    if not isinstance(row, dict):
        raise ValueError(f"{path}: line {number} is not a JSON object")
    return row


class EntityRows:
    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.index: list[dict[str, Any]] = []
        self.fields: set[str] = set()
        self.tabular_parts: set[str] = set()
        self.indexed = True
        self.part_ends: dict[str, list[int]] = {}  # part -> cumulative line counts per record
        self.deleted: set[int] = set()  # positions of records deleted while serving

    def add(self, raw: bytes, row: dict[str, Any]) -> None:
        self.raw.append(raw)
        self.index.append({k: row[k] for k in INDEX_FIELDS if k in row})
        if len(self.raw) <= _SAMPLE:
            self.fields.update(row)
            for name, value in row.items():
                if isinstance(value, list) and value and isinstance(value[0], dict) and name not in self.part_ends:
                    self.tabular_parts.add(name)
                    self.part_ends[name] = [0] * (len(self.raw) - 1)
        for name, ends in self.part_ends.items():
            ends.append((ends[-1] if ends else 0) + len(row.get(name) or []))

    def full(self, i: int) -> dict[str, Any]:
        return json.loads(self.raw[i])

    def is_deleted(self, i: int) -> bool:
        return i in self.deleted

    def delete(self, keys: set[str]) -> int:
        """Hide the records with these (lower-case) Ref_Keys from every later query."""
        found = {i for i, row in enumerate(self.index) if str(row.get("Ref_Key", "")).lower() in keys}
        self.deleted |= found
        return len(found)

    def raw_at(self, i: int) -> bytes:
        return self.raw[i]

    def __len__(self) -> int:
        return len(self.raw)


class TabularRows:
    """The lines of one tabular part (`Document_X_Товары`), read through the owning records:
    nothing is copied; a line is parsed from its document when asked for."""

    indexed = False
    index: list[dict[str, Any]] = []

    def __init__(self, owner: EntityRows, part: str) -> None:
        self.owner = owner
        self.part = part
        self.ends = owner.part_ends[part]
        self.fields: set[str] = set()
        for i in range(min(len(owner), _SAMPLE)):
            for line in owner.full(i).get(part) or []:
                self.fields.update(line)

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def is_deleted(self, k: int) -> bool:
        return bool(self.owner.deleted) and bisect.bisect_right(self.ends, k) in self.owner.deleted

    def full(self, k: int) -> dict[str, Any]:
        doc = bisect.bisect_right(self.ends, k)
        first = self.ends[doc - 1] if doc else 0
        return self.owner.full(doc)[self.part][k - first]

    def raw_at(self, k: int) -> bytes:
        return json.dumps(self.full(k), ensure_ascii=False).encode("utf-8")


class OneCStore:
    """Entity sets from `<1C entity>.jsonl` files plus their tabular parts (`Document_X_Товары`)."""

    def __init__(self, data_dir: Path) -> None:
        self.entities: dict[str, EntityRows] = {}
        self._tabular: dict[str, tuple[str, str]] = {}  # tabular entity -> (owner entity, part)
        self._tabular_rows: dict[str, TabularRows] = {}
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of small objects: the cyclic collector would only slow loading
        try:
            for path in sorted(data_dir.glob("*.jsonl")):
                rows = EntityRows()
                with path.open("rb") as fh:
                    for number, line in enumerate(fh, 1):
                        line = line.rstrip(b"\r\n")
                        if line:
                            rows.add(line, _parse(line, path, number))
                self.entities[path.stem] = rows
                for part in sorted(rows.tabular_parts):
                    self._tabular[f"{path.stem}_{part}"] = (path.stem, part)
        finally:
            if gc_was_enabled:
                gc.enable()

    def names(self) -> list[str]:
        return sorted([*self.entities, *self._tabular])

    def get(self, name: str) -> EntityRows | TabularRows | None:
        if name in self.entities:
            return self.entities[name]
        if name in self._tabular_rows:
            return self._tabular_rows[name]
        if name in self._tabular:
            owner, part = self._tabular[name]
            rows = TabularRows(self.entities[owner], part)
            self._tabular_rows[name] = rows
            return rows
        return None

    def fields(self, name: str) -> set[str]:
        rows = self.get(name)
        return rows.fields if rows is not None else set()
