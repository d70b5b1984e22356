"""Any subset of sources works (issue 10): the whole Dagster job (ingestion, dbt build with tests,
predictions, write-back) on files only, 1C only, Bitrix24 only and 1C + files. Every raw table exists before
dbt runs, marts that need an absent source are empty instead of failing, and
`marts.dq_sources` says which sources are connected. All three sources together: test_pipeline.py
(the shared demo warehouse) and `test_all_sources_connected` below.

Files only is a company's own ERP export: a `sales_lines` file with clients that have no ИНН
(ИНН made optional through FILES_MAPPING, the documented way), some with a client code; each keeps
its own client_id (issue 15), and no client is flagged «no 1C counterparty» (1C is not connected).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import pytest

from ingestion.inn import complete_inn
from tests.conftest import DEMO_TEST_CLIENTS, DemoWarehouse, scratch_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.integration]

AS_OF = date(2026, 10, 31)

# FILES_MAPPING: the built-in sales_lines kind with ИНН optional (as a company whose export has
# individuals and foreign buyers would configure it) and the client code column
FILES_MAPPING = """\
sales_lines:
  files: ["sales_lines*.csv"]
  key: [document_number, "#row_in_document"]
  columns:
    ИНН: {key: inn, type: inn, required: false}
    Код клиента: {key: client_code, type: text, required: false}
    Клиент: {key: client_name, type: text, required: false}
    Дата: {key: date, type: date, required: true}
    Номер документа: {key: document_number, type: text, required: true}
    Товар: {key: product, type: text, required: true}
    Количество: {key: quantity, type: number, required: true}
    Сумма: {key: amount, type: number, required: true}
    Регион: {key: region, type: text, required: false}
    Канал: {key: channel, type: text, required: false}
"""

# (ИНН, code, name): eleven companies with valid ИНН (check digits: tests/demo/test_inn.py and
# the demo generator's complete_inn), two clients with only a code (one name shared by both), two
# with only a name; 15 clients, as the predictions need at least 10
FILE_CLIENTS = [
    *((complete_inn(f"78{i:07d}"), "", f"ООО Клиент {i}") for i in range(1, 9)),
    ("7707083893", "", "ПАО Банк"),
    ("500100732259", "", "ИП Иванов"),
    ("7736050003", "", "ПАО Газ"),
    ("", "K-17", "Смирнов"),
    ("", "K-18", "Смирнов"),
    ("", "", "Петров Пётр"),
    ("", "", "Сидорова Анна"),
]
EXPECTED_FILE_CLIENT_IDS = {
    *(inn for inn, _, _ in FILE_CLIENTS[:8]),
    "7707083893", "500100732259", "7736050003", "file:K-17", "file:K-18", "file:Петров Пётр", "file:Сидорова Анна",
}


def write_sales_lines(files_dir: Path) -> int:
    """One sale per client and month from 2025-01 to 2026-10 (22 months), except that every
    third client skips odd months: 15 clients, two products. Returns the number of lines."""
    files_dir.mkdir(parents=True, exist_ok=True)
    lines = ["ИНН;Код клиента;Клиент;Дата;Номер документа;Товар;Количество;Сумма;Регион;Канал"]
    months = [date(2025 + (m // 12), m % 12 + 1, 10) for m in range(22)]
    doc = 0
    for index, (inn, code, name) in enumerate(FILE_CLIENTS):
        for month in months:
            if index % 3 == 2 and month.month % 2 == 1:
                continue
            doc += 1
            for row, (product, amount) in enumerate((("Порошок 3 кг", 1000 + 100 * index), ("Мыло", 250))):
                if row == 1 and index % 2 == 1:
                    continue
                lines.append(
                    f"{inn};{code};{name};{month.strftime('%d.%m.%Y')};Р-{doc:05d};{product};2;{amount},00;"
                    "Санкт-Петербург;Розница"
                )
    (files_dir / "sales_lines_erp.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


@dataclass(frozen=True)
class SubsetRun:
    sources: str
    url: str
    success: bool
    errors: dict[str, str]


def _run_subset(pg_admin_url: str, sources: str, tmp: Path) -> Iterator[SubsetRun]:
    from happyclient.console import Console
    from happyclient.demo import ensure_demo_data, start_fakes
    from happyclient.pipeline import run_pipeline

    with scratch_pipeline(pg_admin_url, f"subset_{sources.replace('+', '_')}") as (url, settings):
        env = {"WAREHOUSE_URL": url, "HAPPYCLIENT_AS_OF": AS_OF.isoformat(), "WRITEBACK_ENABLED": "false"}
        present = set(sources.split("+"))
        if "files" in present:
            files_dir = tmp / "files"
            write_sales_lines(files_dir)
            mapping = tmp / "mapping.yaml"
            mapping.write_text(FILES_MAPPING, encoding="utf-8")
            env.update({"FILES_DIR": str(files_dir), "FILES_MAPPING": str(mapping)})
        if present & {"onec", "bitrix24"}:
            data, _ = ensure_demo_data(settings.demo_data_dir, seed=42, clients=DEMO_TEST_CLIENTS)
            Console().info(f"{sources} only: demo data {data.path}")
            endpoints = start_fakes(settings, data)
            if "onec" in present:
                env.update({"ONEC_ODATA_URL": endpoints.onec_odata_url, "ONEC_USER": endpoints.onec_user,
                            "ONEC_PASSWORD": endpoints.onec_password})
            if "bitrix24" in present:
                env.update({"BITRIX24_WEBHOOK_URL": endpoints.bitrix24_webhook_url,
                            "BITRIX24_RATE_PER_S": "40", "BITRIX24_BURST": "200"})
        # the sources the company does not have must not leak in from the test's environment
        absent = {
            "files": ("FILES_DIR", "FILES_MAPPING"),
            "onec": ("ONEC_ODATA_URL", "ONEC_USER", "ONEC_PASSWORD"),
            "bitrix24": ("BITRIX24_WEBHOOK_URL", "BITRIX24_PORTAL_URL", "BITRIX24_CLIENT_ID",
                         "BITRIX24_CLIENT_SECRET", "BITRIX24_REFRESH_TOKEN"),
        }
        saved = {k: os.environ.pop(k) for other, keys in absent.items() if other not in present for k in keys
                 if k in os.environ}
        try:
            result = run_pipeline(env, exclude_groups=("superset",))
        finally:
            os.environ.update(saved)
        yield SubsetRun(sources, url, result.success, dict(result.errors))


@pytest.fixture(scope="module", params=["files", "onec", "bitrix24", "onec+files"])
def subset(request: pytest.FixtureRequest, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsetRun]:
    name = request.param.replace("+", "-")
    yield from _run_subset(pg_admin_url, request.param, tmp_path_factory.mktemp(f"subset-{name}"))


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def count(url: str, relation: str) -> int:
    return int(rows(url, f"select count(*) from {relation}")[0][0])  # type: ignore[call-overload]


def test_the_pipeline_passes_with_only_some_sources(subset: SubsetRun) -> None:
    assert subset.success, f"{subset.sources} only: failed steps:\n" + "\n".join(
        f"{step}: {error[-2000:]}" for step, error in subset.errors.items()
    )


def test_every_registered_raw_table_exists(subset: SubsetRun) -> None:
    from ingestion.registry import ENTITIES

    tables = {r[0] for r in rows(subset.url, "select table_name from information_schema.tables where table_schema = 'raw'")}
    assert {spec.raw_table for spec in ENTITIES.values()} <= tables


def test_dq_sources_says_which_sources_are_connected(subset: SubsetRun) -> None:
    status = {
        source: (connected, label)
        for source, connected, label in rows(
            subset.url, "select source_system, is_connected, connection_status from marts.dq_sources"
        )
    }
    present = subset.sources.split("+")
    expected = {s: (s in present, "подключен" if s in present else "не подключен") for s in ("bitrix24", "onec", "files")}
    assert status == expected


def test_marts_of_absent_sources_are_empty_and_present_ones_are_not(subset: SubsetRun) -> None:
    sales = count(subset.url, "marts.fct_sales_lines")
    deals = count(subset.url, "marts.fct_deals")
    if subset.sources == "bitrix24":
        assert sales == 0 and deals > 0
        assert count(subset.url, "marts.funnel_conversion") > 0
        assert count(subset.url, "marts.abc_xyz_clients") == 0
    else:
        # sales-only companies: revenue, ABC/XYZ, stability, periodicity, RFM, predictions
        assert sales > 0 and deals == 0
        for mart in ("client_period_revenue", "abc_xyz_clients", "client_stability", "purchase_periodicity",
                     "rfm_segments", "top_clients_share", "client_predictions"):
            assert count(subset.url, f"marts.{mart}") > 0, f"{subset.sources} only: marts.{mart} is empty"
        assert count(subset.url, "marts.fct_leads") == 0


def test_cross_system_checks_run_only_for_connected_sources(subset: SubsetRun) -> None:
    reasons = {r[0] for r in rows(subset.url, "select distinct reason from marts.dq_unmatched_clients")}
    present = subset.sources.split("+")
    if "onec" not in present:
        assert "no_onec_counterparty" not in reasons
    if "bitrix24" not in present:
        assert "no_bitrix24_company" not in reasons
    if present == ["onec", "files"]:
        # 1C is connected: the sales file's companies with a valid ИНН that 1C does not know are flagged
        flagged = {r[0] for r in rows(subset.url, "select client_id from marts.dq_unmatched_clients"
                                                  " where reason = 'no_onec_counterparty'")}
        assert {inn for inn, _, _ in FILE_CLIENTS if inn} <= flagged


def test_file_clients_without_inn_keep_their_own_identity(subset: SubsetRun) -> None:
    if "files" not in subset.sources.split("+"):
        pytest.skip("no sales file in this company's sources")
    ids = {r[0] for r in rows(subset.url, "select distinct client_id from marts.fct_sales_lines where source = 'file'")}
    assert ids == EXPECTED_FILE_CLIENT_IDS
    without_inn = {"file:K-17", "file:K-18", "file:Петров Пётр", "file:Сидорова Анна"}
    missing = {r[0] for r in rows(subset.url, "select client_id from marts.dq_unmatched_clients"
                                              " where source_system = 'file' and reason = 'missing_inn'")}
    assert missing == without_inn
    if subset.sources == "files":  # nothing else is flagged: no cross-system check without 1C or Bitrix24
        assert {r[0] for r in rows(subset.url, "select client_id from marts.dq_unmatched_clients")} == without_inn


def test_all_sources_connected(demo_warehouse: DemoWarehouse) -> None:
    """All three sources (the shared demo warehouse of test_pipeline.py): each is connected."""
    status = dict(rows(demo_warehouse.url, "select source_system, is_connected from marts.dq_sources"))
    assert status == {"bitrix24": True, "onec": True, "files": True}
    tables = {source: (raw, loaded) for source, raw, loaded in rows(
        demo_warehouse.url, "select source_system, raw_tables, loaded_tables from marts.dq_sources")}
    # every table of both systems, except crm.address.list (raw.bitrix24__addresses): the demo portal has no
    # addresses (its region is a company field), so that table is counted but empty
    assert tables["bitrix24"] == (14, 13) and tables["onec"] == (8, 8)
