"""The whole dbt project on ClickHouse (chDB, the engine in process), compared with Postgres.

The raw test dataset of tests/dbt (1C, Bitrix24, files; tests/dbt/raw_dataset*.py) is landed twice:
into a chDB directory through the product's ClickHouse landing (ingestion/clickhouse_landing.py),
and into a fresh Postgres database as tests/dbt lands it. `dbt build` (seeds, models, data tests,
unit tests) runs on chDB through the test-only shim tests/clickhouse/chdb_dbt.py (target
`clickhouse` of profiles.yml), `dbt run` on Postgres; then the key marts must hold the same rows,
value for value (numbers within 2e-6: Decimal division truncates at 6 decimals on ClickHouse).

chDB cannot prove what needs a server: the HTTP/native protocol, users and settings profiles,
ON CLUSTER DDL, ReplicatedMergeTree, Distributed tables (the cluster profile of docker-compose is
validated by tests/platform/test_clickhouse_cluster.py without Docker).
"""
from __future__ import annotations

import json
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.clickhouse.conftest import DBT_PROJECT, HERE, ROOT, _python, require

pytestmark = [pytest.mark.clickhouse, pytest.mark.slow]
require("chdb")
require("dbt.adapters.clickhouse")


# the marts compared row for row (all columns but load timestamps), and the totals of the sales fact
MARTS = ("kpi_panel", "client_stability", "client_stability_summary", "client_base_by_region", "abc_xyz_clients")
SALES_TOTALS = ("select source, line_kind, count(*) as lines, count(distinct client_id) as clients,"
                " sum(revenue) as revenue, sum(quantity) as quantity from marts.fct_sales_lines group by source, line_kind")


def _chdb_query(path: Path, *queries: str) -> list[dict]:
    result = _python(str(HERE / "chdb_run.py"), "query", str(path), *queries)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


# ClickHouse divides a Decimal(p, 6) to 6 decimals by truncation, Postgres' numeric keeps more and
# rounds when cast to numeric(28, 6): a ratio may differ by one unit in the 6th decimal.
TOLERANCE = 2e-6


def _normal(value: object) -> object:
    """One spelling per value across the engines: numbers as floats, dates as ISO text, booleans
    as 0/1 (ClickHouse comparisons are UInt8)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple(("", round(v, 3)) if isinstance(v, float) else (str(v), 0.0) for v in row)


def _rows(columns: list[str], rows: list[list], keep: list[str]) -> list[tuple]:
    index = [columns.index(c) for c in keep]
    return sorted((tuple(_normal(row[i]) for i in index) for row in rows), key=_sort_key)


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(
        abs(x - y) <= TOLERANCE if isinstance(x, float) and isinstance(y, float) else x == y for x, y in zip(a, b, strict=True))


def _equal(pg: list[tuple], ch: list[tuple]) -> bool:
    return len(pg) == len(ch) and all(_same(a, b) for a, b in zip(pg, ch, strict=True))


def _postgres(url: str, sql: str) -> tuple[list[str], list[list]]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return [d.name for d in cur.description], [list(r) for r in cur.fetchall()]


def _differences(name: str, columns: list[str], pg: list[tuple], ch: list[tuple]) -> str:
    only_pg = [a for a in pg if not any(_same(a, b) for b in ch)]
    only_ch = [b for b in ch if not any(_same(a, b) for a in pg)]
    lines = [f"{name}: {len(pg)} rows on Postgres, {len(ch)} on chDB; columns {columns}"]
    lines += [f"  only Postgres: {r}" for r in only_pg[:5]] + [f"  only chDB:     {r}" for r in only_ch[:5]]
    return "\n".join(lines)


def test_dbt_build_passes_on_chdb(chdb_build: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """Seeds, all models, data tests and every unit test pass on ClickHouse: no unit test is tagged
    not_on_clickhouse (the tag, left out by the ClickHouse dbt steps, is for a SQL fixture only
    Postgres parses; the last one, client_base_by_region_seed_case_spb, now counts its clients
    with portable SQL instead of generate_series)."""
    _, result = chdb_build
    tail = result.stdout[-8000:]
    assert result.returncode == 0, f"dbt build on chDB failed:\n{tail}\n{result.stderr[-2000:]}"
    assert "ERROR=0" in tail and "SKIP=0" in tail, tail
    tagged = sorted(line.split("name: ", 1)[1] for line in _unit_tests_tagged_not_on_clickhouse())
    assert tagged == []


def _unit_tests_tagged_not_on_clickhouse() -> list[str]:
    """The `- name:` line of every unit test whose config tags it not_on_clickhouse."""
    found = []
    for path in (DBT_PROJECT / "models").rglob("*.yml"):
        name = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("  - name: "):
                name = line.strip()
            elif "not_on_clickhouse" in line and name and not line.strip().startswith("#"):
                found.append(name)
    return found


@pytest.mark.parametrize("mart", MARTS)
def test_mart_has_the_same_rows_on_both_engines(chdb_build: tuple[Path, subprocess.CompletedProcess[str]],
                                                postgres_url: str, mart: str) -> None:
    path, _ = chdb_build
    pg_columns, pg_rows = _postgres(postgres_url, f"select * from marts.{mart}")
    [ch] = _chdb_query(path, f"select * from marts.{mart}")
    assert set(ch["columns"]) == set(pg_columns)
    keep = [c for c in pg_columns if not c.endswith("_loaded_at")]
    pg, chdb = _rows(pg_columns, pg_rows, keep), _rows(ch["columns"], ch["rows"], keep)
    assert len(pg) > 0
    assert _equal(pg, chdb), _differences(mart, keep, pg, chdb)


def test_sales_fact_totals_are_the_same_on_both_engines(chdb_build: tuple[Path, subprocess.CompletedProcess[str]],
                                                        postgres_url: str) -> None:
    path, _ = chdb_build
    pg_columns, pg_rows = _postgres(postgres_url, SALES_TOTALS)
    [ch] = _chdb_query(path, SALES_TOTALS)
    pg, chdb = _rows(pg_columns, pg_rows, pg_columns), _rows(ch["columns"], ch["rows"], pg_columns)
    assert {r[0] for r in pg} == {"onec", "file"}
    assert _equal(pg, chdb), _differences("fct_sales_lines totals", pg_columns, pg, chdb)


def test_join_select_items_carry_their_alias() -> None:
    """Every bare `relation.column` item of a select with a join is aliased (`t.col as col`):
    ClickHouse would name it `t.col` (tests/clickhouse/join_aliases.py adds the aliases)."""
    from tests.clickhouse.join_aliases import fix, sql_files

    missing = {str(path.relative_to(ROOT)): lines for path in sql_files() if (lines := fix(path, write=False))}
    assert not missing, f"run python tests/clickhouse/join_aliases.py; unaliased join items: {missing}"
