"""Writes the Bitrix24 side of the demo in the exact shape of the legacy REST list methods."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hc_demo import reference as ref
from hc_demo.formats import JsonlWriter, at_time, b24_dt, money
from hc_demo.onec_writer import Product
from hc_demo.population import Party, Population

DIRECTOR_ID = 1


def manager_user_id(manager: int) -> int:
    """Bitrix24 user id of manager index `manager` (ids 11, 12, ...)."""
    return 11 + manager


@dataclass
class BitrixTotals:
    leads_by_source_month: dict[tuple[str, date], int] = field(default_factory=dict)
    activities_by_manager_month: dict[tuple[int, date, str], int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Deal:
    created: datetime
    party: Party | None
    category: int
    stages: list[tuple[str, datetime]]  # visited stages in order, the last may be final
    final: str  # "" open, "S" won, "F" lost
    amount: float
    source: str
    lead_key: int | None  # index into the leads list
    id: int = 0


@dataclass
class _Lead:
    created: datetime
    party: Party | None
    source: str
    status: str
    closed: datetime | None
    modified: datetime
    id: int = 0


def _dt(day: date, rng: random.Random) -> datetime:
    return at_time(day, rng)


def _users(w: JsonlWriter) -> None:
    people: list[tuple[int, ref.Person]] = [(DIRECTOR_ID, ref.DIRECTOR)]
    people += [(manager_user_id(i), m) for i, m in enumerate(ref.MANAGERS)]
    for uid, person in people:
        w.write(
            {
                "ID": str(uid),
                "ACTIVE": True,
                "NAME": person.first_name,
                "LAST_NAME": person.last_name,
                "SECOND_NAME": "",
                "EMAIL": f"user{uid}@happyclient.example",
                "LAST_LOGIN": "2026-10-30T09:12:44+03:00",
                "DATE_REGISTER": "2021-02-01T00:00:00+03:00",
                "TIME_ZONE": "",
                "IS_ONLINE": "N",
                "TIMESTAMP_X": {},
                "LAST_ACTIVITY_DATE": {},
                "PERSONAL_GENDER": "M" if person.last_name[-1] != "а" else "F",
                "PERSONAL_BIRTHDAY": "",
                "WORK_PHONE": "",
                "WORK_POSITION": person.position,
                "UF_EMPLOYMENT_DATE": "",
                "UF_DEPARTMENT": [ref.DEPARTMENTS[person.department][0]],
                "USER_TYPE": "employee",
            }
        )


def _departments(w: JsonlWriter) -> None:
    heads = {
        "root": DIRECTOR_ID,
        "com": DIRECTOR_ID,
        "spb": manager_user_id(4),
        "reg": manager_user_id(6),
        "key": manager_user_id(14),
    }
    for code, (did, name) in ref.DEPARTMENTS.items():
        record: dict[str, Any] = {"ID": str(did), "NAME": name, "SORT": 500}
        if code != "root":
            record["PARENT"] = "1" if code == "com" else "2"
        record["UF_HEAD"] = str(heads[code])
        w.write(record)


def _statuses(w: JsonlWriter) -> None:
    n = 100
    colors = ("#39A8EF", "#2FC6F6", "#55D0E0", "#47E4C2", "#FFA900")

    def put(
        entity: str, status: str, name: str, sort: int, category: str | None, semantics: str | None, extra: str | None
    ) -> None:
        nonlocal n
        n += 1
        record: dict[str, Any] = {
            "ID": str(n),
            "ENTITY_ID": entity,
            "STATUS_ID": status,
            "NAME": name,
            "NAME_INIT": name if sort <= 10 else "",
            "SORT": str(sort),
            "SYSTEM": "Y" if sort <= 10 else "N",
            "CATEGORY_ID": category,
            "COLOR": colors[(sort // 10) % len(colors)],
            "SEMANTICS": semantics,
        }
        if extra:
            record["EXTRA"] = {"SEMANTICS": extra, "COLOR": record["COLOR"]}
        w.write(record)

    for i, (sid, name, _, _) in enumerate(ref.SOURCES, 1):
        put("SOURCE", sid, name, i * 10, None, None, None)
    for entity, prefix, category in (("DEAL_STAGE", "", None), ("DEAL_STAGE_1", "C1:", "1")):
        for i, (sid, name) in enumerate(ref.PIPELINE_0_STAGES, 1):
            put(entity, prefix + sid, name, i * 10, category, None, "process")
        put(entity, prefix + "WON", "Сделка успешна", 60, category, "S", "success")
        put(entity, prefix + "LOSE", "Сделка провалена", 70, category, "F", "failure")
    for i, (sid, name, sem) in enumerate(
        (
            ("NEW", "Не обработан", "process"),
            ("IN_PROCESS", "В работе", "process"),
            ("PROCESSED", "Обработан", "process"),
            ("CONVERTED", "Качественный лид", "success"),
            ("JUNK", "Некачественный лид", "failure"),
        ),
        1,
    ):
        put("STATUS", sid, name, i * 10, None, {"success": "S", "failure": "F"}.get(sem), sem)
    for i, code in enumerate(("EMPLOYEES_1", "EMPLOYEES_2", "EMPLOYEES_3", "EMPLOYEES_4"), 1):
        put("EMPLOYEES", code, ("менее 50", "50-250", "250-500", "более 500")[i - 1], i * 10, None, None, None)


def _categories(w: JsonlWriter) -> None:
    for cid, name in ref.PIPELINE_NAMES.items():
        w.write(
            {
                "id": cid,
                "name": name,
                "sort": 100 * (cid + 1),
                "entityTypeId": 2,
                "isDefault": "Y" if cid == 0 else "N",
                "originId": "",
                "originatorId": "",
            }
        )


def _products(w: JsonlWriter, products: list[Product]) -> None:
    for i, product in enumerate(products, 1):
        product.b24_id = 100 + i
        w.write(
            {
                "ID": str(product.b24_id),
                "NAME": product.name,
                "CODE": product.sku,
                "ACTIVE": "Y",
                "SECTION_ID": str(11 + product.category),
                "SORT": "500",
                "PRICE": money(product.price),
                "CURRENCY_ID": "RUB",
                "VAT_ID": "3",
                "VAT_INCLUDED": "Y",
                "MEASURE": "9",
                "XML_ID": product.ref_key,
                "DESCRIPTION": None,
                "DATE_CREATE": "2022-01-10T10:00:00+03:00",
                "TIMESTAMP_X": "2025-01-10T10:00:00+03:00",
            }
        )


def _pipeline(
    rng: random.Random, created: datetime, end: datetime, category: int, outcome: str
) -> list[tuple[str, datetime]]:
    """Stages visited from `created` to `end`; outcome S ends WON, F ends LOSE at a random stage."""
    prefix = "C1:" if category == 1 else ""
    names = [s for s, _ in ref.PIPELINE_0_STAGES]
    reach = len(names) if outcome == "S" else rng.randint(1, len(names))
    if category == 1:
        names = ["NEW", "PREPARATION", "EXECUTING"]
        reach = 3 if outcome == "S" else rng.randint(1, 3)
    steps = reach + (1 if outcome else 0)
    span = max((end - created).total_seconds(), 3600.0)
    times = sorted(created + timedelta(seconds=rng.uniform(0, span)) for _ in range(steps - 1))
    visited = [(prefix + names[0], created)]
    for i in range(1, reach):
        visited.append((prefix + names[i], times[i - 1]))
    if outcome:
        visited.append((prefix + ("WON" if outcome == "S" else "LOSE"), end))
    return visited


def write_bitrix(b24_dir: Path, pop: Population, products: list[Product], rng: random.Random) -> BitrixTotals:
    totals = BitrixTotals()
    as_of_dt = datetime(pop.as_of.year, pop.as_of.month, pop.as_of.day, 18, 0)
    simple = {"users": _users, "departments": _departments, "statuses": _statuses, "deal_categories": _categories}
    for name, fn in simple.items():
        with JsonlWriter(b24_dir / f"{name}.jsonl") as w:
            fn(w)
            totals.counts[name] = w.count
    with JsonlWriter(b24_dir / "products.jsonl") as w:
        _products(w, products)
        totals.counts["products"] = w.count

    parties = [p for p in pop.buyers if p.in_bitrix] + pop.prospects
    created: dict[int, datetime] = {}
    leads: list[_Lead] = []
    deals: list[_Deal] = []
    lead_of: dict[int, int] = {}
    for p in parties:
        if p.acquired is not None and p.legacy:
            created[p.idx] = _dt(pop.start - timedelta(days=rng.randrange(100, 1500)), rng)
        elif p.acquired is not None:
            won = _dt(p.acquired - timedelta(days=rng.randrange(1, 10)), rng)
            deal_start = won - timedelta(days=rng.randrange(8, 45))
            lead_start = deal_start - timedelta(days=rng.randrange(1, 25))
            created[p.idx] = deal_start
            lead_index: int | None = None
            if rng.random() < 0.85:
                leads.append(_Lead(lead_start, p, p.source_id, "CONVERTED", deal_start, deal_start))
                lead_index = len(leads) - 1
                lead_of[p.idx] = lead_index
            deals.append(
                _Deal(
                    deal_start,
                    p,
                    0,
                    _pipeline(rng, deal_start, won, 0, "S"),
                    "S",
                    p.base_order * rng.uniform(0.8, 1.2),
                    p.source_id,
                    lead_index,
                )
            )
        else:
            start_day = pop.start + timedelta(days=rng.randrange(0, (pop.as_of - pop.start).days))
            created[p.idx] = _dt(start_day, rng)
            r = rng.random()
            lead_start = created[p.idx]
            if r < 0.35:
                closed = lead_start + timedelta(days=rng.randrange(1, 20))
                junk = closed <= as_of_dt
                leads.append(
                    _Lead(
                        lead_start,
                        p,
                        p.source_id,
                        "JUNK" if junk else "IN_PROCESS",
                        closed if junk else None,
                        min(closed, as_of_dt),
                    )
                )
            elif r < 0.75:
                deal_start = lead_start + timedelta(days=rng.randrange(1, 10))
                leads.append(_Lead(lead_start, p, p.source_id, "CONVERTED", deal_start, deal_start))
                end = deal_start + timedelta(days=rng.randrange(5, 90))
                outcome = "F" if end <= as_of_dt else ""
                end = min(end, as_of_dt)
                deals.append(
                    _Deal(
                        deal_start,
                        p,
                        0,
                        _pipeline(rng, deal_start, end, 0, outcome),
                        outcome,
                        ref.SIZE_ORDER_RUB[p.size] * rng.uniform(0.6, 1.5),
                        p.source_id,
                        len(leads) - 1,
                    )
                )
        # repeat-sales pipeline for buyers
        if p.acquired is not None:
            year_day = max(p.acquired, pop.start) + timedelta(days=rng.randrange(30, 200))
            while year_day < pop.as_of:
                if p.churn and year_day > p.churn:
                    break
                if rng.random() < 0.45:
                    start = _dt(year_day, rng)
                    end = start + timedelta(days=rng.randrange(3, 40))
                    outcome = ("S" if rng.random() < 0.7 else "F") if end <= as_of_dt else ""
                    end = min(end, as_of_dt)
                    deals.append(
                        _Deal(
                            start,
                            p,
                            1,
                            _pipeline(rng, start, end, 1, outcome),
                            outcome,
                            p.base_order * rng.uniform(1.5, 4.0),
                            p.source_id,
                            None,
                        )
                    )
                year_day += timedelta(days=rng.randrange(200, 420))
    # anonymous junk leads with no company
    for _ in range(max(3, len(parties) // 10)):
        day = pop.start + timedelta(days=rng.randrange(0, (pop.as_of - pop.start).days))
        start = _dt(day, rng)
        source = rng.choices([s[0] for s in ref.SOURCES], weights=[s[2] for s in ref.SOURCES], k=1)[0]
        closed = start + timedelta(days=rng.randrange(0, 5))
        leads.append(_Lead(start, None, source, "JUNK", closed, closed))

    # ids in creation order, as a real portal assigns them
    company_order = sorted(parties, key=lambda p: (created[p.idx], p.idx))
    for n, p in enumerate(company_order, 1):
        p.keys["b24_company"] = str(n * 2 + 1)
    lead_order = sorted(range(len(leads)), key=lambda i: (leads[i].created, i))
    for n, i in enumerate(lead_order, 1):
        leads[i].id = 10 + n
    deal_order = sorted(range(len(deals)), key=lambda i: (deals[i].created, i))
    for n, i in enumerate(deal_order, 1):
        deals[i].id = n

    _write_companies(b24_dir, company_order, created, pop, rng, as_of_dt, totals)
    with JsonlWriter(b24_dir / "leads.jsonl") as w:
        for i in lead_order:
            lead = leads[i]
            p = lead.party
            sem = {"CONVERTED": "S", "JUNK": "F"}.get(lead.status, "P")
            manager = manager_user_id(p.manager) if p else manager_user_id(rng.randrange(len(ref.MANAGERS)))
            w.write(
                {
                    "ID": str(lead.id),
                    "TITLE": f"Заявка: {p.name}" if p else "Заявка с сайта",
                    "HONORIFIC": None,
                    "NAME": None,
                    "SECOND_NAME": None,
                    "LAST_NAME": None,
                    "COMPANY_TITLE": p.name if p else "",
                    "SOURCE_ID": lead.source,
                    "SOURCE_DESCRIPTION": None,
                    "STATUS_ID": lead.status,
                    "STATUS_DESCRIPTION": None,
                    "STATUS_SEMANTIC_ID": sem,
                    "POST": None,
                    "ADDRESS": None,
                    "CURRENCY_ID": "RUB",
                    "OPPORTUNITY": "0.00",
                    "IS_MANUAL_OPPORTUNITY": "N",
                    "OPENED": "Y",
                    "COMMENTS": None,
                    "HAS_PHONE": "Y",
                    "HAS_EMAIL": "N",
                    "HAS_IMOL": "N",
                    "ASSIGNED_BY_ID": str(manager),
                    "CREATED_BY_ID": str(manager),
                    "MODIFY_BY_ID": str(manager),
                    "DATE_CREATE": b24_dt(lead.created),
                    "DATE_MODIFY": b24_dt(lead.modified),
                    "DATE_CLOSED": b24_dt(lead.closed) if lead.closed else "",
                    "COMPANY_ID": p.keys["b24_company"] if p and lead.status == "CONVERTED" else None,
                    "CONTACT_ID": None,
                    "IS_RETURN_CUSTOMER": "N",
                    "UTM_SOURCE": None,
                    "UTM_MEDIUM": None,
                    "UTM_CAMPAIGN": None,
                    "UTM_CONTENT": None,
                    "UTM_TERM": None,
                }
            )
            month = lead.created.date().replace(day=1)
            key = (lead.source, month)
            totals.leads_by_source_month[key] = totals.leads_by_source_month.get(key, 0) + 1
        totals.counts["leads"] = w.count
    _write_deals(b24_dir, deals, deal_order, leads, products, rng, totals)
    _write_activities(b24_dir, parties, created, pop, rng, as_of_dt, totals)
    return totals


def _write_companies(
    b24_dir: Path,
    order: list[Party],
    created: dict[int, datetime],
    pop: Population,
    rng: random.Random,
    as_of_dt: datetime,
    totals: BitrixTotals,
) -> None:
    with (
        JsonlWriter(b24_dir / "companies.jsonl") as cw,
        JsonlWriter(b24_dir / "requisites.jsonl") as rw,
        JsonlWriter(b24_dir / "contacts.jsonl") as kw,
    ):
        for p in order:
            c = created[p.idx]
            modified = min(as_of_dt, c + timedelta(days=rng.randrange(0, 900)))
            manager = str(manager_user_id(p.manager))
            cw.write(
                {
                    "ID": p.keys["b24_company"],
                    "COMPANY_TYPE": "CUSTOMER" if p.acquired else "PROSPECT",
                    "TITLE": p.name,
                    "LOGO": None,
                    "LEAD_ID": None,
                    "HAS_PHONE": "Y",
                    "HAS_EMAIL": "Y",
                    "HAS_IMOL": "N",
                    "ASSIGNED_BY_ID": manager,
                    "CREATED_BY_ID": manager,
                    "MODIFY_BY_ID": manager,
                    "BANKING_DETAILS": None,
                    "INDUSTRY": "OTHER",
                    "REVENUE": money(p.potential_rub * 2.5),
                    "CURRENCY_ID": "RUB",
                    "EMPLOYEES": ref.SIZE_EMPLOYEES[p.size],
                    "COMMENTS": None,
                    "DATE_CREATE": b24_dt(c),
                    "DATE_MODIFY": b24_dt(modified),
                    "OPENED": "Y",
                    "IS_MY_COMPANY": "N",
                    "ORIGINATOR_ID": None,
                    "ORIGIN_ID": None,
                    "ORIGIN_VERSION": None,
                    "ADDRESS": None,
                    "UF_CRM_HC_REGION": ref.REGIONS[p.region].name,
                    "UF_CRM_HC_CHANNEL": p.channel,
                    "UF_CRM_HC_POTENTIAL": str(p.potential_rub),
                    "UF_CRM_HC_SIZE": p.size,
                }
            )
            if p.requisite != "none":
                record: dict[str, Any] = {
                    "ID": str(rw.count + 1),
                    "ENTITY_TYPE_ID": "4",
                    "ENTITY_ID": p.keys["b24_company"],
                    "PRESET_ID": "1" if p.is_legal else "2",
                    "DATE_CREATE": b24_dt(c),
                    "DATE_MODIFY": b24_dt(modified),
                    "CREATED_BY_ID": manager,
                    "MODIFY_BY_ID": manager,
                    "NAME": "Реквизиты",
                    "CODE": None,
                    "XML_ID": None,
                    "ORIGINATOR_ID": None,
                    "ACTIVE": "Y",
                    "ADDRESS_ONLY": "N",
                    "SORT": "500",
                    "RQ_COMPANY_NAME": p.name,
                    "RQ_COMPANY_FULL_NAME": p.full_name,
                    "RQ_INN": p.bad_inn if p.requisite == "invalid" else p.inn,
                    "RQ_KPP": p.kpp or None,
                }
                rw.write(record)
            if rng.random() < 0.7:
                kw.write(
                    {
                        "ID": str(kw.count + 1),
                        "NAME": rng.choice(ref.PERSON_FIRST),
                        "LAST_NAME": rng.choice(ref.PERSON_LAST),
                        "SECOND_NAME": None,
                        "POST": "Закупщик",
                        "EXPORT": "Y",
                        "COMPANY_ID": p.keys["b24_company"],
                        "ASSIGNED_BY_ID": manager,
                        "DATE_CREATE": b24_dt(c),
                        "DATE_MODIFY": b24_dt(modified),
                        "OPENED": "Y",
                    }
                )
        totals.counts["companies"] = cw.count
        totals.counts["requisites"] = rw.count
        totals.counts["contacts"] = kw.count


def _write_deals(
    b24_dir: Path,
    deals: list[_Deal],
    order: list[int],
    leads: list[_Lead],
    products: list[Product],
    rng: random.Random,
    totals: BitrixTotals,
) -> None:
    history_id = 0
    row_id = 0
    with (
        JsonlWriter(b24_dir / "deals.jsonl") as dw,
        JsonlWriter(b24_dir / "deal_stage_history.jsonl") as hw,
        JsonlWriter(b24_dir / "deal_product_rows.jsonl") as pw,
    ):
        for i in order:
            d = deals[i]
            p = d.party
            assert p is not None
            stage, moved = d.stages[-1]
            sem = d.final or "P"
            manager = str(manager_user_id(p.manager))
            closed = bool(d.final)
            dw.write(
                {
                    "ID": str(d.id),
                    "TITLE": f"Поставка для {p.name}" if d.category == 0 else f"Повторный заказ {p.name}",
                    "TYPE_ID": "SALE",
                    "STAGE_ID": stage,
                    "PROBABILITY": None,
                    "CURRENCY_ID": "RUB",
                    "OPPORTUNITY": money(d.amount),
                    "IS_MANUAL_OPPORTUNITY": "N",
                    "TAX_VALUE": "0.00",
                    "LEAD_ID": str(leads[d.lead_key].id) if d.lead_key is not None else None,
                    "COMPANY_ID": p.keys["b24_company"],
                    "CONTACT_ID": None,
                    "QUOTE_ID": None,
                    "BEGINDATE": b24_dt(d.created.replace(hour=0, minute=0, second=0)),
                    "CLOSEDATE": b24_dt(moved.replace(hour=0, minute=0, second=0)),
                    "ASSIGNED_BY_ID": manager,
                    "CREATED_BY_ID": manager,
                    "MODIFY_BY_ID": manager,
                    "DATE_CREATE": b24_dt(d.created),
                    "DATE_MODIFY": b24_dt(moved),
                    "OPENED": "Y",
                    "CLOSED": "Y" if closed else "N",
                    "COMMENTS": None,
                    "ADDITIONAL_INFO": None,
                    "LOCATION_ID": None,
                    "CATEGORY_ID": str(d.category),
                    "STAGE_SEMANTIC_ID": sem,
                    "IS_NEW": "N" if len(d.stages) > 1 else "Y",
                    "IS_RECURRING": "N",
                    "IS_RETURN_CUSTOMER": "Y" if d.category == 1 else "N",
                    "IS_REPEATED_APPROACH": "N",
                    "SOURCE_ID": d.source,
                    "SOURCE_DESCRIPTION": None,
                    "ORIGINATOR_ID": None,
                    "ORIGIN_ID": None,
                    "MOVED_BY_ID": manager,
                    "MOVED_TIME": b24_dt(moved),
                    "LAST_ACTIVITY_TIME": b24_dt(moved),
                    "UTM_SOURCE": None,
                    "UTM_MEDIUM": None,
                    "UTM_CAMPAIGN": None,
                    "UTM_CONTENT": None,
                    "UTM_TERM": None,
                }
            )
            for n, (stage_id, when) in enumerate(d.stages):
                history_id += 1
                final = stage_id.endswith("WON") or stage_id.endswith("LOSE")
                hw.write(
                    {
                        "ID": history_id,
                        "TYPE_ID": 1 if n == 0 else (3 if final else 2),
                        "OWNER_ID": d.id,
                        "CREATED_TIME": b24_dt(when),
                        "CATEGORY_ID": d.category,
                        "STAGE_SEMANTIC_ID": ("S" if stage_id.endswith("WON") else "F") if final else "P",
                        "STAGE_ID": stage_id,
                    }
                )
            for _ in range(rng.randint(1, 3)):
                row_id += 1
                product = rng.choice(products)
                qty = max(1, int(d.amount / 3 / product.price))
                pw.write(
                    {
                        "ID": str(row_id),
                        "OWNER_ID": str(d.id),
                        "OWNER_TYPE": "D",
                        "PRODUCT_ID": product.b24_id,
                        "PRODUCT_NAME": product.name,
                        "ORIGINAL_PRODUCT_NAME": product.name,
                        "PRODUCT_DESCRIPTION": None,
                        "PRICE": product.price,
                        "PRICE_EXCLUSIVE": product.price,
                        "PRICE_NETTO": product.price,
                        "PRICE_BRUTTO": product.price,
                        "PRICE_ACCOUNT": money(product.price),
                        "QUANTITY": qty,
                        "DISCOUNT_TYPE_ID": 2,
                        "DISCOUNT_RATE": 0,
                        "DISCOUNT_SUM": 0,
                        "TAX_RATE": 20,
                        "TAX_INCLUDED": "Y",
                        "CUSTOMIZED": "Y",
                        "MEASURE_CODE": 796,
                        "MEASURE_NAME": "шт",
                        "SORT": 10 * row_id,
                        "XML_ID": product.ref_key,
                        "TYPE": 1,
                        "STORE_ID": 0,
                    }
                )
        totals.counts["deals"] = dw.count
        totals.counts["deal_stage_history"] = hw.count
        totals.counts["deal_product_rows"] = pw.count


def _poisson(rng: random.Random, lam: float) -> int:
    u, prob, k = rng.random(), pow(2.718281828459045, -lam), 0
    cumulative = prob
    while u > cumulative and k < 100:
        k += 1
        prob *= lam / k
        cumulative += prob
    return k


def _write_activities(
    b24_dir: Path,
    parties: list[Party],
    created: dict[int, datetime],
    pop: Population,
    rng: random.Random,
    as_of_dt: datetime,
    totals: BitrixTotals,
) -> None:
    rate = {"крупный": 2.2, "средний": 1.1, "мелкий": 0.5}
    kinds = (
        ("2", "CRM_CALL", "CALL", "Звонок", 0.6),
        ("1", "CRM_MEETING", "MEETING", "Встреча", 0.15),
        ("3", "CRM_TASKS_TASK", "TASK", "Задача", 0.25),
    )
    with JsonlWriter(b24_dir / "activities.jsonl") as w:
        for p in sorted(parties, key=lambda q: int(q.keys["b24_company"])):
            start = created[p.idx].date()
            if p.acquired is None:
                end = min(pop.as_of, start + timedelta(days=rng.randrange(10, 120)))
                lam = 0.6
            else:
                end = min(pop.as_of, (p.churn + timedelta(days=60)) if p.churn else pop.as_of)
                lam = rate[p.size]
            start = max(start, pop.start)
            month = start.replace(day=1)
            uid = manager_user_id(p.manager)
            while month <= end:
                for _ in range(_poisson(rng, lam)):
                    day = month + timedelta(days=rng.randrange(0, 28))
                    if day > end or day < start:
                        continue
                    kind = rng.choices(kinds, weights=[k[4] for k in kinds], k=1)[0]
                    when = _dt(day, rng)
                    deadline = when + timedelta(days=rng.randrange(0, 5))
                    done = deadline <= as_of_dt and rng.random() < 0.88
                    updated = min(as_of_dt, deadline + timedelta(hours=rng.randrange(1, 48))) if done else when
                    w.write(
                        {
                            "ID": str(w.count + 1),
                            "OWNER_ID": p.keys["b24_company"],
                            "OWNER_TYPE_ID": "4",
                            "TYPE_ID": kind[0],
                            "PROVIDER_ID": kind[1],
                            "PROVIDER_TYPE_ID": kind[2],
                            "PROVIDER_GROUP_ID": None,
                            "ASSOCIATED_ENTITY_ID": "0",
                            "SUBJECT": f"{kind[3]}: {p.name}",
                            "CREATED": b24_dt(when),
                            "LAST_UPDATED": b24_dt(updated),
                            "START_TIME": b24_dt(when),
                            "END_TIME": b24_dt(when + timedelta(minutes=30)),
                            "DEADLINE": b24_dt(deadline),
                            "COMPLETED": "Y" if done else "N",
                            "STATUS": "2" if done else "1",
                            "RESPONSIBLE_ID": str(uid),
                            "PRIORITY": "2",
                            "NOTIFY_TYPE": "1",
                            "NOTIFY_VALUE": "15",
                            "DESCRIPTION": "",
                            "DESCRIPTION_TYPE": "1",
                            "DIRECTION": "2" if kind[0] == "2" else "0",
                            "LOCATION": "",
                            "SETTINGS": [],
                            "ORIGINATOR_ID": None,
                            "ORIGIN_ID": None,
                            "AUTHOR_ID": str(uid),
                            "EDITOR_ID": str(uid),
                            "PROVIDER_PARAMS": [],
                            "PROVIDER_DATA": None,
                            "RESULT_MARK": "0",
                            "RESULT_VALUE": None,
                            "RESULT_SUM": None,
                            "RESULT_CURRENCY_ID": None,
                            "RESULT_STATUS": "0",
                            "RESULT_STREAM": "0",
                            "RESULT_SOURCE_ID": None,
                            "AUTOCOMPLETE_RULE": "0",
                        }
                    )
                    if done:
                        key = (p.manager, day.replace(day=1), kind[2])
                        totals.activities_by_manager_month[key] = totals.activities_by_manager_month.get(key, 0) + 1
                month = (month + timedelta(days=32)).replace(day=1)
        totals.counts["activities"] = w.count
