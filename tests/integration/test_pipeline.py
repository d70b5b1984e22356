"""End to end: generated demo data → fake Bitrix24 and 1C → Dagster job (ingestion, dbt build
with tests, predictions) → marts, checked against numbers computed in Python from the files."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from tests.conftest import DemoWarehouse
from tests.integration.demo_truth import DemoTruth, client_key, inn_is_valid

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REGION = "Санкт-Петербург"


def test_inn_check_digits() -> None:
    # organisation and individual ИНН with valid check digits (worked out by hand)
    assert inn_is_valid("7707083893")
    assert inn_is_valid("500100732259")
    assert not inn_is_valid("7707083894")
    assert not inn_is_valid("500100732258")
    assert client_key("7707083893", "770701001", "r1") == "7707083893"
    assert client_key("7707083893", "770743001", "r1") == "7707083893"
    assert client_key("7707083893", "770702001", "r1") == "7707083893-770702001"
    assert client_key("123", None, "r1") == "onec:r1"


def test_pipeline_run_succeeded(demo_warehouse: DemoWarehouse) -> None:
    assert demo_warehouse.run_success, "failed steps:\n" + "\n".join(
        f"{step}: {error[-2000:]}" for step, error in demo_warehouse.step_errors.items()
    )


@pytest.mark.parametrize(
    ("grain", "start", "end"),
    [("year", date(2025, 1, 1), date(2025, 12, 31)), ("month", date(2026, 9, 1), date(2026, 9, 30))],
)
def test_client_base_by_region_matches_the_files(
    demo_warehouse: DemoWarehouse, grain: str, start: date, end: date
) -> None:
    truth = DemoTruth(demo_warehouse.data_dir, demo_warehouse.as_of)
    expected = truth.customer_base(REGION, start, end)
    assert expected.active + expected.attracted > 0, "the demo data should have buyers in the region"
    with psycopg.connect(demo_warehouse.url) as conn:
        row = conn.execute(
            """select active_clients, attracted_clients, potential_clients, total_outlets
               from marts.client_base_by_region
               where period_grain = %s and period_start = %s and region = %s and client_scope = 'all'""",
            (grain, start, REGION),
        ).fetchone()
    assert row is not None, f"no client_base_by_region row for {REGION} {grain} {start}"
    assert (row[0], row[1], row[2], row[3]) == (
        expected.active,
        expected.attracted,
        expected.potential,
        expected.total,
    )


def test_every_source_landed(demo_warehouse: DemoWarehouse) -> None:
    with psycopg.connect(demo_warehouse.url) as conn:
        counts = dict(
            conn.execute(
                "select entity, sum(rows_landed) from ingest_state.loads where status = 'success' group by entity"
            ).fetchall()
        )
    for entity in ("companies", "deals", "sales_documents", "counterparties", "potential_clients"):
        assert counts.get(entity, 0) > 0, f"nothing landed for {entity}: {counts}"


def test_demo_pushes_fields_and_tasks_into_its_portal(demo_warehouse: DemoWarehouse) -> None:
    """The demo's write-back runs live against its own fake portal: the company fields are
    created, company values are written and read back, and tasks are created for managers;
    the audit table records each write (not a dry run)."""
    with psycopg.connect(demo_warehouse.url) as conn:
        rows = conn.execute(
            "select entity, action, count(*) from ingest_state.writeback_audit"
            " where not dry_run group by entity, action"
        ).fetchall()
        actions = conn.execute("select count(*) from marts.next_best_actions").fetchone()[0]
    done = {(entity, action): count for entity, action, count in rows}
    assert done.get(("company_userfield", "create"), 0) >= 5, done
    assert any(entity == "company" and count > 0 for (entity, _), count in done.items()), done
    assert any(entity == "task" and count > 0 for (entity, _), count in done.items()), done
    assert actions > 0
