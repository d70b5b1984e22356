"""A small, deterministic raw dataset (1C-centred) for the dbt tests and benchmark.

Rows follow the raw landing contract of docs/architecture.md (payload = the source record as
the API returns it). Used until the demo generator and connectors land data; the tests only
rely on what is written here, and recompute expected results from these same rows.
"""
from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg

RAW_TABLES: tuple[str, ...] = (
    "bitrix24__companies", "bitrix24__requisites", "bitrix24__addresses", "bitrix24__contacts", "bitrix24__leads",
    "bitrix24__deals", "bitrix24__deal_stage_history", "bitrix24__activities", "bitrix24__users",
    "bitrix24__departments", "bitrix24__statuses", "bitrix24__deal_categories",
    "bitrix24__deal_product_rows", "bitrix24__products",
    "onec__counterparties", "onec__partners", "onec__business_regions", "onec__users",
    "onec__departments", "onec__products", "onec__sales_documents", "onec__returns",
    "files__rosstat_outlets", "files__potential_clients", "files__sales_plans",
    "files__assortment_matrix", "files__nps_answers", "files__marketing_spend", "files__sales_lines",
)

REGIONS: tuple[str, ...] = ("Санкт-Петербург", "Москва", "Новосибирская область")
CHANNELS: tuple[str, ...] = ("Розница", "Опт", "Сети")
MANAGERS: tuple[tuple[str, str], ...] = (  # (1C «Фамилия Имя», how Bitrix24 spells it)
    ("Иванов Пётр", "иванов  пётр"),
    ("Смирнова Анна", "Смирнова Анна"),
    ("Кузнецов Олег", "Кузнецов Олег"),
)
_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def make_inn10(rng: random.Random) -> str:
    body = [rng.randint(0, 9) for _ in range(9)]
    body[0] = rng.randint(1, 9)
    check = sum(d * w for d, w in zip(body, _W10, strict=True)) % 11 % 10
    return "".join(map(str, body)) + str(check)


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


@dataclass
class RawDataset:
    rows: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)

    def add(self, table: str, key: str, payload: dict) -> None:
        self.rows.setdefault(table, []).append((key, payload))


def generate(n_clients: int = 40, *, seed: int = 7, start: date = date(2024, 1, 1),
             end: date = date(2025, 6, 30), docs_per_client: int = 12) -> RawDataset:
    """Clients with 1C counterparties, Bitrix24 companies, sales documents and returns.

    Deliberate edge cases: a counterparty without ИНН, one with an invalid ИНН, a Bitrix24
    company with no 1C counterparty, unposted and deletion-marked documents, a return larger
    than its sale, a client with one purchase day, a branch (КПП 78xx02xxx).
    """
    rng = random.Random(seed)
    ds = RawDataset()
    region_keys = {}
    for i, name in enumerate(REGIONS):
        key = _guid(rng)
        region_keys[name] = key
        ds.add("onec__business_regions", key, {"Ref_Key": key, "Description": name, "DeletionMark": False})
        ds.add("files__rosstat_outlets", f"{name}|2024", {"region": name, "year": 2024, "outlets": 1000 + 100 * i})
        ds.add("files__rosstat_outlets", f"{name}|2025", {"region": name, "year": 2025, "outlets": 1100 + 100 * i})
    dept_key = _guid(rng)
    ds.add("onec__departments", dept_key, {"Ref_Key": dept_key, "Description": "Отдел продаж", "Parent_Key": "00000000-0000-0000-0000-000000000000"})
    ds.add("bitrix24__departments", "1", {"ID": "1", "NAME": "Компания", "PARENT": None, "UF_HEAD": "1"})
    ds.add("bitrix24__departments", "5", {"ID": "5", "NAME": "Отдел продаж", "PARENT": "1", "UF_HEAD": "11"})
    user_keys = []
    for i, (onec_name, b24_name) in enumerate(MANAGERS):
        key = _guid(rng)
        user_keys.append(key)
        ds.add("onec__users", key, {"Ref_Key": key, "Description": onec_name, "Подразделение_Key": dept_key})
        last, first = b24_name.split()
        uid = str(11 + i)
        ds.add("bitrix24__users", uid, {"ID": uid, "ACTIVE": True, "NAME": first, "LAST_NAME": last,
                                        "EMAIL": f"m{uid}@example.ru", "WORK_POSITION": "менеджер", "UF_DEPARTMENT": [5]})
    categories = []
    for cat in ("Бытовая химия", "Посуда"):
        key = _guid(rng)
        categories.append(key)
        ds.add("onec__products", key, {"Ref_Key": key, "Code": cat[:3], "Description": cat, "Артикул": "",
                                       "Parent_Key": "00000000-0000-0000-0000-000000000000", "IsFolder": True, "DeletionMark": False})
    products = []
    for i in range(6):
        key = _guid(rng)
        products.append((key, 100 + 50 * i))
        ds.add("onec__products", key, {"Ref_Key": key, "Code": f"P{i:03d}", "Description": f"Товар {i}", "Артикул": f"SKU-{i}",
                                       "Parent_Key": categories[i % 2], "IsFolder": False, "DeletionMark": False})
    span = (end - start).days
    doc_no = 0
    for c in range(n_clients):
        region = REGIONS[c % len(REGIONS)]
        channel = CHANNELS[c % len(CHANNELS)]
        mgr = c % len(MANAGERS)
        partner_key, cp_key = _guid(rng), _guid(rng)
        inn = make_inn10(rng)
        kpp = inn[:4] + "01001"
        if c == 1:
            inn_out, kpp = "", ""  # no ИНН
        elif c == 2:
            inn_out = inn[:9] + str((int(inn[9]) + 1) % 10)  # check digit wrong
        elif c == 3:
            inn_out, kpp = inn, inn[:4] + "02001"  # a branch
        else:
            inn_out = inn
        ds.add("onec__partners", partner_key, {"Ref_Key": partner_key, "Description": f"Партнёр {c}", "DeletionMark": False,
                                               "БизнесРегион_Key": region_keys[region], "ОсновнойМенеджер_Key": user_keys[mgr],
                                               "КаналСбыта": channel})
        ds.add("onec__counterparties", cp_key, {"Ref_Key": cp_key, "DataVersion": "AAAAAQ==", "DeletionMark": False,
                                                "Code": f"{c:06d}", "Description": f"ООО Клиент {c}  ",
                                                "НаименованиеПолное": f"Общество Клиент {c}", "ИНН": inn_out, "КПП": kpp,
                                                "Партнер_Key": partner_key, "ЮрФизЛицо": "ЮрЛицо"})
        if c % 5 != 4:  # most clients also live in Bitrix24
            cid = str(100 + c)
            ds.add("bitrix24__companies", cid, {"ID": cid, "TITLE": f"Клиент {c}", "COMPANY_TYPE": "CUSTOMER",
                                                "EMPLOYEES": "EMPLOYEES_2", "REVENUE": "0", "ASSIGNED_BY_ID": str(11 + mgr),
                                                "DATE_CREATE": "2023-12-01T10:00:00+03:00", "DATE_MODIFY": "2025-01-01T10:00:00+03:00",
                                                "UF_CRM_HC_REGION": region, "UF_CRM_HC_CHANNEL": channel,
                                                "UF_CRM_HC_POTENTIAL": str(1_000_000 * (1 + c % 15)),
                                                "UF_CRM_HC_SIZE": ("крупный", "средний", "мелкий")[c % 3]})
            ds.add("bitrix24__requisites", str(500 + c), {"ID": str(500 + c), "ENTITY_TYPE_ID": "4", "ENTITY_ID": cid,
                                                          "RQ_INN": inn_out, "RQ_KPP": kpp, "RQ_COMPANY_NAME": f"ООО Клиент {c}"})
        n_docs = 1 if c == 5 else rng.randint(1, docs_per_client)
        first_day = rng.randrange(span)
        for _ in range(n_docs):
            doc_no += 1
            day = start + timedelta(days=min(span, first_day + rng.randrange(max(1, span - first_day + 1))))
            if c == 5:
                day = date(2025, 2, 10)
            key = _guid(rng)
            lines = []
            for ln in range(1, rng.randint(1, 3) + 1):
                pkey, price = products[rng.randrange(len(products))]
                qty = rng.randint(1, 20)
                amount = qty * price
                lines.append({"Ref_Key": key, "LineNumber": str(ln), "Номенклатура_Key": pkey, "Количество": qty,
                              "Цена": price, "Сумма": amount, "СтавкаНДС": "НДС20", "СуммаНДС": round(amount / 6, 2)})
            posted = doc_no % 17 != 0
            marked = doc_no % 23 == 0
            ds.add("onec__sales_documents", key, {
                "Ref_Key": key, "DataVersion": "AAAAAg==", "DeletionMark": marked, "Posted": posted,
                "Number": f"РТ-{doc_no:06d}  ", "Date": f"{day.isoformat()}T12:00:00",
                "Контрагент_Key": cp_key, "Партнер_Key": partner_key, "Менеджер_Key": user_keys[mgr],
                "Подразделение_Key": dept_key, "СуммаДокумента": sum(x["Сумма"] for x in lines),
                "ЦенаВключаетНДС": True, "Товары": lines})
            if doc_no % 11 == 0 and posted and not marked:
                rkey = _guid(rng)
                first = lines[0]
                qty = first["Количество"] * (3 if doc_no % 22 == 0 else 1) // 2 or 1  # sometimes more than sold
                amount = qty * first["Цена"]
                ds.add("onec__returns", rkey, {
                    "Ref_Key": rkey, "DataVersion": "AAAAAw==", "DeletionMark": False, "Posted": True,
                    "Number": f"ВЗ-{doc_no:06d}", "Date": f"{min(end, day + timedelta(days=3)).isoformat()}T09:00:00",
                    "Контрагент_Key": cp_key, "Партнер_Key": partner_key, "Менеджер_Key": user_keys[mgr],
                    "Подразделение_Key": dept_key, "СуммаДокумента": amount, "ЦенаВключаетНДС": True,
                    "ДокументРеализации_Key": key,
                    "Товары": [{"Ref_Key": rkey, "LineNumber": "1", "Номенклатура_Key": first["Номенклатура_Key"],
                                "Количество": qty, "Цена": first["Цена"], "Сумма": amount, "СтавкаНДС": "НДС20",
                                "СуммаНДС": round(amount / 6, 2)}]})
        if c % 4 == 0:
            for year in (2024, 2025):
                ds.add("files__potential_clients", f"{year}|{inn}", {"year": year, "region": region, "inn": inn,
                                                                   "name": f"ООО Клиент {c}", "manager": str(11 + mgr),
                                                                   "potential_rub": 2_000_000})
    # a Bitrix24 company with no 1C counterparty
    ds.add("bitrix24__companies", "999", {"ID": "999", "TITLE": "Только в CRM", "COMPANY_TYPE": "PROSPECT", "EMPLOYEES": "EMPLOYEES_4",
                                          "ASSIGNED_BY_ID": "11", "DATE_CREATE": "2024-05-01T10:00:00+03:00",
                                          "DATE_MODIFY": "2024-05-01T10:00:00+03:00", "UF_CRM_HC_REGION": REGIONS[0],
                                          "UF_CRM_HC_CHANNEL": CHANNELS[0], "UF_CRM_HC_POTENTIAL": "20000000", "UF_CRM_HC_SIZE": None})
    crm_inn = make_inn10(rng)
    ds.add("bitrix24__requisites", "998", {"ID": "998", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "999", "RQ_INN": crm_inn, "RQ_KPP": "",
                                           "RQ_COMPANY_NAME": "Только в CRM"})
    for year in (2024, 2025):
        ds.add("files__potential_clients", f"{year}|{crm_inn}", {"year": year, "region": REGIONS[0], "inn": crm_inn, "name": "Только в CRM",
                                                               "manager": "11", "potential_rub": 20_000_000})
    # the generic ERP sales file: a client known only there
    file_inn = make_inn10(rng)
    for n, (day, amount) in enumerate(((date(2025, 3, 3), 5000), (date(2025, 4, 7), 7000)), start=1):
        ds.add("files__sales_lines", f"ERP-{n}|1", {"inn": file_inn, "client_name": "ИП Файлов", "date": day.isoformat(),
                                                     "document_number": f"ERP-{n}", "product": "Товар 1", "quantity": 1,
                                                     "amount": amount, "manager": "Смирнова Анна", "region": REGIONS[1],
                                                     "channel": CHANNELS[1]})
    return ds


def create_raw_tables(conn: psycopg.Connection, tables: Iterable[str] = RAW_TABLES) -> None:
    conn.execute("create schema if not exists raw")
    for table in tables:
        conn.execute(
            f"create table if not exists raw.{table} (source_key text primary key, payload jsonb not null,"
            " _source text not null, _load_id text not null, _loaded_at timestamptz not null,"
            " _modified_at timestamptz null, _deleted_at timestamptz null)"
        )


def land(conn: psycopg.Connection, dataset: RawDataset, load_id: str = "test-load") -> None:
    """Upsert every row of `dataset` into raw.<table> (creating all contract tables first)."""
    create_raw_tables(conn)
    now = datetime.now(UTC)
    for table, rows in dataset.rows.items():
        source = table.split("__", 1)[0]
        source = "onec" if source == "onec" else ("bitrix24" if source == "bitrix24" else f"file:{table}.csv")
        with conn.cursor() as cur:
            cur.executemany(
                f"insert into raw.{table} (source_key, payload, _source, _load_id, _loaded_at)"
                " values (%s, %s, %s, %s, %s) on conflict (source_key) do update set payload = excluded.payload,"
                " _load_id = excluded._load_id, _loaded_at = excluded._loaded_at",
                [(key, json.dumps(payload, ensure_ascii=False), source, load_id, now) for key, payload in rows],
            )
