"""Writes the 1C side of the demo: catalogs and documents as OData `$format=json` records."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hc_demo import reference as ref
from hc_demo.formats import EMPTY_REF, JsonlWriter, at_time, data_version, guid, onec_dt
from hc_demo.population import Party, Population

SALES = "Document_РеализацияТоваровУслуг"
RETURNS = "Document_ВозвратТоваровОтКлиента"
COUNTERPARTIES = "Catalog_Контрагенты"
PARTNERS = "Catalog_Партнеры"
REGIONS = "Catalog_БизнесРегионы"
USERS = "Catalog_Пользователи"
DEPARTMENTS = "Catalog_СтруктураПредприятия"
PRODUCTS = "Catalog_Номенклатура"

Progress = Callable[[str, int, int], None]


@dataclass
class Product:
    ref_key: str
    code: str
    sku: str
    name: str
    category: int
    price: float  # rubles with VAT at the start of the history
    b24_id: int = 0


@dataclass
class OneCKeys:
    regions: list[str]
    departments: dict[str, str]
    users: list[str]  # per manager index
    organisation: str
    warehouse: str
    currency: str
    folders: list[str]
    products: list[Product]
    unit: str = EMPTY_REF
    by_category: dict[int, list[int]] = field(default_factory=dict)


def _counterparty(base: dict[str, Any], p: Party, code: str, description: str) -> dict[str, Any]:
    """A Справочник.Контрагенты record of party `p` on top of `base` (see `_base`)."""
    return base | {
        "Parent_Key": EMPTY_REF,
        "IsFolder": False,
        "Code": code,
        "Description": description,
        "НаименованиеПолное": p.full_name,
        "ИНН": p.inn,
        "КПП": p.kpp,
        "ЮрФизЛицо": "ЮрЛицо" if p.is_legal else "ИндивидуальныйПредприниматель",
        "Партнер_Key": p.keys["partner"],
        "Predefined": False,
        "PredefinedDataName": "",
    }


def _base(rng: random.Random, key: str) -> dict[str, Any]:
    return {"Ref_Key": key, "DataVersion": data_version(rng), "DeletionMark": False}


def _code(n: int, prefix: str = "", width: int = 9, pad_to: int = 0) -> str:
    code = f"{prefix}{n:0{width - len(prefix)}d}"
    return code.ljust(pad_to) if pad_to else code


def write_catalogs(onec_dir: Path, pop: Population, rng: random.Random) -> tuple[OneCKeys, dict[str, int]]:
    counts: dict[str, int] = {}
    keys = OneCKeys([], {}, [], guid(rng), guid(rng), guid(rng), [], [], guid(rng))
    with JsonlWriter(onec_dir / f"{REGIONS}.jsonl") as w:
        for i, region in enumerate(ref.REGIONS, 1):
            key = guid(rng)
            keys.regions.append(key)
            w.write(
                _base(rng, key)
                | {
                    "Parent_Key": EMPTY_REF,
                    "IsFolder": False,
                    "Code": _code(i),
                    "Description": region.name,
                    "Predefined": False,
                    "PredefinedDataName": "",
                }
            )
        counts[REGIONS] = w.count
    with JsonlWriter(onec_dir / f"{DEPARTMENTS}.jsonl") as w:
        for i, (code, (_, name)) in enumerate(ref.DEPARTMENTS.items(), 1):
            key = guid(rng)
            keys.departments[code] = key
            parent = EMPTY_REF if code == "root" else keys.departments["root" if code == "com" else "com"]
            w.write(
                _base(rng, key)
                | {
                    "Parent_Key": parent,
                    "Code": _code(i, "00-", 9),
                    "Description": name,
                    "Predefined": False,
                    "PredefinedDataName": "",
                }
            )
        counts[DEPARTMENTS] = w.count
    with JsonlWriter(onec_dir / f"{USERS}.jsonl") as w:
        people = [ref.DIRECTOR, *ref.MANAGERS]
        for person in people:
            key = guid(rng)
            w.write(
                _base(rng, key)
                | {
                    "Description": person.full_name,
                    "Подразделение_Key": keys.departments[person.department],
                    "ФизическоеЛицо_Key": guid(rng),
                    "Недействителен": False,
                    "Служебный": False,
                    "Predefined": False,
                    "PredefinedDataName": "",
                }
            )
            if person is not ref.DIRECTOR:
                keys.users.append(key)
        counts[USERS] = w.count
    with JsonlWriter(onec_dir / f"{PRODUCTS}.jsonl") as w:
        n = 0
        for c, (folder, stems, (lo, hi)) in enumerate(ref.CATEGORIES):
            n += 1
            fkey = guid(rng)
            keys.folders.append(fkey)
            w.write(
                _base(rng, fkey)
                | {
                    "Parent_Key": EMPTY_REF,
                    "IsFolder": True,
                    "Code": _code(n, "00-", 11),
                    "Description": folder,
                    "Predefined": False,
                    "PredefinedDataName": "",
                }
            )
            for stem in stems:
                for variant in rng.sample(ref.VARIANTS, 2):
                    n += 1
                    sku = f"{chr(0x410 + c)}{n:05d}"
                    price = round(rng.uniform(lo, hi), 0)
                    product = Product(guid(rng), _code(n, "00-", 11), sku, f"{stem} {variant}", c, price)
                    keys.products.append(product)
                    w.write(
                        _base(rng, product.ref_key)
                        | {
                            "Parent_Key": fkey,
                            "IsFolder": False,
                            "Code": product.code,
                            "Description": product.name,
                            "Артикул": sku,
                            "ЕдиницаИзмерения_Key": EMPTY_REF if n % 17 == 0 else keys.unit,
                            "ВидНоменклатуры_Key": guid(rng),
                            "СтавкаНДС": "НДС20",
                            "Predefined": False,
                            "PredefinedDataName": "",
                        }
                    )
        counts[PRODUCTS] = w.count
    for i, product in enumerate(keys.products):
        keys.by_category.setdefault(product.category, []).append(i)
    with JsonlWriter(onec_dir / f"{PARTNERS}.jsonl") as pw, JsonlWriter(onec_dir / f"{COUNTERPARTIES}.jsonl") as cw:
        for i, p in enumerate(pop.buyers, 1):
            p.keys["partner"] = guid(rng)
            p.keys["counterparty"] = guid(rng)
            assert p.acquired is not None
            pw.write(
                _base(rng, p.keys["partner"])
                | {
                    "Parent_Key": EMPTY_REF,
                    "IsFolder": False,
                    "Code": _code(i, "ЦБ", 9),
                    "Description": p.name,
                    "НаименованиеПолное": p.full_name,
                    "Клиент": True,
                    "Поставщик": False,
                    "БизнесРегион_Key": keys.regions[p.region],
                    "ОсновнойМенеджер_Key": keys.users[p.manager],
                    "КаналСбыта": p.channel,
                    "ДатаРегистрации": onec_dt(p.acquired - timedelta(days=rng.randrange(1, 40))),
                    "Predefined": False,
                    "PredefinedDataName": "",
                }
            )
            # some codes are space-padded, as fixed-length 1C strings are
            code = _code(i, "ЦБ", 9, pad_to=11 if i % 5 == 0 else 0)
            cw.write(_counterparty(_base(rng, p.keys["counterparty"]), p, code, p.name))
        # a deletion-marked duplicate counterparty with no documents
        for p in pop.buyers[: max(1, len(pop.buyers) // 200)]:
            duplicate = _base(rng, guid(rng))
            code = _code(len(pop.buyers) + p.idx + 1, "ЦБ", 9)
            cw.write(_counterparty(duplicate, p, code, p.name + " (дубль)") | {"DeletionMark": True})
        counts[PARTNERS] = pw.count
        counts[COUNTERPARTIES] = cw.count
    return keys, counts


def vat_rate(day: date) -> tuple[str, float]:
    """Russian VAT: 20% until 2025, 22% from 2026-01-01."""
    return ("НДС22", 22.0) if day.year >= 2026 else ("НДС20", 20.0)


@dataclass
class SalesTotals:
    """What the document writer learnt that the plan files need."""

    revenue_by_manager_month: dict[tuple[int, date], float]
    new_clients_by_manager_month: dict[tuple[int, date], int]
    documents: int
    lines: int
    returns: int
    unposted: int
    deleted: int


def _lines(
    rng: random.Random,
    p: Party,
    day: date,
    amount: float,
    keys: OneCKeys,
    lines_per_doc: float,
    doc_key: str,
    inflation: float,
) -> list[dict[str, Any]]:
    n_lines = 1
    lam = max(0.0, lines_per_doc - 1.0)
    # Poisson(lam) by inversion, small lam
    u, prob, k = rng.random(), pow(2.718281828459045, -lam), 0
    cumulative = prob
    while u > cumulative and k < 60:
        k += 1
        prob *= lam / k
        cumulative += prob
    n_lines += k
    favourite = p.idx % len(ref.CATEGORIES)
    rate_name, rate = vat_rate(day)
    out: list[dict[str, Any]] = []
    chosen: list[int] = []
    for line in range(1, n_lines + 1):
        pi = rng.choice(keys.by_category[favourite]) if rng.random() < 0.45 else rng.randrange(len(keys.products))
        if pi in chosen:
            pi = rng.randrange(len(keys.products))
        chosen.append(pi)
        product = keys.products[pi]
        price = round(product.price * inflation, 2)
        qty = max(1, int(round(amount / n_lines / price)))
        total = round(qty * price, 2)
        out.append(
            {
                "Ref_Key": doc_key,
                "LineNumber": str(line),
                "Номенклатура_Key": product.ref_key,
                "Количество": qty,
                "Цена": price,
                "Сумма": total,
                "СтавкаНДС": rate_name,
                "СуммаНДС": round(total * rate / (100.0 + rate), 2),
            }
        )
    return out


def _document(
    rng: random.Random,
    key: str,
    number: int,
    moment: datetime,
    p: Party,
    keys: OneCKeys,
    lines: list[dict[str, Any]],
    posted: bool,
    deleted: bool,
) -> dict[str, Any]:
    manager = ref.MANAGERS[p.manager]
    return {
        "Ref_Key": key,
        "DataVersion": data_version(rng),
        "DeletionMark": deleted,
        "Number": f"ЦБ-{number:06d}",
        "Date": onec_dt(moment),
        "Posted": posted,
        "Организация_Key": keys.organisation,
        "Контрагент_Key": p.keys["counterparty"],
        "Партнер_Key": p.keys["partner"],
        "Менеджер_Key": keys.users[p.manager],
        "Подразделение_Key": keys.departments[manager.department],
        "Склад_Key": keys.warehouse,
        "Валюта_Key": keys.currency,
        "ЦенаВключаетНДС": True,
        "СуммаДокумента": round(sum(line["Сумма"] for line in lines), 2),
        "Комментарий": "",
        "Товары": lines,
    }


def write_documents(
    onec_dir: Path,
    pop: Population,
    keys: OneCKeys,
    rng: random.Random,
    *,
    lines_per_doc: float,
    progress: Progress | None,
) -> SalesTotals:
    """Stream sales documents in date order (numbers grow with dates), then the returns."""
    entries: list[tuple[int, int, int]] = []  # (day ordinal, buyer idx, kind 0 real / 1 unposted / 2 deleted)
    for p in pop.buyers:
        for day in p.schedule:
            entries.append((day, p.idx, 0))
            r = rng.random()
            if r < 0.015:
                entries.append((day + rng.randrange(0, 3), p.idx, 1))
            elif r < 0.025:
                entries.append((day + rng.randrange(0, 3), p.idx, 2))
    entries = [e for e in entries if e[0] <= pop.as_of.toordinal()]
    entries.sort()
    totals = SalesTotals({}, {}, 0, 0, 0, 0, 0)
    first_seen: set[int] = set()
    pending_returns: list[tuple[int, int, str, list[dict[str, Any]]]] = []
    total = len(entries)
    with JsonlWriter(onec_dir / f"{SALES}.jsonl") as w:
        for number, (ordinal, idx, kind) in enumerate(entries, 1):
            p = pop.buyers[idx]
            day = date.fromordinal(ordinal)
            inflation = 1.07 ** ((ordinal - pop.start.toordinal()) / 365.0)
            key = guid(rng)
            amount = pop.order_amount(p, day, rng)
            lines = _lines(rng, p, day, amount, keys, lines_per_doc, key, inflation)
            doc = _document(rng, key, number, at_time(day, rng), p, keys, lines, kind == 0, kind == 2)
            w.write(doc)
            totals.lines += len(lines)
            if kind == 1:
                totals.unposted += 1
            elif kind == 2:
                totals.deleted += 1
            else:
                month = day.replace(day=1)
                net = sum(line["Сумма"] - line["СуммаНДС"] for line in lines)
                mk = (p.manager, month)
                totals.revenue_by_manager_month[mk] = totals.revenue_by_manager_month.get(mk, 0.0) + net
                if idx not in first_seen:
                    first_seen.add(idx)
                    totals.new_clients_by_manager_month[mk] = totals.new_clients_by_manager_month.get(mk, 0) + 1
                if rng.random() < 0.03:
                    ret_day = ordinal + rng.randrange(3, 30)
                    if ret_day <= pop.as_of.toordinal():
                        pending_returns.append((ret_day, idx, key, lines))
            if progress and (number % 20000 == 0 or number == total):
                progress("1C documents", number, total)
        totals.documents = w.count
    pending_returns.sort(key=lambda r: (r[0], r[1]))
    with JsonlWriter(onec_dir / f"{RETURNS}.jsonl") as w:
        for number, (ordinal, idx, sale_key, sale_lines) in enumerate(pending_returns, 1):
            p = pop.buyers[idx]
            key = guid(rng)
            day = date.fromordinal(ordinal)
            picked = rng.sample(sale_lines, min(len(sale_lines), rng.randint(1, 2)))
            lines = []
            for n, line in enumerate(picked, 1):
                if rng.random() < 0.08:
                    qty = line["Количество"] + rng.randint(1, 5)  # more than was sold: a data error
                else:
                    qty = rng.randint(1, line["Количество"])
                total_sum = round(qty * line["Цена"], 2)
                rate = float(line["СтавкаНДС"][3:])
                lines.append(
                    {
                        "Ref_Key": key,
                        "LineNumber": str(n),
                        "Номенклатура_Key": line["Номенклатура_Key"],
                        "Количество": qty,
                        "Цена": line["Цена"],
                        "Сумма": total_sum,
                        "СтавкаНДС": line["СтавкаНДС"],
                        "СуммаНДС": round(total_sum * rate / (100.0 + rate), 2),
                    }
                )
            posted = rng.random() >= 0.05
            doc = _document(rng, key, number, at_time(day, rng), p, keys, lines, posted, False)
            doc["Number"] = f"ЦБВ-{number:05d}"
            doc["ДокументРеализации_Key"] = sale_key
            w.write(doc)
        totals.returns = w.count
    return totals
