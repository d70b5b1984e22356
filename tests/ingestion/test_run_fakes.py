"""End-to-end loads (ingestion.run) against the fake Bitrix24 and 1C servers and demo files."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hc_demo.fakes.bitrix24 import FakeBitrix24
from hc_demo.fakes.onec import FakeOneC
from hc_demo.generator import generate
from ingestion.__main__ import main
from ingestion.config import SourceSettings
from ingestion.onec.client import OneCError
from ingestion.run import IngestError, ingest, ingest_source

ONEC_PASSWORD = "odata-Пароль-42"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("h2demo")
    generate(out, clients=60, seed=7)
    return out


@pytest.fixture
def b24(demo: Path) -> Iterator[FakeBitrix24]:
    fake = FakeBitrix24(demo, rate_per_s=200.0, burst=200)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def onec(demo: Path) -> Iterator[FakeOneC]:
    fake = FakeOneC(demo, password=ONEC_PASSWORD)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(b24: FakeBitrix24, onec: FakeOneC, demo: Path) -> SourceSettings:
    return SourceSettings(
        bitrix24_webhook_url=b24.webhook_url, bitrix24_rate_per_s=200.0, bitrix24_burst=200,
        onec_odata_url=onec.base_url, onec_user="Администратор", onec_password=ONEC_PASSWORD,
        files_dir=demo / "files",
    )


@pytest.fixture
def warehouse(make_database: Callable[[str], str]) -> str:
    return make_database("h2run")


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def snapshot(url: str, table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            f"select source_key, payload, _source, _deleted_at is not null from raw.{table} order by source_key"
        ).fetchall()


def cursor_of(url: str, source: str, entity: str) -> Any:
    with psycopg.connect(url) as conn:
        row = conn.execute("select cursor from ingest_state.cursors where source = %s and entity = %s",
                           (source, entity)).fetchone()
    return None if row is None else row[0]


def test_bitrix24_full_load_is_faithful_and_idempotent(b24: FakeBitrix24, settings: SourceSettings,
                                                       warehouse: str, demo: Path) -> None:
    first = ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings)
    source_rows = jsonl(demo / "bitrix24" / "deals.jsonl")
    assert first.rows_landed == len(source_rows) and first.rows_deleted == 0
    state = snapshot(warehouse, "bitrix24__deals")
    by_key = {r[0]: r[1] for r in state}
    for row in source_rows:  # untouched payload: strings stay strings, UF_ fields included
        assert by_key[row["ID"]] == row
    again = ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings, full_refresh=True)
    assert again.rows_landed == 0 and snapshot(warehouse, "bitrix24__deals") == state
    history = ingest("bitrix24.deal_stage_history", warehouse_url=warehouse, settings=settings)
    assert history.rows_landed == len(jsonl(demo / "bitrix24" / "deal_stage_history.jsonl"))
    assert history.cursor == {"last_id": max(int(r["ID"]) for r in jsonl(demo / "bitrix24" / "deal_stage_history.jsonl"))}


def test_incremental_with_overlap_and_deletion_reconciliation(b24: FakeBitrix24, settings: SourceSettings,
                                                              warehouse: str) -> None:
    ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings)
    before = snapshot(warehouse, "bitrix24__deals")
    deals = b24.records("deals")
    changed, gone = deals[3], deals[10]
    b24.upsert("deals", {**changed, "OPPORTUNITY": "777.77"})
    new_id = str(max(int(d["ID"]) for d in deals) + 1000)
    new = b24.upsert("deals", {**deals[0], "ID": new_id, "TITLE": "Новая сделка", "OPPORTUNITY": "1.00"})
    b24.delete("deals", gone["ID"])
    calls_before = b24.calls("batch") + b24.calls("crm.deal.list")
    result = ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings)
    assert result.rows_landed == 2 and result.rows_deleted == 1
    after = {r[0]: r for r in snapshot(warehouse, "bitrix24__deals")}
    assert len(after) == len(before) + 1  # the overlap re-read rows produced no duplicates
    assert after[changed["ID"]][1]["OPPORTUNITY"] == "777.77"
    assert after[str(new["ID"])][1]["TITLE"] == "Новая сделка"
    assert after[gone["ID"]][3] is True and after[gone["ID"]][1] == gone  # kept, marked deleted
    assert result.cursor is not None and result.cursor["max_modified"] >= changed["DATE_MODIFY"]
    # incremental reads only the modified window plus an ID list, far fewer calls than rows
    assert b24.calls("batch") + b24.calls("crm.deal.list") - calls_before <= 8
    # the deleted deal comes back: un-deleted
    b24.upsert("deals", gone)
    assert ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings).rows_landed == 1
    assert {r[0]: r[3] for r in snapshot(warehouse, "bitrix24__deals")}[gone["ID"]] is False


def test_killed_load_leaves_previous_state_and_rerun_matches_clean_run(
    b24: FakeBitrix24, settings: SourceSettings, make_database: Callable[[str], str]
) -> None:
    clean, broken = make_database("h2clean"), make_database("h2kill")
    ingest("bitrix24.activities", warehouse_url=clean, settings=settings)

    def killer(done: int, total: int | None) -> None:
        if done >= 1000 and total is None:
            raise KeyboardInterrupt("killed after 1000 rows")

    with pytest.raises(KeyboardInterrupt):
        ingest("bitrix24.activities", warehouse_url=broken, settings=settings, progress=killer)
    assert snapshot(broken, "bitrix24__activities") == []
    assert cursor_of(broken, "bitrix24", "activities") is None
    with psycopg.connect(broken) as conn:
        assert conn.execute("select status, error from ingest_state.loads").fetchall() == [
            ("failed", "KeyboardInterrupt: killed after 1000 rows")]
    # a transient failure on the way (HTML page from an overloaded front end) is retried
    b24.inject("html", count=1, method="batch")
    ingest("bitrix24.activities", warehouse_url=broken, settings=settings)
    assert snapshot(broken, "bitrix24__activities") == snapshot(clean, "bitrix24__activities")
    assert cursor_of(broken, "bitrix24", "activities") == cursor_of(clean, "bitrix24", "activities")


HANGING_LOAD = """
import sys, time
from ingestion.config import SourceSettings
from ingestion.run import ingest

def hang(done, total):
    if done >= 1000:
        print("hanging", flush=True)
        time.sleep(600)

ingest("bitrix24.activities", warehouse_url=sys.argv[1], settings=SourceSettings.from_env(), progress=hang)
"""


def test_killed_load_is_marked_aborted(b24: FakeBitrix24, settings: SourceSettings, warehouse: str) -> None:
    """Issue 14 (LOW): a load whose process is SIGKILLed stayed `running` in ingest_state.loads forever."""
    import os
    import subprocess
    import sys
    import time

    def loads() -> dict[str, tuple[str, str | None]]:
        with psycopg.connect(warehouse) as conn:
            rows = conn.execute("select entity, status, error from ingest_state.loads").fetchall()
        return {entity: (status, error) for entity, status, error in rows if entity == "activities"}

    env = {**os.environ, "BITRIX24_WEBHOOK_URL": b24.webhook_url, "BITRIX24_RATE_PER_S": "200",
           "BITRIX24_BURST": "200"}
    proc = subprocess.Popen([sys.executable, "-c", HANGING_LOAD, warehouse], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "hanging"
        ingest("bitrix24.users", warehouse_url=warehouse, settings=settings)
        assert loads() == {"activities": ("running", None)}  # alive: another load leaves it alone
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 20
    while True:  # the server notices the dropped connection within moments
        ingest("bitrix24.users", warehouse_url=warehouse, settings=settings)
        status, error = loads()["activities"]
        if status != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == "aborted" and error is not None and "killed or crashed" in error
    assert snapshot(warehouse, "bitrix24__activities") == []  # its rows were rolled back


def test_failed_incremental_keeps_rows_and_cursor(b24: FakeBitrix24, settings: SourceSettings, warehouse: str) -> None:
    ingest("bitrix24.deals", warehouse_url=warehouse, settings=settings)
    state, cursor = snapshot(warehouse, "bitrix24__deals"), cursor_of(warehouse, "bitrix24", "deals")
    deal = b24.records("deals")[0]
    b24.upsert("deals", {**deal, "TITLE": "изменено"})
    b24.delete("deals", b24.records("deals")[5]["ID"])
    b24.inject("500", count=100)  # every request fails until retries are exhausted
    fast = replace(settings)
    import ingestion.run as run_module

    original = run_module.bitrix24_client

    def quick_client(s: SourceSettings, url: str) -> Any:
        client = original(s, url)
        client.max_retries, client.backoff_s = 1, 0.01
        return client

    run_module.bitrix24_client = quick_client  # type: ignore[assignment]
    try:
        with pytest.raises(Exception, match="INTERNAL_SERVER_ERROR"):
            ingest("bitrix24.deals", warehouse_url=warehouse, settings=fast)
    finally:
        run_module.bitrix24_client = original  # type: ignore[assignment]
    assert snapshot(warehouse, "bitrix24__deals") == state
    assert cursor_of(warehouse, "bitrix24", "deals") == cursor
    assert b24.webhook_secret not in json.dumps(_load_errors(warehouse))


def _load_errors(url: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        return conn.execute("select error from ingest_state.loads where error is not null").fetchall()


def test_oauth_rotated_refresh_token_is_persisted(b24: FakeBitrix24, warehouse: str) -> None:
    settings = SourceSettings(
        bitrix24_portal_url=b24.portal_url, bitrix24_client_id=b24.client_id,
        bitrix24_client_secret=b24.client_secret, bitrix24_refresh_token=b24.refresh_token,
        bitrix24_rate_per_s=200.0, bitrix24_burst=200,
    )
    first = ingest("bitrix24.departments", warehouse_url=warehouse, settings=settings)
    assert first.rows_landed > 0
    with psycopg.connect(warehouse) as conn:
        stored = conn.execute("select refresh_token from ingest_state.oauth_tokens").fetchall()
    assert stored == [(b24.refresh_token,)] and stored[0][0] != settings.bitrix24_refresh_token
    # the env token is now invalid on the portal; the next run must use the stored one
    assert ingest("bitrix24.users", warehouse_url=warehouse, settings=settings).rows_landed > 0


def test_product_rows_and_dictionaries(b24: FakeBitrix24, settings: SourceSettings, warehouse: str, demo: Path) -> None:
    results = {r.entity: r for r in ingest_source("bitrix24", warehouse_url=warehouse, settings=settings)}
    for entity in ("users", "departments", "statuses", "deal_categories", "deal_product_rows", "requisites"):
        assert results[f"bitrix24.{entity}"].rows_landed == len(jsonl(demo / "bitrix24" / f"{entity}.jsonl")), entity
    categories = snapshot(warehouse, "bitrix24__deal_categories")
    assert {r[0] for r in categories} == {"0", "1"} and "isDefault" in categories[0][1]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def restarted_onec(data: Path, settings: SourceSettings) -> tuple[FakeOneC, SourceSettings]:
    """A 1C base whose data changed between loads: a new fake server over the edited files."""
    fake = FakeOneC(data, password=ONEC_PASSWORD)
    fake.start()
    return fake, replace(settings, onec_odata_url=fake.base_url)


def test_onec_catalogs_by_dataversion_and_documents_by_window(settings: SourceSettings, warehouse: str,
                                                              demo: Path, tmp_path: Path) -> None:
    data = tmp_path / "onec"
    shutil.copytree(demo / "onec", data)
    catalog_file, docs_file = data / "Catalog_Контрагенты.jsonl", data / "Document_РеализацияТоваровУслуг.jsonl"
    catalog, all_docs = jsonl(catalog_file), jsonl(docs_file)

    cat = ingest("onec.counterparties", warehouse_url=warehouse, settings=settings)
    assert cat.rows_landed == len(catalog)
    docs = ingest("onec.sales_documents", warehouse_url=warehouse, settings=settings)
    assert docs.rows_landed == len(all_docs)
    max_date = max(d["Date"] for d in all_docs)
    assert docs.cursor == {"max_date": max_date}
    stored = {r[0]: r[1] for r in snapshot(warehouse, "onec__sales_documents")}
    sample = all_docs[0]
    assert stored[sample["Ref_Key"]] == sample  # untouched, tabular part inline, Posted/DeletionMark kept
    assert isinstance(sample["Товары"], list) and {"Posted", "DeletionMark"} <= set(sample)

    # the 1C base changes: one counterparty edited (new DataVersion); inside the re-read window
    # one document edited and one physically deleted; an old document deleted too
    write_jsonl(catalog_file, [{**catalog[0], "Description": "Изменён", "DataVersion": "AAAAAAAAAAE="}, *catalog[1:]])
    ordered = sorted(all_docs, key=lambda d: d["Date"])
    recent, recent_gone, old_gone = ordered[-1], ordered[-2], ordered[0]
    write_jsonl(docs_file, [
        {**d, "Posted": not d["Posted"], "DataVersion": "AAAAAAAAAAI="} if d is recent else d
        for d in all_docs if d is not recent_gone and d is not old_gone
    ])
    fake, changed = restarted_onec(tmp_path, settings)
    try:
        again = ingest("onec.counterparties", warehouse_url=warehouse, settings=changed)
        inc = ingest("onec.sales_documents", warehouse_url=warehouse, settings=changed)
    finally:
        fake.stop()
    assert again.rows_landed == 1 and again.cursor == {"rows_read": len(catalog), "unchanged": len(catalog) - 1}
    assert inc.rows_landed == 1 and inc.rows_deleted == 1
    final = {r[0]: r for r in snapshot(warehouse, "onec__sales_documents")}
    assert final[recent_gone["Ref_Key"]][3] is True
    assert final[old_gone["Ref_Key"]][3] is False  # outside the window: not re-read, not judged
    assert final[recent["Ref_Key"]][1]["Posted"] is (not recent["Posted"])


def test_onec_documents_deleted_mid_read_never_mark_live_ones(settings: SourceSettings, warehouse: str,
                                                               onec: FakeOneC) -> None:
    """Issue 14 (3b): documents vanish from 1C while a full refresh reads them page by page. With
    `$skip` paging the records behind them shifted across the page boundary, were never read and
    were marked deleted although they exist. Paging by key reads every live record."""
    sales = "Document_РеализацияТоваровУслуг"
    page = 40
    small_pages = replace(settings, onec_page_size=page)
    first = ingest("onec.sales_documents", warehouse_url=warehouse, settings=small_pages)
    rows, positions, _ = onec.query(sales, None, {"$orderby": "Ref_Key", "$select": "Ref_Key"})
    in_order = [str(rows.index[i]["Ref_Key"]) for i in positions]
    assert first.rows_landed == len(in_order) > 4 * page
    read_early = in_order[1:6]  # on page 1, deleted right after page 1 was answered
    read_late = in_order[3 * page + 1: 3 * page + 4]  # on page 4, deleted before it is read
    answered: list[dict[str, str]] = []

    def delete_after_first_page(entity: str, options: dict[str, str]) -> None:
        if entity == sales:
            answered.append(options)
            if len(answered) == 1:
                assert onec.delete(sales, read_early + read_late) == 8

    onec.after_answer = delete_after_first_page
    try:
        again = ingest("onec.sales_documents", warehouse_url=warehouse, settings=small_pages, full_refresh=True)
    finally:
        onec.after_answer = None
    deleted = {r[0] for r in snapshot(warehouse, "onec__sales_documents") if r[3]}
    live = set(in_order) - set(read_early) - set(read_late)
    assert not deleted & live  # no existing document is taken for deleted
    assert len(answered) > 4 and all("$skip" not in o for o in answered)
    assert deleted == set(read_late) and again.rows_deleted == 3
    # the ones deleted after they were read are found on the next full read
    third = ingest("onec.sales_documents", warehouse_url=warehouse, settings=small_pages, full_refresh=True)
    deleted = {r[0] for r in snapshot(warehouse, "onec__sales_documents") if r[3]}
    assert deleted == set(read_early) | set(read_late) and third.rows_deleted == 5


def test_onec_without_reference_comparisons_pages_by_skip_and_refuses_a_changed_set(
        settings: SourceSettings, warehouse: str, demo: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A server that refuses `Ref_Key gt guid'…'` is read with overlapping `$skip` pages; a set
    that changed during the read fails the load (nothing marked deleted) instead of guessing."""
    sales = "Document_РеализацияТоваровУслуг"
    fake = FakeOneC(demo, password=ONEC_PASSWORD, reference_comparisons=False)
    fake.start()
    try:
        small = replace(settings, onec_odata_url=fake.base_url, onec_page_size=40)
        all_docs = [d["Ref_Key"] for d in jsonl(demo / "onec" / f"{sales}.jsonl")]
        first = ingest("onec.sales_documents", warehouse_url=warehouse, settings=small)
        assert first.rows_landed == len(all_docs) > 4 * 40
        assert "refuses Ref_Key comparisons" in caplog.text
        rows, positions, _ = fake.query(sales, None, {"$orderby": "Ref_Key"})
        gone = [str(rows.index[i]["Ref_Key"]) for i in positions[1:6]]

        def delete_after_first_page(entity: str, options: dict[str, str]) -> None:
            if entity == sales and "$skip" not in options and fake.after_answer is not None:
                fake.after_answer = None
                fake.delete(sales, gone)

        fake.after_answer = delete_after_first_page
        with pytest.raises(OneCError, match="SET_CHANGED.*nothing was marked deleted"):
            ingest("onec.sales_documents", warehouse_url=warehouse, settings=small, full_refresh=True)
        assert not any(r[3] for r in snapshot(warehouse, "onec__sales_documents"))
        again = ingest("onec.sales_documents", warehouse_url=warehouse, settings=small, full_refresh=True)
    finally:
        fake.stop()
    assert again.rows_deleted == 5
    assert {r[0] for r in snapshot(warehouse, "onec__sales_documents") if r[3]} == set(gone)


def test_files_with_bad_rows_are_quarantined(settings: SourceSettings, warehouse: str, demo: Path, tmp_path: Path) -> None:
    files = tmp_path / "files"
    shutil.copytree(demo / "files", files)
    (files / "sales_lines_2025.csv").write_bytes((
        "ИНН;Клиент;Дата;Номер документа;Товар;Количество;Сумма;Менеджер;Регион;Канал\n"
        "7707083893;ООО «Ромашка»;14.03.2025;ЦБ-1;Порошок;2;1 234,56;Иванов;Коми;Розница\n"
        "7707083893;ООО «Ромашка»;14.03.2025;ЦБ-1;Мыло;1;abc;Иванов;Коми;Розница\n"
        "7707083893;ООО «Ромашка»;15.03.2025;ЦБ-2;Мыло;3;30,00;Иванов;Коми;Розница\n"
    ).encode("cp1251"))
    cfg = replace(settings, files_dir=files)
    results = {r.entity: r for r in ingest_source("files", warehouse_url=warehouse, settings=cfg)}
    sales = results["files.sales_lines"]
    assert (sales.rows_landed, sales.rows_quarantined) == (2, 1)
    assert [r[0] for r in snapshot(warehouse, "files__sales_lines")] == ["ЦБ-1|1", "ЦБ-2|1"]
    assert snapshot(warehouse, "files__sales_lines")[0][2] == "file:sales_lines_2025.csv"
    with psycopg.connect(warehouse) as conn:
        q = conn.execute("select source, file, row_number, field, value, reason from ingest_state.quarantine").fetchall()
    assert q == [("file:sales_lines_2025.csv", "sales_lines_2025.csv", 3, "Сумма", "abc", "expected a number like 1 234,56")]
    counts = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))["counts"]
    for name, count in counts.items():  # every demo reference file loads completely
        if name.startswith("files/"):
            kind = Path(name).stem
            assert (results[f"files.{kind}"].rows_landed, results[f"files.{kind}"].rows_quarantined) == (count, 0), kind
    # the file is fixed: the row loads, nothing else changes
    (files / "sales_lines_2025.csv").write_text((files / "sales_lines_2025.csv").read_text(encoding="cp1251")
                                                .replace(";abc;", ";10,00;"), encoding="utf-8")
    fixed = ingest("files.sales_lines", warehouse_url=warehouse, settings=cfg)
    assert (fixed.rows_landed, fixed.rows_quarantined) == (1, 0)


def test_source_errors_are_collected(settings: SourceSettings, warehouse: str) -> None:
    broken = replace(settings, onec_password="wrong-password")
    with pytest.raises(IngestError) as caught:
        ingest_source("onec", warehouse_url=warehouse, settings=broken)
    text = str(caught.value)
    assert "8 of 8 onec loads failed" in text and "ONEC_USER / ONEC_PASSWORD" in text
    assert "wrong-password" not in text


def test_unresolvable_host_fails_fast_for_every_entity(settings: SourceSettings, warehouse: str) -> None:
    """Issue 14 (LOW): was 8 retries per request (~3.5 min) with "CONNECTION_ERROR" and no host."""
    import time

    broken = replace(settings, onec_odata_url="http://nonexistent-host.invalid/demo/odata/standard.odata/")
    started = time.monotonic()
    with pytest.raises(IngestError) as caught:
        ingest_source("onec", warehouse_url=warehouse, settings=broken)
    assert time.monotonic() - started < 30
    text = str(caught.value)
    assert "8 of 8 onec loads failed" in text and "cannot resolve the host name nonexistent-host.invalid" in text
    assert ONEC_PASSWORD not in text


def test_cli_main(settings: SourceSettings, warehouse: str, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    monkeypatch.setenv("FILES_DIR", str(settings.files_dir))
    assert main(["files.marketing_spend"]) == 0
    out = capsys.readouterr()
    assert "files.marketing_spend\tlanded=" in out.out and "rows" in out.err
    assert main(["nope"]) == 2
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", settings.bitrix24_webhook_url or "")
    monkeypatch.setenv("BITRIX24_RATE_PER_S", "fast")
    assert main(["bitrix24.deals"]) == 2
    assert "BITRIX24_RATE_PER_S must be a number" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["postgres", pytest.param("clickhouse", marks=pytest.mark.clickhouse)])
def test_parallel_processes_share_rotated_refresh_token(b24: FakeBitrix24, engine: str,
                                                        request: pytest.FixtureRequest) -> None:
    import requests

    from ingestion.bitrix24.auth import OAuthAuth
    from ingestion.bitrix24.token_store import token_store

    # ClickHouse: chDB in process (tests/clickhouse/test_oauth_on_chdb.py has its other cases)
    warehouse = str(request.getfixturevalue("warehouse" if engine == "postgres" else "chdb_warehouse"))
    env_token = b24.refresh_token
    # two loads (e.g. two Dagster steps) start with the same token from the environment
    first = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, env_token, token_store(warehouse))
    second = OAuthAuth(b24.portal_url, b24.client_id, b24.client_secret, env_token, token_store(warehouse))
    session = requests.Session()
    first.refresh(session, 5.0)  # rotates: env_token is now invalid on the portal
    second.refresh(session, 5.0)  # must pick up the rotated token from ingest_state, not fail
    assert first.access_token and second.access_token and first.access_token != second.access_token
    assert token_store(warehouse).load(first.portal_url) == b24.refresh_token != env_token
