"""A mapping file that does not fit the source stops `ingest_source` before any load."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import yaml

from happyclient.connect import discover_bitrix24, propose_bitrix24
from hc_demo.fakes.bitrix24 import FakeBitrix24
from hc_demo.fakes.onec import FakeOneC
from hc_demo.fakes.onec_profiles import make_onec_profile
from ingestion import mapping as mp
from ingestion.bitrix24.auth import WebhookAuth
from ingestion.bitrix24.client import Bitrix24Client
from ingestion.config import SourceSettings
from ingestion.run import ingest_source

NO_DATABASE = "postgresql://nobody@127.0.0.1:9/none"  # a load that got as far as the warehouse would fail on it


def test_wrong_bitrix24_mapping_fails_before_any_read_and_the_right_one_loads(
    real_portal_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_database: Callable[[str], str]
) -> None:
    fake = FakeBitrix24(real_portal_dir, rate_per_s=1000.0, burst=1000)
    fake.start()
    try:
        settings = SourceSettings(bitrix24_webhook_url=fake.webhook_url, bitrix24_rate_per_s=1000.0, bitrix24_burst=1000)
        path = tmp_path / "mapping.yml"
        monkeypatch.setenv(mp.ENV_VAR, str(path))
        path.write_text(yaml.safe_dump(mp.DEMO_MAPPING, allow_unicode=True), encoding="utf-8")  # the demo's names
        with pytest.raises(mp.MappingError) as err:
            ingest_source("bitrix24", warehouse_url=NO_DATABASE, settings=settings)
        assert err.value.key == "bitrix24.company.region.field"
        assert str(path) in str(err.value) and fake.webhook_secret not in str(err.value)
        assert fake.calls("crm.company.list") == fake.calls("batch") == fake.calls("crm.deal.list") == 0

        client = Bitrix24Client(WebhookAuth(fake.webhook_url), rate_per_s=1000.0, burst=1000)
        section, _ = propose_bitrix24(discover_bitrix24(client))
        path.write_text(yaml.safe_dump({"bitrix24": section}, allow_unicode=True), encoding="utf-8")
        warehouse = make_database("connect")
        results = ingest_source("bitrix24", warehouse_url=warehouse, settings=settings)
        assert {r.entity for r in results} >= {"bitrix24.companies", "bitrix24.deals"}
        with psycopg.connect(warehouse) as conn:
            landed = conn.execute("select count(*) from raw.bitrix24__companies").fetchone()
        assert landed is not None and landed[0] == len(fake.records("companies"))
    finally:
        fake.stop()


def test_wrong_onec_profile_fails_before_any_read(connect_demo_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeOneC(make_onec_profile(connect_demo_dir, tmp_path, "bp3"), password="pw-1c-secret")
    fake.start()
    try:
        settings = SourceSettings(onec_odata_url=fake.base_url, onec_user=fake.user, onec_password="pw-1c-secret")
        path = tmp_path / "mapping.yml"
        monkeypatch.setenv(mp.ENV_VAR, str(path))
        path.write_text("onec:\n  profile: ut11\n", encoding="utf-8")
        with pytest.raises(mp.MappingError) as err:
            ingest_source("onec", warehouse_url=NO_DATABASE, settings=settings)
        assert err.value.key.startswith("onec.entities.")
        assert "pw-1c-secret" not in str(err.value)
        read = [entity for entity, _, _ in fake.requests_log if entity.startswith(("Document_", "Catalog_"))]
        assert read == []  # only the service document and $metadata were asked for
    finally:
        fake.stop()


def test_onec_loads_read_the_profiles_objects(connect_demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              make_database: Callable[[str], str]) -> None:
    fake = FakeOneC(make_onec_profile(connect_demo_dir, tmp_path, "unf3"), password="pw-1c-secret")
    fake.start()
    try:
        settings = SourceSettings(onec_odata_url=fake.base_url, onec_user=fake.user, onec_password="pw-1c-secret")
        path = tmp_path / "mapping.yml"
        monkeypatch.setenv(mp.ENV_VAR, str(path))
        path.write_text("onec:\n  profile: unf3\n", encoding="utf-8")
        warehouse = make_database("connect1c")
        results = {r.entity: r for r in ingest_source("onec", warehouse_url=warehouse, settings=settings)}
        documents = (tmp_path / "onec" / "Document_РасходнаяНакладная.jsonl").read_text(encoding="utf-8").splitlines()
        assert results["onec.sales_documents"].rows_landed == len(documents) > 100
        assert results["onec.partners"].rows_landed == 0 and results["onec.partners"].load_id == ""
        with psycopg.connect(warehouse) as conn:
            row = conn.execute("select payload from raw.onec__sales_documents limit 1").fetchone()
        assert row is not None and "Запасы" in row[0] and "Ответственный_Key" in row[0]  # untouched payload
        assert not any(entity.startswith("Catalog_Партнеры") for entity, _, _ in fake.requests_log)
    finally:
        fake.stop()


def test_a_single_entity_load_as_dagster_runs_it_checks_too(connect_demo_dir: Path, real_portal_dir: Path,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingestion.run import ingest

    path = tmp_path / "mapping.yml"
    monkeypatch.setenv(mp.ENV_VAR, str(path))
    fake = FakeOneC(make_onec_profile(connect_demo_dir, tmp_path, "bp3"), password="pw-1c-secret")
    fake.start()
    try:
        settings = SourceSettings(onec_odata_url=fake.base_url, onec_user=fake.user, onec_password="pw-1c-secret")
        path.write_text("onec:\n  profile: ut11\n", encoding="utf-8")
        with pytest.raises(mp.MappingError) as err:
            ingest("onec.sales_documents", warehouse_url=NO_DATABASE, settings=settings)
        assert err.value.key == "onec.entities.sales_documents.fields.partner"
        assert "Ответственный_Key" in str(err.value)
        def asked() -> list[str]:  # answered requests (a retried attempt is no extra read)
            return [entity for entity, status, _ in list(fake.requests_log) if status == 200]

        deadline = time.monotonic() + 5  # the fake logs a request after sending its answer
        while "Document_РеализацияТоваровУслуг" not in asked() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "$metadata" not in asked() and asked().count("Document_РеализацияТоваровУслуг") == 1  # one page of records
    finally:
        fake.stop()
    portal = FakeBitrix24(real_portal_dir, rate_per_s=1000.0, burst=1000)
    portal.start()
    try:
        settings = SourceSettings(bitrix24_webhook_url=portal.webhook_url, bitrix24_rate_per_s=1000.0, bitrix24_burst=1000)
        path.write_text("bitrix24:\n  deals:\n    repeat_pipelines: ['1']\n", encoding="utf-8")
        with pytest.raises(mp.MappingError) as err:
            ingest("bitrix24.deals", warehouse_url=NO_DATABASE, settings=settings)
        assert err.value.key == "bitrix24.company.region.field"  # the demo's names, kept for concepts left out
        assert portal.calls("crm.deal.list") == portal.calls("batch") == 0
    finally:
        portal.stop()


def test_the_light_check_reads_fields_from_items_not_only_folders(connect_demo_dir: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Catalog_Номенклатура starts with folders, which have no Артикул: one record is not enough."""
    from ingestion.onec.client import OneCClient

    fake = FakeOneC(make_onec_profile(connect_demo_dir, tmp_path, "ut11"), password="pw-1c-secret")
    fake.start()
    try:
        path = tmp_path / "mapping.yml"
        monkeypatch.setenv(mp.ENV_VAR, str(path))
        path.write_text("onec:\n  profile: ut11\n", encoding="utf-8")
        client = OneCClient(fake.base_url, fake.user, "pw-1c-secret")
        first = client.get_page("Catalog_Номенклатура", {"$top": "1"})[0]
        assert first["IsFolder"] and "Артикул" not in first
        assert mp.check_before_load("onec", lambda: client, concept="products") is not None
    finally:
        fake.stop()


def test_a_file_load_accepts_the_mappings_header_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           make_database: Callable[[str], str]) -> None:
    from ingestion.run import ingest

    path = tmp_path / "potential_clients_2026.csv"
    path.write_text("Год;Регион;ИНН клиента;Наименование\n2026;Москва;7707083893;ООО Ромашка\n", encoding="utf-8")
    settings = SourceSettings(files_dir=tmp_path)
    warehouse = make_database("connectfiles")
    mapping = tmp_path / "mapping.yml"
    monkeypatch.setenv(mp.ENV_VAR, str(mapping))
    mapping.write_text("files:\n  aliases: {potential_clients: {ИНН: [ИНН клиента]}}\n", encoding="utf-8")
    result = ingest("files.potential_clients", warehouse_url=warehouse, settings=settings, files=[path])
    assert (result.rows_landed, result.rows_quarantined) == (1, 0)
    with psycopg.connect(warehouse) as conn:
        row = conn.execute("select payload->>'inn' from raw.files__potential_clients").fetchone()
    assert row == ("7707083893",)
