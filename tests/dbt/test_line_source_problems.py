"""Issue 10: the 1C line views (stg_onec__sales_lines, stg_onec__return_lines,
int_sales_lines_unioned) are not tested on themselves (each test re-parsed every raw line) but
on fct_sales_lines, the table that holds their lines. A source problem in a line must still fail
a test: after a clean build, documents landed with a line without LineNumber (null key, a sale
and a return), two lines with one LineNumber (a duplicate key), a line without Сумма (null
revenue) and a line naming a product 1C does not have; the incremental build then fails exactly
the fact's tests for those, each with exactly the injected rows.
"""
from __future__ import annotations

import copy
import json
import uuid

import psycopg
import pytest
from conftest import DbtDatabase
from raw_dataset import generate, land

pytestmark = pytest.mark.slow

VARS = json.dumps({"as_of_date": "2025-06-30"})
SELECT = ["--select", "+fct_sales_lines", "+dim_products", "--indirect-selection", "cautious",
          "--exclude", "test_type:unit", "--vars", VARS]


def failed_tests(db: DbtDatabase) -> dict[str, int]:
    """Test name (without the hash) -> failing rows, for every test that did not pass."""
    results = json.loads((db.target_path / "run_results.json").read_text(encoding="utf-8"))["results"]
    return {r["unique_id"].split(".")[2]: r["failures"] for r in results
            if r["unique_id"].startswith("test.") and r["status"] != "pass"}


def test_line_source_problems_fail_the_facts_tests(dbt_database: DbtDatabase) -> None:
    db = dbt_database
    ds = generate(n_clients=6)
    with psycopg.connect(db.url) as conn:
        land(conn, ds)
    db.dbt("build", *SELECT, "--full-refresh")
    assert failed_tests(db) == {}

    sale = next(p for _, p in ds.rows["onec__sales_documents"] if p["Posted"] and not p["DeletionMark"])
    ret = ds.rows["onec__returns"][0][1]

    def document(template: dict, lines: list[dict]) -> tuple[str, dict]:
        key = str(uuid.uuid4())
        payload = copy.deepcopy(template)
        payload["Ref_Key"] = key
        payload["Товары"] = [{**template["Товары"][0], "Ref_Key": key, **line} for line in lines]
        for line in payload["Товары"]:
            for field in [name for name, value in line.items() if value is None]:
                del line[field]  # an absent key, as 1C's OData leaves it out
        return key, payload

    bad = {
        "onec__sales_documents": [
            document(sale, [{"LineNumber": "1"}, {"LineNumber": None}]),  # null key
            document(sale, [{"LineNumber": "1"}, {"LineNumber": "1"}]),  # duplicate key
            document(sale, [{"LineNumber": "1", "Сумма": None}]),  # null revenue
            document(sale, [{"LineNumber": "1", "Номенклатура_Key": str(uuid.uuid4())}]),  # unknown product
        ],
        "onec__returns": [document(ret, [{"LineNumber": None}])],  # null key
    }
    with psycopg.connect(db.url) as conn:
        for table, rows in bad.items():
            conn.cursor().executemany(
                f"insert into raw.{table} (source_key, payload, _source, _load_id, _loaded_at)"
                " values (%s, %s, 'onec', 'bad-lines', now())",
                [(key, json.dumps(payload, ensure_ascii=False)) for key, payload in rows],
            )
    result = db.dbt("build", *SELECT, check=False)
    assert result.returncode != 0
    failed = failed_tests(db)
    assert failed == {
        "not_null_fct_sales_lines_sales_line_id": 2,
        "unique_fct_sales_lines_sales_line_id": 1,
        "not_null_fct_sales_lines_revenue": 1,
        # a null revenue is not a sign that agrees with the line's kind either
        "expression_is_true_fct_sales_lines__line_kind_return_revenue_0_or_revenue_0_or_source_file_": 1,
        "relationships_fct_sales_lines_product_id__product_id__ref_dim_products_": 1,
    }, result.stdout[-4000:]
