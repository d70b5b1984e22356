"""The landing analyses every raw table it changed, in the same run (issue 10: a just-landed,
never-analysed table made the planner expect 2 rows and pick a plan that never finished)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from ingestion import landing

TABLE = "files__assortment_matrix"


@pytest.fixture
def url(make_database: Callable[[str], str]) -> Iterator[str]:
    url = make_database("h10stats")
    with psycopg.connect(url, autocommit=True) as conn:
        landing.ensure_schema(conn, [TABLE])
        # autovacuum must not be the one that analyses: only the landing's own ANALYZE counts
        conn.execute(f"alter table raw.{TABLE} set (autovacuum_enabled = false)")
    yield url


def stats(url: str) -> tuple[int, bool, float]:
    """(analyze count, analysed by hand, reltuples) of the raw table, from a fresh connection."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_stat_clear_snapshot()")
        row = conn.execute(
            """select s.analyze_count, s.last_analyze is not null, c.reltuples
               from pg_stat_user_tables as s join pg_class as c on c.oid = s.relid
               where s.schemaname = 'raw' and s.relname = %s""",
            (TABLE,),
        ).fetchone()
    assert row is not None
    return int(row[0]), bool(row[1]), float(row[2])


def records(n: int, version: str = "a") -> list[landing.Record]:
    return [(str(i), {"sku": f"S{i}", "v": version}, None) for i in range(n)]


def wait_for_stats(url: str, count: int) -> tuple[int, bool, float]:
    """Statistics counters are flushed asynchronously: poll briefly for the expected count."""
    import time

    for _ in range(50):
        current = stats(url)
        if current[0] >= count:
            return current
        time.sleep(0.1)
    return stats(url)


def test_a_load_that_changes_rows_analyses_its_table(url: str) -> None:
    assert stats(url) == (0, False, -1.0)  # never analysed: the planner would guess
    with psycopg.connect(url) as conn:  # first load: straight COPY into the empty table
        assert landing.land(conn, TABLE, records(1200), source="file:m.csv", load_id="L1") == 1200
        conn.commit()
    count, by_hand, reltuples = wait_for_stats(url, 1)
    assert (count, by_hand, reltuples) == (1, True, 1200.0)

    with psycopg.connect(url) as conn:  # an unchanged reload changes nothing: no ANALYZE
        assert landing.land(conn, TABLE, records(1200), source="file:m.csv", load_id="L2") == 0
        assert landing.mark_deleted(conn, TABLE, [str(i) for i in range(1200)]) == 0
        conn.commit()
    assert stats(url)[0] == 1

    with psycopg.connect(url) as conn:  # upsert path: 300 new rows, then 100 marked deleted
        assert landing.land(conn, TABLE, records(1500), source="file:m.csv", load_id="L3") == 300
        assert landing.mark_deleted(conn, TABLE, [str(i) for i in range(100, 1500)]) == 100
        conn.commit()
    count, by_hand, reltuples = wait_for_stats(url, 3)
    assert (count, by_hand, reltuples) == (3, True, 1500.0)

