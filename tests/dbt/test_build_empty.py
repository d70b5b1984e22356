"""`dbt build --empty` on a scratch warehouse: every model compiles and runs with zero-row inputs.

Under `--empty` dbt renders each ref()/source() as an aliased subquery, so a model that aliases a
ref directly (`from {{ ref('x') }} as y`) fails; models read their inputs through import CTEs at
the top instead (jaffle-shop style). This builds the whole project (models, seeds, data and unit
tests) on empty raw tables, as a fresh company's warehouse has them.
"""

from __future__ import annotations

import psycopg
import pytest
from conftest import DbtDatabase

from happyclient.warehouse import ensure_raw_tables, ensure_schemas
from predictions.model import DDL as PREDICTIONS_DDL

pytestmark = pytest.mark.slow


def test_dbt_build_empty_builds_every_model(dbt_database: DbtDatabase) -> None:
    ensure_schemas(dbt_database.url)
    ensure_raw_tables(dbt_database.url)
    with psycopg.connect(dbt_database.url) as conn:
        conn.execute(PREDICTIONS_DDL)  # the predictions source, as the predictions step creates it
    result = dbt_database.dbt("build", "--empty")
    assert "ERROR=0" in result.stdout and "SKIP=0" in result.stdout, result.stdout[-4000:]
    with psycopg.connect(dbt_database.url) as conn:
        built = {
            name
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        # the marts exist, with the columns of a real build and no rows
        assert {"fct_sales_lines", "kpi_components", "kpi_panel", "dim_clients", "client_stability"} <= built
        assert conn.execute("select count(*) from marts.kpi_panel").fetchone() == (0,)
