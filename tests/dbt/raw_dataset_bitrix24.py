"""The Bitrix24 and files part of the shared raw test dataset (tests/dbt/raw_dataset.py).

`add_bitrix24_and_files(ds)` adds what the Bitrix24/files marts need on top of the 1C-centred
rows: CRM dictionaries and pipelines, leads, deals with their stage history, activities, and
the user files (plans, marketing spend, NPS answers, assortment matrix). Rows follow the raw
landing contract (Bitrix24 values as strings). The tests recompute expected numbers from these
same rows, never from the marts.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from raw_dataset import RawDataset

MANAGER_IDS: tuple[str, ...] = ("11", "12", "13")
SOURCES: tuple[tuple[str, str], ...] = (
    ("WEB", "Поисковые запросы"),
    ("TRADE_SHOW", "Мероприятия"),
    ("RECOMMENDATION", "Рекомендации"),
    ("SELF", "Прямые заходы на сайт"),
    ("EMAIL", "E-mail рассылки"),
    ("CALL", "Холодные звонки"),
)
PIPELINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "0": ("Новые клиенты", ("NEW", "PREPARATION", "PREPAYMENT_INVOICE", "EXECUTING", "FINAL_INVOICE")),
    "1": ("Повторные продажи", ("C1:NEW", "C1:PREPARATION", "C1:EXECUTING")),
}
FIRST_MONTH = date(2024, 1, 1)
MONTHS = 18  # 2024-01 .. 2025-06
MSK = timezone(timedelta(hours=3))


def month_start(index: int) -> date:
    year, month = divmod(FIRST_MONTH.month - 1 + index, 12)
    return date(FIRST_MONTH.year + year, month + 1, 1)


def b24_time(moment: datetime) -> str:
    """Bitrix24 style: ISO datetime with the portal's offset."""
    return moment.astimezone(MSK).isoformat(timespec="seconds")


def won_stage(category: str) -> str:
    return "WON" if category == "0" else f"C{category}:WON"


def lost_stage(category: str) -> str:
    return "LOSE" if category == "0" else f"C{category}:LOSE"


def _random_moment(rng: random.Random, first: date, days: int) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, rng.randint(8, 18), rng.randint(0, 59), tzinfo=MSK)


def _dictionaries(ds: RawDataset) -> None:
    record = 1000
    for sort, (status_id, name) in enumerate(SOURCES, start=1):
        record += 1
        ds.add(
            "bitrix24__statuses",
            str(record),
            {
                "ID": str(record),
                "ENTITY_ID": "SOURCE",
                "STATUS_ID": status_id,
                "NAME": name,
                "SORT": str(10 * sort),
                "CATEGORY_ID": None,
                "EXTRA": {"SEMANTICS": None},
            },
        )
    for category, (name, stages) in PIPELINES.items():
        ds.add(
            "bitrix24__deal_categories",
            category,
            {
                "id": int(category),
                "name": name,
                "sort": 100 * (int(category) + 1),
                "isDefault": "Y" if category == "0" else "N",
            },
        )
        entity = "DEAL_STAGE" if category == "0" else f"DEAL_STAGE_{category}"
        all_stages = [(s, "process") for s in stages] + [
            (won_stage(category), "success"),
            (lost_stage(category), "failure"),
        ]
        for sort, (stage, semantics) in enumerate(all_stages, start=1):
            record += 1
            ds.add(
                "bitrix24__statuses",
                str(record),
                {
                    "ID": str(record),
                    "ENTITY_ID": entity,
                    "STATUS_ID": stage,
                    "NAME": f"Стадия {stage}",
                    "SORT": str(10 * sort),
                    "CATEGORY_ID": None if category == "0" else category,
                    "EXTRA": {"SEMANTICS": semantics},
                },
            )


def _second_department(ds: RawDataset) -> None:
    """Department 6 «Отдел продаж Юг» with manager 13, so department totals differ from company ones."""
    ds.add("bitrix24__departments", "6", {"ID": "6", "NAME": "Отдел продаж Юг", "PARENT": "1", "UF_HEAD": "13"})
    for key, payload in ds.rows["bitrix24__users"]:
        if key == "13":
            payload["UF_DEPARTMENT"] = [6]
    ds.add(
        "bitrix24__users",
        "14",
        {
            "ID": "14",
            "ACTIVE": False,
            "NAME": "Уволенный",
            "LAST_NAME": "Бывший",
            "EMAIL": "",
            "WORK_POSITION": "менеджер",
            "UF_DEPARTMENT": [5],
        },
    )


def _deals(ds: RawDataset, rng: random.Random) -> None:
    companies = [(key, payload["ASSIGNED_BY_ID"]) for key, payload in ds.rows["bitrix24__companies"]]
    deal_id, history_id = 2000, 50000
    horizon = (month_start(MONTHS) - FIRST_MONTH).days
    for n, (company_id, manager) in enumerate(companies):
        source_id = SOURCES[n % len(SOURCES)][0]
        lead_id = str(3000 + n)
        lead_created = _random_moment(rng, date(2023, 10, 1), 60)
        ds.add(
            "bitrix24__leads",
            lead_id,
            {
                "ID": lead_id,
                "TITLE": f"Лид {n}",
                "SOURCE_ID": source_id,
                "STATUS_ID": "CONVERTED",
                "STATUS_SEMANTIC_ID": "S",
                "COMPANY_ID": company_id,
                "ASSIGNED_BY_ID": manager,
                "DATE_CREATE": b24_time(lead_created),
                "DATE_MODIFY": b24_time(lead_created),
                "DATE_CLOSED": b24_time(lead_created + timedelta(days=5)),
            },
        )
        for d in range(rng.randint(1, 3)):
            deal_id += 1
            category = "0" if d == 0 else "1"
            stages = PIPELINES[category][1]
            created = _random_moment(rng, FIRST_MONTH, horizon)
            reached = rng.randint(1, len(stages))
            outcome = rng.choice(("won", "lost", "open")) if reached == len(stages) else rng.choice(("lost", "open"))
            moment = created
            path = list(stages[:reached])
            if outcome == "won":
                path.append(won_stage(category))
            elif outcome == "lost":
                path.append(lost_stage(category))
            for i, stage in enumerate(path):
                if i:
                    moment = moment + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 5))
                history_id += 1
                final = stage in (won_stage(category), lost_stage(category))
                ds.add(
                    "bitrix24__deal_stage_history",
                    str(history_id),
                    {
                        "ID": str(history_id),
                        "TYPE_ID": "1" if i == 0 else ("3" if final else "2"),
                        "OWNER_ID": str(deal_id),
                        "CREATED_TIME": b24_time(moment),
                        "CATEGORY_ID": category,
                        "STAGE_SEMANTIC_ID": {"won": "S", "lost": "F"}.get(outcome, "P") if final else "P",
                        "STAGE_ID": stage,
                    },
                )
            semantic = {"won": "S", "lost": "F"}.get(outcome, "P")
            ds.add(
                "bitrix24__deals",
                str(deal_id),
                {
                    "ID": str(deal_id),
                    "TITLE": f"Сделка {deal_id}",
                    "CATEGORY_ID": category,
                    "STAGE_ID": path[-1],
                    "STAGE_SEMANTIC_ID": semantic,
                    "OPPORTUNITY": f"{rng.randint(10, 500) * 1000}.00",
                    "CURRENCY_ID": "RUB",
                    "COMPANY_ID": company_id,
                    "ASSIGNED_BY_ID": manager,
                    "SOURCE_ID": source_id,
                    "LEAD_ID": lead_id if d == 0 else None,
                    "DATE_CREATE": b24_time(created),
                    "DATE_MODIFY": b24_time(moment),
                    "CLOSEDATE": b24_time(moment) if semantic != "P" else "",
                    "CLOSED": "N" if semantic == "P" else "Y",
                },
            )
    for n in range(15):  # leads that never became clients
        lead_id = str(3500 + n)
        created = _random_moment(rng, FIRST_MONTH, horizon)
        ds.add(
            "bitrix24__leads",
            lead_id,
            {
                "ID": lead_id,
                "TITLE": f"Холодный лид {n}",
                "SOURCE_ID": SOURCES[n % 4][0],
                "STATUS_ID": "JUNK",
                "STATUS_SEMANTIC_ID": "F",
                "COMPANY_ID": None,
                "ASSIGNED_BY_ID": MANAGER_IDS[n % 3],
                "DATE_CREATE": b24_time(created),
                "DATE_MODIFY": b24_time(created),
                "DATE_CLOSED": "",
            },
        )


def _activities_and_plans(ds: RawDataset, rng: random.Random) -> None:
    activity_id = 70000
    for m in range(MONTHS):
        first = month_start(m)
        days = (month_start(m + 1) - first).days
        for manager in MANAGER_IDS:
            for type_id, low, high in (("2", 4, 12), ("1", 1, 4), ("3", 2, 6), ("4", 0, 2)):
                for _ in range(rng.randint(low, high)):
                    activity_id += 1
                    start = _random_moment(rng, first, days)
                    ds.add(
                        "bitrix24__activities",
                        str(activity_id),
                        {
                            "ID": str(activity_id),
                            "OWNER_TYPE_ID": "4",
                            "OWNER_ID": "100",
                            "TYPE_ID": type_id,
                            "PROVIDER_ID": "CRM_MEETING" if type_id == "1" else "VOXIMPLANT_CALL",
                            "DIRECTION": "2",
                            "COMPLETED": "Y" if rng.random() < 0.85 else "N",
                            "RESPONSIBLE_ID": manager,
                            "CREATED": b24_time(start - timedelta(days=1)),
                            "LAST_UPDATED": b24_time(start),
                            "START_TIME": b24_time(start),
                            "END_TIME": b24_time(start + timedelta(minutes=30)),
                            "DEADLINE": b24_time(start + timedelta(minutes=30)),
                            "SUBJECT": "Дело",
                        },
                    )
            ds.add(
                "files__sales_plans",
                f"{first.isoformat()}|{manager}",
                {
                    "month": first.isoformat(),
                    "manager_id": manager,
                    "manager_name": f"Менеджер {manager}",
                    "revenue_plan": rng.randint(5, 40) * 1000,
                    "new_clients_plan": rng.randint(0, 2),
                    "stable_growth_plan": rng.randint(0, 2),
                    "aov_growth_plan_pct": rng.choice((5, 10)),
                    "conversion_target_pct": 37,
                    "calls_norm": 8,
                    "meetings_norm": 2,
                    "tasks_norm": 4,
                },
            )
        for source_id, _ in SOURCES:
            ds.add(
                "files__marketing_spend",
                f"{first.isoformat()}|{source_id}",
                {"month": first.isoformat(), "source_id": source_id, "spend_rub": rng.randint(1, 20) * 5000},
            )


def _files(ds: RawDataset, rng: random.Random) -> None:
    inns = [payload["ИНН"] for _, payload in ds.rows["onec__counterparties"] if payload["ИНН"]]
    for n in range(70):
        department = "Отдел продаж" if n < 50 else "Отдел продаж Юг"
        answered = date(2025, 1, 1) + timedelta(days=rng.randrange(180))
        ds.add(
            "files__nps_answers",
            f"nps.csv|{n + 2}",
            {
                "answered_on": answered.isoformat(),
                "inn": inns[n % len(inns)],
                "department": department,
                "score": rng.randint(0, 10),
            },
        )
    for channel in ("Розница", "Опт", "Сети"):
        ds.add(
            "files__assortment_matrix",
            f"{channel}|Бытовая химия|",
            {"channel": channel, "category": "Бытовая химия", "sku": None},
        )
    ds.add("files__assortment_matrix", "Сети|Посуда|SKU-1", {"channel": "Сети", "category": "Посуда", "sku": "SKU-1"})
    ds.add("files__assortment_matrix", "Опт|Посуда|SKU-3", {"channel": "Опт", "category": "Посуда", "sku": "SKU-3"})


def add_bitrix24_and_files(ds: RawDataset, *, seed: int = 11) -> RawDataset:
    """Add dictionaries, leads, deals, stage history, activities and user files to `ds` (in place)."""
    rng = random.Random(seed)
    _dictionaries(ds)
    _second_department(ds)
    _deals(ds, rng)
    _activities_and_plans(ds, rng)
    _files(ds, rng)
    return ds
