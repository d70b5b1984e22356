"""Warehouse setup creates every registered raw table (issue 10): `happyclient ingest files` lands
only the file kinds present, and `happyclient dbt build` then found `raw.files__rosstat_outlets`
missing. Every CLI command starts the warehouse through `Warehouse.start()`."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from happyclient.warehouse import Warehouse
from ingestion.registry import ENTITIES


def raw_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("select table_name from information_schema.tables where table_schema = 'raw'")}


def test_warehouse_start_creates_every_registered_raw_table_with_the_contract(
    make_database: Callable[[str], str],
) -> None:
    url = make_database("h10raw")
    assert raw_tables(url) == set()
    Warehouse(url=url).start()
    expected = {spec.raw_table for spec in ENTITIES.values()}
    assert raw_tables(url) == expected and len(expected) == 29
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = 'files__rosstat_outlets' order by ordinal_position"
        ).fetchall()
        conn.execute("insert into raw.files__sales_plans (source_key, payload, _source, _load_id, _loaded_at) "
                     "values ('k', '{}', 'file:x', 'L1', now())")
        conn.commit()
    assert [c[0] for c in columns] == [
        "source_key", "payload", "_source", "_load_id", "_loaded_at", "_modified_at", "_deleted_at",
    ]
    Warehouse(url=url).start()  # idempotent: a second start keeps the rows
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from raw.files__sales_plans").fetchone() == (1,)
