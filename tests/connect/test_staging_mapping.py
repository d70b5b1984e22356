"""Staging reads through the mapping (issue 12): the hc_* dbt vars of `ingestion.mapping.dbt_vars`
decide which payload keys, address parts, stages, pipelines, sources and 1C names the staging
models read. Hand-made raw rows, one mapping shaped like a real portal and an УНФ base, and the
expected values worked out by hand in the comments. Passing the vars: `orchestration.dbt.dbt_vars`
and `happyclient dbt` (`dbt_args_with_as_of`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from ingestion import landing
from ingestion import mapping as mp
from tests.dbt.conftest import DbtDatabase, _with_db

MAPPING = {
    "bitrix24": {
        "company": {
            "region": {"address": "PROVINCE", "address_type": 6},
            "channel": {"field": "UF_CRM_1612345678", "values": {"45": "Розница", "46": "Опт и сети"}},
            "potential": {"field": "UF_CRM_1612345701"},
            "size": {"field": "UF_CRM_1612345723", "values": {"51": "Крупный"}},
            "inn": {"requisite": "RQ_INN_CUSTOM"},
        },
        "deals": {"new_client_pipelines": ["0"], "repeat_pipelines": ["7"], "won_stages": ["WON", "C7:UC_SIGNED"],
                  "lost_stages": "auto"},
        "lead_sources": {"UC_SEO": "Поисковые запросы"},
    },
    "onec": {"profile": "unf3"},
}

COMPANIES = {
    # C1: list items 45 / 51 named by the mapping; C2: item 99 is not in `values` (kept as "99")
    "1": {"ID": "1", "TITLE": "Альфа", "UF_CRM_1612345678": "45", "UF_CRM_1612345701": "2500000.5",
          "UF_CRM_1612345723": "51", "UF_CRM_HC_REGION": "Демо-регион (не читается)"},
    "2": {"ID": "2", "TITLE": "Бета", "UF_CRM_1612345678": "99", "UF_CRM_1612345701": "", "UF_CRM_1612345723": None},
    "3": {"ID": "3", "TITLE": "Гамма"},
    "4": {"ID": "4", "TITLE": "Дельта"},
}
REQUISITES = {
    "10": {"ID": "10", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "1", "RQ_INN": "0000000000", "RQ_INN_CUSTOM": "7707083893"},
    "5": {"ID": "5", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "1"},
    "20": {"ID": "20", "ENTITY_TYPE_ID": "4", "ENTITY_ID": "2"},
    "30": {"ID": "30", "ENTITY_TYPE_ID": "3", "ENTITY_ID": "4"},  # a contact's requisite
}


def _address(type_id: str, entity_type: str, entity_id: str, province: str | None) -> dict[str, Any]:
    return {"TYPE_ID": type_id, "ENTITY_TYPE_ID": entity_type, "ENTITY_ID": entity_id, "ADDRESS_1": "ул. Мира, 1",
            "ADDRESS_2": None, "CITY": "Город", "POSTAL_CODE": None, "REGION": "Район", "PROVINCE": province,
            "COUNTRY": "Россия", "COUNTRY_CODE": "RU", "ANCHOR_TYPE_ID": "4", "ANCHOR_ID": entity_id}


ADDRESSES = [
    _address("6", "8", "10", "Тверская область"),
    _address("6", "8", "5", "Московская область"),  # C1: requisite 5 comes before 10 -> Московская
    _address("1", "8", "20", "Калужская область"),  # C2: actual address (type 1), not the mapped legal one
    _address("6", "8", "20", None),  # C2: legal address without a province -> no region
    _address("6", "4", "3", "Псковская область"),  # C3: an older portal's company-level address
    _address("6", "8", "30", "Ярославская область"),  # requisite of a contact: never a company's
]
DEALS = [
    {"ID": "1", "CATEGORY_ID": "0", "STAGE_ID": "WON", "STAGE_SEMANTIC_ID": "S", "COMPANY_ID": "1"},
    # listed as won although the portal calls the stage in progress
    {"ID": "2", "CATEGORY_ID": "7", "STAGE_ID": "C7:UC_SIGNED", "STAGE_SEMANTIC_ID": "P", "COMPANY_ID": "1"},
    # the portal's success stage of pipeline 7 that the mapping's won list leaves out: in progress
    {"ID": "3", "CATEGORY_ID": "7", "STAGE_ID": "C7:WON", "STAGE_SEMANTIC_ID": "S", "COMPANY_ID": "2"},
    {"ID": "4", "CATEGORY_ID": "7", "STAGE_ID": "C7:LOSE", "STAGE_SEMANTIC_ID": "F", "COMPANY_ID": "2"},
    {"ID": "5", "CATEGORY_ID": "9", "STAGE_ID": "C9:WON", "STAGE_SEMANTIC_ID": "S"},  # pipeline 9: left out
    {"ID": "6", "STAGE_ID": "NEW", "STAGE_SEMANTIC_ID": "P"},  # no CATEGORY_ID: the default pipeline 0
]
STATUSES = [
    {"ID": "1", "ENTITY_ID": "SOURCE", "STATUS_ID": "UC_SEO", "NAME": "SEO"},
    {"ID": "2", "ENTITY_ID": "SOURCE", "STATUS_ID": "CALL", "NAME": "Звонок"},
    {"ID": "3", "ENTITY_ID": "DEAL_STAGE", "STATUS_ID": "UC_SEO", "NAME": "Стадия с кодом как у источника"},
]
REF = "11111111-1111-1111-1111-111111111111"
EMPLOYEE = "22222222-2222-2222-2222-222222222222"
UNF_SALE = {"Ref_Key": "d1", "Number": "РН-1", "Date": "2026-03-05T10:00:00", "Posted": True, "DeletionMark": False,
            "Контрагент_Key": REF, "Ответственный_Key": EMPLOYEE, "Подразделение_Key": REF, "СуммаДокумента": 1200,
            "ЦенаВключаетНДС": True,
            "Запасы": [{"LineNumber": "1", "Номенклатура_Key": REF, "Количество": 2, "Сумма": 1200, "СуммаНДС": 200}]}
UNF_RETURN = {"Ref_Key": "r1", "Number": "ПН-1", "Date": "2026-03-06T10:00:00", "Posted": True, "DeletionMark": False,
              "ВидОперации": "ВозвратОтПокупателя", "Контрагент_Key": REF, "Ответственный_Key": EMPLOYEE,
              "Запасы": [{"LineNumber": "1", "Номенклатура_Key": REF, "Количество": 1, "Сумма": 600, "СуммаНДС": 100}]}
UNF_PURCHASE = {**UNF_RETURN, "Ref_Key": "p1", "Number": "ПН-2", "ВидОперации": "ПоступлениеОтПоставщика"}

MODELS = ("stg_bitrix24__companies", "int_bitrix24_companies_mapped", "stg_bitrix24__requisites", "stg_bitrix24__addresses", "stg_bitrix24__deals",
          "stg_bitrix24__statuses", "stg_onec__sales_documents", "stg_onec__sales_lines", "stg_onec__returns",
          "stg_onec__return_lines", "stg_onec__counterparties")


@pytest.fixture(scope="module")
def staged(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"connect_stg_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(pg_admin_url, name)
    try:
        raw = {
            "bitrix24__companies": [(k, v) for k, v in COMPANIES.items()],
            "bitrix24__requisites": [(k, v) for k, v in REQUISITES.items()],
            "bitrix24__addresses": [(f"{a['TYPE_ID']}|{a['ENTITY_TYPE_ID']}|{a['ENTITY_ID']}", a) for a in ADDRESSES],
            "bitrix24__deals": [(d["ID"], d) for d in DEALS],
            "bitrix24__statuses": [(s["ID"], s) for s in STATUSES],
            "onec__sales_documents": [("d1", UNF_SALE)],
            "onec__returns": [("r1", UNF_RETURN), ("p1", UNF_PURCHASE)],
            "onec__counterparties": [(REF, {"Ref_Key": REF, "Description": "Альфа", "ИНН": "7707083893"})],
        }
        with psycopg.connect(url, autocommit=True) as conn:
            landing.ensure_schema(conn, list(raw))
            for table, records in raw.items():
                for key, payload in records:
                    conn.execute(
                        f"insert into raw.{table} (source_key, payload, _source, _load_id, _loaded_at)"
                        " values (%s, %s, 'test', 'l1', now())", (key, Jsonb(payload)))
        db = DbtDatabase(url, tmp_path_factory.mktemp("connect_stg_target"))
        db.dbt("run", "--select", *MODELS, "--vars", json.dumps(mp.dbt_vars(mp.normalise(MAPPING)), ensure_ascii=False))
        yield url
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def q(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_company_concepts_come_from_the_mapped_fields_and_addresses(staged: str) -> None:
    got = {r[0]: r[1:] for r in q(staged, "select company_id, region, channel, potential_rub, business_size"
                                         " from intermediate.int_bitrix24_companies_mapped")}
    # C1: legal address of requisite 5 (before 10); item 45 -> Розница; 2500000.5; item 51 -> Крупный -> lower
    assert got["1"] == ("Московская область", "Розница", Decimal("2500000.5"), "крупный")
    # C2: its legal address has no province (the Калужская one is the actual address, type 1); item 99 kept
    assert got["2"] == (None, "99", None, None)
    # C3: the company-level address; C4: nothing
    assert got["3"] == ("Псковская область", None, None, None)
    assert got["4"] == (None, None, None, None)
    # staging reads the fields only: the address concept is filled by the intermediate model
    assert {r[0] for r in q(staged, "select region from staging.stg_bitrix24__companies")} == {None}
    # the ИНН from the mapped requisite field, not RQ_INN
    assert dict(q(staged, "select requisite_id, inn from staging.stg_bitrix24__requisites"))["10"] == "7707083893"


def test_deals_are_won_lost_and_kinded_by_the_mapping(staged: str) -> None:
    got = {r[0]: r[1:] for r in q(staged, "select deal_id, is_won, is_lost, stage_semantic_id, pipeline_kind"
                                         " from staging.stg_bitrix24__deals")}
    assert got == {
        "1": (True, False, "S", "new_client"),  # WON is listed
        "2": (True, False, "S", "repeat"),  # C7:UC_SIGNED is listed although the portal says P
        "3": (False, False, "P", "repeat"),  # C7:WON is not listed: won only by the list
        "4": (False, True, "F", "repeat"),  # lost: auto (STAGE_SEMANTIC_ID F)
        "6": (False, False, "P", "new_client"),  # no CATEGORY_ID = pipeline 0
    }  # deal 5 (pipeline 9, in neither list) is left out


def test_lead_sources_are_renamed_to_the_mapped_channels(staged: str) -> None:
    got = {(e, s): n for e, s, n in q(staged, "select entity_id, status_id, status_name from staging.stg_bitrix24__statuses")}
    assert got == {("SOURCE", "UC_SEO"): "Поисковые запросы", ("SOURCE", "CALL"): "Звонок",
                   ("DEAL_STAGE", "UC_SEO"): "Стадия с кодом как у источника"}


def test_unf_documents_read_with_the_profiles_names(staged: str) -> None:
    doc = q(staged, "select counterparty_id, partner_id, manager_user_id, document_amount from staging.stg_onec__sales_documents")
    assert doc == [(REF, None, EMPLOYEE, 1200)]  # УНФ: Ответственный is the manager; no partner
    lines = q(staged, "select product_id, quantity, amount, vat_amount from staging.stg_onec__sales_lines")
    assert lines == [(REF, 2, 1200, 200)]  # the tabular part Запасы
    # ПриходнаяНакладная: only the return from a buyer, not the purchase from a supplier
    assert q(staged, "select return_id from staging.stg_onec__returns") == [("r1",)]
    assert q(staged, "select return_id, amount from staging.stg_onec__return_lines") == [("r1", 600)]
    assert q(staged, "select partner_id, inn from staging.stg_onec__counterparties") == [(None, "7707083893")]


def test_dbt_runs_get_the_mapping_files_vars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from happyclient.cli import dbt_args_with_as_of
    from orchestration.dbt import dbt_vars

    monkeypatch.delenv("HAPPYCLIENT_AS_OF", raising=False)
    monkeypatch.setenv(mp.ENV_VAR, str(tmp_path / "missing.yml"))
    with pytest.raises(FileNotFoundError, match="missing.yml"):
        mp.dbt_vars_in_force()
    path = tmp_path / "mapping.yml"
    path.write_text(mp.dump(MAPPING), encoding="utf-8")
    monkeypatch.setenv(mp.ENV_VAR, str(path))
    wanted = mp.dbt_vars(mp.normalise(MAPPING))
    assert dbt_vars() == wanted
    assert wanted["hc_b24_repeat_pipelines"] == ["7"] and wanted["hc_onec_profile"] == "unf3"
    args = dbt_args_with_as_of(["build", "--vars", "{hc_b24_repeat_pipelines: ['8']}"], "2026-10-31", mp.dbt_vars_in_force())
    passed = json.loads(args[-1])
    assert passed["as_of_date"] == "2026-10-31" and passed["hc_onec_profile"] == "unf3"
    assert passed["hc_b24_repeat_pipelines"] == ["8"]  # the user's own --vars win
    assert dbt_args_with_as_of(["debug"], None, wanted) == ["debug"]
