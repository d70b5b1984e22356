"""File kinds and their column mapping, loaded from `mapping.yaml` (plus FILES_MAPPING)."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .values import PARSERS

DEFAULT_MAPPING = Path(__file__).with_name("mapping.yaml")
SPECIAL_KEYS = frozenset({"#file", "#row", "#row_in_document"})


class MappingError(ValueError):
    """The mapping YAML is malformed; the message names the file, kind and column."""


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    key: str
    type: str
    required: bool
    min: float | None = None
    max: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSpec:
    kind: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    files: tuple[str, ...] = field(default=())

    @property
    def raw_table(self) -> str:
        return f"files__{self.kind}"

    def matches(self, name: str) -> bool:
        return any(fnmatch.fnmatch(name.lower(), pattern.lower()) for pattern in self.files)


def _parse_kind(kind: str, body: Any, origin: str) -> FileSpec:
    where = f"{origin}: kind {kind!r}"
    if not isinstance(body, dict) or not isinstance(body.get("columns"), dict):
        raise MappingError(f"{where}: expected a mapping with 'columns'")
    columns = []
    for header, col in body["columns"].items():
        if not isinstance(col, dict) or "key" not in col:
            raise MappingError(f"{where}, column {header!r}: expected {{key: ..., type: ..., required: ...}}")
        col_type = str(col.get("type", "text"))
        if col_type not in PARSERS:
            raise MappingError(f"{where}, column {header!r}: unknown type {col_type!r}; use one of {sorted(PARSERS)}")
        columns.append(
            ColumnSpec(
                header=str(header).strip(),
                key=str(col["key"]),
                type=col_type,
                required=bool(col.get("required", False)),
                min=col.get("min"),
                max=col.get("max"),
                aliases=tuple(str(a).strip() for a in col.get("aliases", ()) or ()),
            )
        )
    keys = tuple(str(k) for k in body.get("key", ()) or ())
    known = {c.key for c in columns} | SPECIAL_KEYS
    unknown = [k for k in keys if k not in known]
    if not keys or unknown:
        raise MappingError(f"{where}: 'key' must list column keys or {sorted(SPECIAL_KEYS)}; bad: {unknown or 'empty'}")
    files = tuple(str(f) for f in body.get("files", ()) or (f"{kind}*.csv", f"{kind}*.txt", f"{kind}*.xlsx"))
    return FileSpec(kind=kind, columns=tuple(columns), key=keys, files=files)


def load_specs(override: Path | None = None) -> dict[str, FileSpec]:
    """The built-in file kinds, with kinds from `override` (FILES_MAPPING) replacing them."""
    specs: dict[str, FileSpec] = {}
    for path in [DEFAULT_MAPPING, *([override] if override else [])]:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise MappingError(f"{path}: mapping file not found (FILES_MAPPING)") from None
        except yaml.YAMLError as exc:
            raise MappingError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise MappingError(f"{path}: expected a mapping of file kinds")
        for kind, body in data.items():
            kind = str(kind)
            if kind in specs and isinstance(body, dict) and "columns" not in body:
                specs[kind] = _extend_kind(specs[kind], body, str(path))
            else:
                specs[kind] = _parse_kind(kind, body, str(path))
    return specs


def _extend_kind(base: FileSpec, body: dict[str, Any], origin: str) -> FileSpec:
    """A built-in kind given in FILES_MAPPING without `columns`: more `files` patterns (e.g. a
    file named otherwise: `sales_lines: {files: ["Реализации*.xlsx"]}`) and more `aliases`
    (`{Header or key: [alias, ...]}`), the columns and key kept."""
    where = f"{origin}: kind {base.kind!r}"
    unknown = sorted(set(body) - {"files", "aliases"})
    if unknown:
        raise MappingError(f"{where}: without 'columns' only 'files' and 'aliases' can be given; got {unknown}")
    files = tuple(str(f) for f in body.get("files", ()) or ())
    aliases = body.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise MappingError(f"{where}: 'aliases' must map a column header (or key) to a list of other headers")
    columns = []
    for col in base.columns:
        extra = aliases.get(col.header, aliases.get(col.key, ())) or ()
        if isinstance(extra, str):
            extra = [extra]
        columns.append(replace(col, aliases=(*col.aliases, *(str(a).strip() for a in extra))))
    known = {c.header for c in base.columns} | {c.key for c in base.columns}
    stray = sorted(str(a) for a in aliases if a not in known)
    if stray:
        raise MappingError(f"{where}: aliases for unknown columns {stray}; columns: {[c.header for c in base.columns]}")
    return replace(base, columns=tuple(columns), files=(*base.files, *files))
