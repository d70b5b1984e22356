"""Raw landing against a real PostgreSQL: idempotence, change detection, deletions, quarantine."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from ingestion import landing
from ingestion.files.validate import RowError

TABLE = "bitrix24__deals"


@pytest.fixture
def conn(make_database: Callable[[str], str]) -> Iterator[psycopg.Connection]:
    url = make_database("h2land")
    with psycopg.connect(url) as c:
        landing.ensure_schema(c)
        c.commit()
        yield c


def state(conn: psycopg.Connection) -> list[tuple[object, ...]]:
    return conn.execute(
        f"select source_key, payload, _source, _load_id, _modified_at, _deleted_at is not null from raw.{TABLE} order by source_key"
    ).fetchall()


def recs(*items: tuple[str, dict[str, object]]) -> list[landing.Record]:
    return [(k, p, datetime(2025, 1, 1, 10, tzinfo=UTC)) for k, p in items]


def test_schema_is_idempotent_and_has_the_contract_columns(conn: psycopg.Connection) -> None:
    landing.ensure_schema(conn)  # second time: no error
    cols = conn.execute(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'raw' and table_name = %s order by ordinal_position", (TABLE,)
    ).fetchall()
    assert cols == [
        ("source_key", "text", "NO"), ("payload", "jsonb", "NO"), ("_source", "text", "NO"),
        ("_load_id", "text", "NO"), ("_loaded_at", "timestamp with time zone", "NO"),
        ("_modified_at", "timestamp with time zone", "YES"), ("_deleted_at", "timestamp with time zone", "YES"),
    ]
    tables = {r[0] for r in conn.execute("select table_name from information_schema.tables where table_schema = 'raw'")}
    assert {"bitrix24__deals", "onec__sales_documents", "files__sales_lines", "bitrix24__deal_categories"} <= tables
    assert len(tables) == 29  # with raw.bitrix24__addresses (crm.address.list)


def test_land_is_idempotent_and_updates_only_changed_rows(conn: psycopg.Connection) -> None:
    first = recs(("1", {"ID": "1", "TITLE": "a\tb\\c\nd «ё»"}), ("2", {"ID": "2", "OPPORTUNITY": "10.50"}))
    # the first load goes straight into the empty table; a repeated key keeps its first record
    assert landing.land(conn, TABLE, [*first, ("2", {"ID": "2", "dup": True}, None)], source="bitrix24", load_id="L1") == 2
    conn.commit()
    before = state(conn)
    assert before[0][1] == {"ID": "1", "TITLE": "a\tb\\c\nd «ё»"}  # tabs, backslashes, newlines survive COPY
    assert landing.land(conn, TABLE, first, source="bitrix24", load_id="L2") == 0  # same data: nothing written
    assert state(conn) == before  # even _load_id unchanged
    changed = recs(("1", {"ID": "1", "TITLE": "a\tb\\c\nd «ё»"}), ("2", {"ID": "2", "OPPORTUNITY": "11.00"}),
                   ("3", {"ID": "3"}), ("3", {"ID": "3", "dup": True}))
    assert landing.land(conn, "raw." + TABLE, changed, source="bitrix24", load_id="L3") == 2
    rows = state(conn)
    assert [(r[0], r[3]) for r in rows] == [("1", "L1"), ("2", "L3"), ("3", "L3")]
    assert rows[2][1] == {"ID": "3"}  # a key repeated within one load keeps its first occurrence
    assert conn.execute(f"select count(*) from raw.{TABLE}").fetchone() == (3,)


def test_mark_deleted_and_resurrection(conn: psycopg.Connection) -> None:
    landing.land(conn, TABLE, recs(("1", {"ID": "1"}), ("2", {"ID": "2"}), ("3", {"ID": "3", "D": "2025-02-01"})),
                 source="bitrix24", load_id="L1")
    assert landing.mark_deleted(conn, TABLE, {"1"}, scope=("t.payload->>'D' >= %s", ["2025-01-15"])) == 1
    assert [r[5] for r in state(conn)] == [False, False, True]  # only "3" is inside the scope
    assert landing.mark_deleted(conn, TABLE, ["1"]) == 1  # now "2" too; "3" stays marked, not re-marked
    assert [r[5] for r in state(conn)] == [False, True, True]
    # a record that comes back is un-deleted even with an identical payload
    assert landing.land(conn, TABLE, recs(("2", {"ID": "2"})), source="bitrix24", load_id="L2") == 1
    assert [r[5] for r in state(conn)] == [False, False, True]


def test_rollback_leaves_previous_state_and_cursor(conn: psycopg.Connection) -> None:
    landing.land(conn, TABLE, recs(("1", {"ID": "1"})), source="bitrix24", load_id="L1")
    landing.set_cursor(conn, "bitrix24", "deals", {"max_modified": "2025-01-01T00:00:00+03:00"})
    conn.commit()

    def failing() -> Iterator[landing.Record]:
        yield "1", {"ID": "1", "TITLE": "changed"}, None
        yield "2", {"ID": "2"}, None
        raise ConnectionError("source went away")

    with pytest.raises(ConnectionError):
        landing.land(conn, TABLE, failing(), source="bitrix24", load_id="L2")
    conn.rollback()
    assert [(r[0], r[1]) for r in state(conn)] == [("1", {"ID": "1"})]
    assert landing.get_cursor(conn, "bitrix24", "deals") == {"max_modified": "2025-01-01T00:00:00+03:00"}


def test_quarantine_and_load_log(conn: psycopg.Connection) -> None:
    err = RowError("plan.csv", 7, "Месяц", "13.2025", "month must be 1..12")
    assert landing.quarantine(conn, "L9", "file:plan.csv", [(err, {"Месяц": "13.2025"})]) == 1
    landing.log_load_start(conn, "L9", "files", "sales_plans")
    landing.log_load_end(conn, "L9", status="success", rows_landed=5, rows_quarantined=1)
    q = conn.execute("select load_id, source, file, row_number, field, value, reason, payload from ingest_state.quarantine").fetchall()
    assert q == [("L9", "file:plan.csv", "plan.csv", 7, "Месяц", "13.2025", "month must be 1..12", {"Месяц": "13.2025"})]
    log = conn.execute("select status, rows_landed, rows_quarantined, finished_at is not null from ingest_state.loads").fetchall()
    assert log == [("success", 5, 1, True)]


def test_raw_table_names_are_validated() -> None:
    with pytest.raises(ValueError, match="invalid raw table name"):
        landing.raw_table_name('deals"; drop table x; --')
