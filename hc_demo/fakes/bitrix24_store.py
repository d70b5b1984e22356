"""In-memory Bitrix24 records and the list-method semantics (filter, order, select)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

PORTAL_TZ = timezone(timedelta(hours=3))

# list method -> generator file (raw entity) name
LIST_METHODS: dict[str, str] = {
    "crm.company.list": "companies",
    "crm.requisite.list": "requisites",
    "crm.address.list": "addresses",
    "crm.contact.list": "contacts",
    "crm.lead.list": "leads",
    "crm.deal.list": "deals",
    "crm.stagehistory.list": "deal_stage_history",
    "crm.activity.list": "activities",
    "user.get": "users",
    "department.get": "departments",
    "crm.status.list": "statuses",
    "crm.category.list": "deal_categories",
    "crm.product.list": "products",
}
ENTITIES = (*LIST_METHODS.values(), "deal_product_rows")
# entities whose list method honours `select` and hides UF_ fields unless asked for
SELECTABLE = {"companies", "contacts", "leads", "deals", "requisites", "activities", "products"}
MODIFIED_FIELD = {"activities": "LAST_UPDATED"}

_OPS = ("!=", ">=", "<=", ">", "<", "=", "!", "@", "%")
_DT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?([+-]\d{2}:?\d{2}|Z)?$")


class FilterError(ValueError):
    """A filter the portal would reject (answered as 400 with an empty error code)."""


def now_portal() -> str:
    return datetime.now(PORTAL_TZ).replace(microsecond=0).isoformat()


def _as_datetime(value: str) -> datetime:
    text = value.strip().replace(" ", "T").replace("Z", "+00:00")
    if len(text) == 10:
        text += "T00:00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PORTAL_TZ)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _compare(record_value: Any, op: str, wanted: Any) -> bool:
    if isinstance(record_value, list):
        return any(_compare(v, op, wanted) for v in record_value)
    if isinstance(wanted, list) and op in ("=", "", "@"):
        return any(_compare(record_value, "=", w) for w in wanted)
    if isinstance(wanted, list) and op in ("!", "!="):
        return not any(_compare(record_value, "=", w) for w in wanted)
    if record_value is None or record_value == "":
        if op in ("=", ""):
            return wanted in (None, "", False)
        if op in ("!", "!="):
            return wanted not in (None, "", False)
        return False
    a, b = _as_number(record_value), _as_number(wanted)
    left: Any
    right: Any
    if a is not None and b is not None:
        left, right = a, b
    elif isinstance(record_value, str) and isinstance(wanted, str) and _DT.match(record_value) and _DT.match(wanted):
        left, right = _as_datetime(record_value), _as_datetime(wanted)
    else:
        left, right = str(record_value), str(wanted)
        if op == "%":
            return right.lower() in left.lower()
    if op in ("=", "", "@", "%"):
        return left == right
    if op in ("!", "!="):
        return left != right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    if op == "<":
        return left < right
    return left <= right


def parse_filter(raw: Any) -> list[tuple[str, str, Any]]:
    """[(field, operator, value)] from a Bitrix24 filter map; raises FilterError like the portal."""
    if raw is None or raw == [] or raw == "":
        return []
    if not isinstance(raw, dict):
        raise FilterError("Parameter 'filter' must be array.")
    out = []
    for key, value in raw.items():
        op = next((o for o in _OPS if key.startswith(o)), "")
        out.append((key[len(op) :], op, value))
    return out


def matches(record: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for field, op, wanted in conditions:
        if field not in record:
            if op in ("!", "!="):
                continue
            return False
        if not _compare(record[field], op, wanted):
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    n = _as_number(value)
    if n is not None:
        return (0, n)
    return (1, "" if value is None else str(value))


def apply_order(rows: list[dict[str, Any]], order: Any, id_field: str) -> list[dict[str, Any]]:
    items = list(order.items()) if isinstance(order, dict) and order else [(id_field, "ASC")]
    for field, direction in reversed(items):
        rows = sorted(rows, key=lambda r, f=field: _sort_key(r.get(f)), reverse=str(direction).upper() == "DESC")
    return rows


def apply_select(record: dict[str, Any], select: Any) -> dict[str, Any]:
    """Legacy select: default and "*" give every non-UF field; "UF_*" adds custom fields."""
    fields = select if isinstance(select, list) else (list(select.values()) if isinstance(select, dict) else [])
    fields = [str(f) for f in fields]
    if not fields:
        return {k: v for k, v in record.items() if not k.startswith("UF_")}
    want_all = "*" in fields
    want_uf = "UF_*" in fields
    named = {f for f in fields if f not in ("*", "UF_*")}
    out = {}
    for key, value in record.items():
        is_uf = key.startswith("UF_")
        if key in named or (want_all and not is_uf) or (want_uf and is_uf) or key == "ID":
            out[key] = value
    return out


class Store:
    """Records per entity; safe to mutate from tests while the server runs (callers hold the lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.entities: dict[str, list[dict[str, Any]]] = {}
        for name in ENTITIES:
            path = data_dir / f"{name}.jsonl"
            rows: list[dict[str, Any]] = []
            if path.exists():
                with path.open(encoding="utf-8") as fh:
                    for number, line in enumerate(fh, 1):
                        if not line.strip():
                            continue
                        try:
                            rows.append(json.loads(line))
                        except ValueError as e:
                            raise ValueError(f"{path}: line {number} is not a JSON object: {e}") from None
            self.entities[name] = rows
        self._by_id: dict[str, dict[str, dict[str, Any]]] = {}
        self._by_owner: dict[str, list[dict[str, Any]]] | None = None

    def _invalidate(self, entity: str) -> None:
        self._by_id.pop(entity, None)
        if entity == "deal_product_rows":
            self._by_owner = None

    def product_rows(self, deal_id: Any) -> list[dict[str, Any]]:
        if self._by_owner is None:
            self._by_owner = {}
            for row in self.entities["deal_product_rows"]:
                self._by_owner.setdefault(str(row.get("OWNER_ID")), []).append(row)
        return self._by_owner.get(str(deal_id), [])

    @staticmethod
    def id_field(entity: str) -> str:
        return "id" if entity == "deal_categories" else "ID"

    def find(self, entity: str, record_id: Any) -> dict[str, Any] | None:
        index = self._by_id.get(entity)
        if index is None:
            key = self.id_field(entity)
            index = {str(row.get(key)): row for row in self.entities[entity]}
            self._by_id[entity] = index
        return index.get(str(record_id))

    def upsert(self, entity: str, record: dict[str, Any], *, touch: bool = True) -> dict[str, Any]:
        key = self.id_field(entity)
        if touch:
            record = dict(record)
            field = MODIFIED_FIELD.get(entity, "DATE_MODIFY")
            if entity not in ("users", "departments", "statuses", "deal_categories", "deal_stage_history"):
                record[field] = now_portal()
        existing = self.find(entity, record.get(key))
        if existing is not None:
            existing.update(record)
            return existing
        self.entities[entity].append(record)
        self._invalidate(entity)
        return record

    def delete(self, entity: str, record_id: Any) -> bool:
        key = self.id_field(entity)
        rows = self.entities[entity]
        for i, row in enumerate(rows):
            if str(row.get(key)) == str(record_id):
                del rows[i]
                self._invalidate(entity)
                return True
        return False

    def append(self, entity: str, record: dict[str, Any]) -> None:
        self.entities[entity].append(record)
        self._invalidate(entity)

    def next_id(self, entity: str) -> int:
        key = self.id_field(entity)
        return 1 + max((int(r[key]) for r in self.entities[entity] if str(r.get(key, "")).isdigit()), default=0)
