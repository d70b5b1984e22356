"""Issue 14 item 3a: one oversized number in a user file must not stop the pipeline, and
removing it from the file must bring the pipeline back.

1. `1e300` in «Сумма» is quarantined at landing (file, row, column, value); the good rows land.
2. A raw row already holding such a number (landed by a version before the landing checked the
   range: the same payload the old code wrote) is removed from the file: the load marks it
   deleted, and `dbt build` of the staging model and the incremental `fct_sales_lines` (full and
   incremental runs) passes, with only the live rows in the fact.
"""
from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from conftest import DbtDatabase

from ingestion import landing
from ingestion.config import SourceSettings
from ingestion.run import ingest

pytestmark = pytest.mark.slow

HEADER = "ИНН;Клиент;Дата;Номер документа;Товар;Количество;Сумма;Менеджер;Регион;Канал\n"
VARS = json.dumps({"as_of_date": "2025-06-30"})


def line(doc: str, amount: str) -> str:
    return f"7707083893;ООО Ромашка;14.03.2025;{doc};Мыло;1;{amount};Иванов;Коми;Розница\n"


@pytest.fixture(scope="module")
def db(dbt_database: DbtDatabase) -> DbtDatabase:
    """The dbt tests' fresh module database (tests/dbt/conftest.py)."""
    return dbt_database


def test_oversized_number_is_quarantined_and_a_removed_bad_row_does_not_break_the_build(
        db: DbtDatabase, tmp_path: Path) -> None:
    with psycopg.connect(db.url, autocommit=True) as conn:
        landing.ensure_schema(conn)  # every raw table, as the pipeline creates them
    files = tmp_path / "files"
    files.mkdir()
    path = files / "sales_lines.csv"
    settings = SourceSettings(files_dir=files)
    # 1. the bad number is quarantined, the good rows land
    path.write_text(HEADER + line("Д-1", "100") + line("Д-2", "1e300") + line("Д-3", "30"), encoding="utf-8")
    first = ingest("files.sales_lines", warehouse_url=db.url, settings=settings)
    assert (first.rows_landed, first.rows_quarantined) == (2, 1)
    with psycopg.connect(db.url) as conn:
        assert conn.execute("select file, row_number, field, value from ingest_state.quarantine").fetchall() == [
            ("sales_lines.csv", 3, "Сумма", "1e300")]
        # 2. the state an older landing left: the oversized number in a live raw row
        conn.execute("""insert into raw.files__sales_lines (source_key, payload, _source, _load_id, _loaded_at)
                        select 'Д-2|1', jsonb_set(payload, '{document_number}', '"Д-2"') || '{"amount": 1e300}',
                               _source, _load_id, _loaded_at from raw.files__sales_lines where source_key = 'Д-1|1'""")
    # 3. the row is removed from the file: marked deleted, and the build passes (full, then incremental)
    path.write_text(HEADER + line("Д-1", "100") + line("Д-3", "30"), encoding="utf-8")
    second = ingest("files.sales_lines", warehouse_url=db.url, settings=settings)
    assert second.rows_deleted == 1
    db.dbt("build", "--select", "+fct_sales_lines", "--indirect-selection", "cautious", "--vars", VARS, "--full-refresh")
    path.write_text(HEADER + line("Д-1", "100") + line("Д-3", "30") + line("Д-4", "7"), encoding="utf-8")
    ingest("files.sales_lines", warehouse_url=db.url, settings=settings)
    db.dbt("build", "--select", "+fct_sales_lines", "--indirect-selection", "cautious", "--vars", VARS)
    with psycopg.connect(db.url) as conn:
        facts = conn.execute("select document_number, revenue from marts.fct_sales_lines order by 1").fetchall()
        amount = conn.execute("select amount_rub from staging.stg_files__sales_lines where is_deleted").fetchall()
    assert [(d, float(r)) for d, r in facts] == [("Д-1", 100.0), ("Д-3", 30.0), ("Д-4", 7.0)]
    assert amount == [(None,)]  # a deleted row carries no number
