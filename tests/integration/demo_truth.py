"""Expected customer-base numbers computed in plain Python from the generated demo files,
independently of the SQL models (the definitions of docs/KPI.md, section 1)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

BRANCH_KPP_REASONS = ("02", "03", "04", "05", "31", "32")


def inn_is_valid(inn: str | None) -> bool:
    """ИНН check digits (10 digits for organisations, 12 for individuals)."""
    if not inn or not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]

    def check(weights: list[int], digits: list[int]) -> int:
        return sum(w * x for w, x in zip(weights, digits, strict=False)) % 11 % 10

    if len(d) == 10:
        return check([2, 4, 10, 3, 5, 9, 4, 6, 8], d) == d[9]
    return check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8], d) == d[10] and check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8], d) == d[11]


def client_key(inn: str | None, kpp: str | None, record_id: str) -> str:
    if inn_is_valid(inn):
        if kpp and len(kpp) == 9 and kpp.isdigit() and kpp[4:6] in BRANCH_KPP_REASONS:
            return f"{inn}-{kpp}"
        return str(inn)
    return f"onec:{record_id}"


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")
    delimiter = "\t" if "\t" in text.splitlines()[0] else ";"
    return list(csv.DictReader(text.splitlines(), delimiter=delimiter))


@dataclass(frozen=True)
class CustomerBase:
    active: int
    attracted: int
    potential: int
    total: int | None


class DemoTruth:
    def __init__(self, data_dir: Path, as_of: date) -> None:
        onec = data_dir / "onec"
        regions = {r["Ref_Key"]: r["Description"] for r in _jsonl(onec / "Catalog_БизнесРегионы.jsonl")}
        partner_region = {
            p["Ref_Key"]: regions.get(p.get("БизнесРегион_Key", ""), "Не указан")
            for p in _jsonl(onec / "Catalog_Партнеры.jsonl")
        }
        self.client_of: dict[str, str] = {}
        self.region_of: dict[str, set[str]] = defaultdict(set)
        for c in _jsonl(onec / "Catalog_Контрагенты.jsonl"):
            if c.get("DeletionMark"):
                continue
            key = client_key(c.get("ИНН"), c.get("КПП"), c["Ref_Key"])
            self.client_of[c["Ref_Key"]] = key
            self.region_of[key].add(partner_region.get(c.get("Партнер_Key", ""), "Не указан"))
        self.purchase_days: dict[str, set[date]] = defaultdict(set)
        for doc in _jsonl(onec / "Document_РеализацияТоваровУслуг.jsonl"):
            if not doc.get("Posted") or doc.get("DeletionMark") or not doc.get("Товары"):
                continue
            day = date.fromisoformat(doc["Date"][:10])
            client = self.client_of.get(doc["Контрагент_Key"])
            if client is not None and day <= as_of:
                self.purchase_days[client].add(day)
        files = data_dir / "files"
        self.potential: dict[tuple[int, str], set[str]] = defaultdict(set)
        for row in _csv(files / "potential_clients.csv"):
            self.potential[(int(row["Год"]), row["Регион"])].add(row["ИНН"] or row["Наименование"])
        self.outlets: dict[tuple[int, str], int] = {}
        for row in _csv(files / "rosstat_outlets.csv"):
            self.outlets[(int(row["Год"]), row["Регион"])] = int(row["Количество торговых точек"])

    def single_region_clients(self, region: str) -> list[str]:
        return [c for c, rs in self.region_of.items() if rs == {region}]

    def customer_base(self, region: str, start: date, end: date) -> CustomerBase:
        """КБ of `region` for the period [start, end]: every client scope ('all')."""
        active = attracted = 0
        for client in self.single_region_clients(region):
            days = self.purchase_days.get(client, set())
            in_period = [d for d in days if start <= d <= end]
            if not in_period:
                continue
            if min(days) >= start:
                attracted += 1
            else:
                active += 1
        years = [y for (y, r) in self.outlets if r == region and y <= start.year]
        total = self.outlets[(max(years), region)] if years else None
        return CustomerBase(active, attracted, len(self.potential.get((start.year, region), set())), total)
