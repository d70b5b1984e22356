"""The landing contract on ClickHouse (ingestion/clickhouse_landing.py), on chDB in this process.

chDB runs one engine per process: this module's client opens the pytest process's one chDB
directory (`chdb_url`, tests/conftest.py; the dbt builds run in subprocesses, on their own)."""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.clickhouse.conftest import require

pytestmark = pytest.mark.clickhouse

ch = require("ingestion.clickhouse_landing")
require("chdb")


@pytest.fixture(scope="module")
def client(chdb_url: str) -> Iterator[Any]:
    client = ch.connect(chdb_url)
    ch.ensure_state(client)
    yield client
    client.close()


@pytest.fixture
def table(client: Any, request: pytest.FixtureRequest) -> str:
    # a table of each test (and parameter): the name's start and a checksum of the whole
    name = f"test__{request.node.name.replace('test_', '')[:30]}_{zlib.crc32(request.node.name.encode()):08x}".lower()
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    ch.ensure_raw_table(client, name)
    return name


def _rows(client: Any, table: str) -> dict[str, tuple[str, bool]]:
    result = client.query(f"select source_key, payload, _deleted_at is not null from raw.{table} order by 1")
    return {key: (payload, bool(deleted)) for key, payload, deleted in result.result_rows}


def test_a_load_is_visible_once_committed_and_a_rerun_writes_nothing(client: Any, table: str) -> None:
    records = [("1", {"a": 1}, None), ("2", {"a": 2}, datetime(2025, 1, 2, tzinfo=UTC)), ("1", {"a": 99}, None)]
    _, written = ch.run_load(client, table, records, source="test", entity=table)
    assert written == 2  # the key seen twice keeps its first occurrence
    assert _rows(client, table) == {"1": ('{"a":1}', False), "2": ('{"a":2}', False)}
    # the same records again: nothing changes, so nothing is written (and _loaded_at stays)
    loaded_before = client.query(f"select max(_loaded_at) from raw.{table}").result_rows[0][0]
    _, written = ch.run_load(client, table, records, source="test", entity=table)
    assert written == 0
    assert client.query(f"select max(_loaded_at) from raw.{table}").result_rows[0][0] == loaded_before
    # a changed payload is a new version, key order alone is not a change
    _, written = ch.run_load(client, table, [("1", '{"a":1}', None), ("2", {"a": 3}, None)], source="test", entity=table)
    assert written == 1
    assert _rows(client, table)["2"] == ('{"a":3}', False)


def test_rows_of_an_uncommitted_load_are_never_seen(client: Any, table: str) -> None:
    ch.run_load(client, table, [("1", {"v": "old"}, None)], source="test", entity=table)
    load_id = ch.new_load_id("test", table)
    ch.land(client, table, [("1", {"v": "new"}, None), ("2", {"v": "new"}, None)], source="test", load_id=load_id)
    ch.set_cursor(client, "test", table, {"page": 2}, load_id=load_id)
    # the process "dies" here: no commit
    assert _rows(client, table) == {"1": ('{"v":"old"}', False)}
    assert ch.get_cursor(client, "test", table) is None
    # the next load discards the dead load's versions and lands its own
    ch.run_load(client, table, [("1", {"v": "next"}, None)], source="test", entity=table, cursor={"page": 1})
    assert _rows(client, table) == {"1": ('{"v":"next"}', False)}
    assert ch.get_cursor(client, "test", table) == {"page": 1}
    assert client.query(
        f"select count() from raw.{table}__versions where _written_by = {{id:String}}", parameters={"id": load_id}
    ).result_rows[0][0] == 0


@pytest.mark.parametrize("by_key_limit", [ch.MARK_BY_KEY_LIMIT, 0], ids=["rows-by-key", "all-rows"])
def test_deletions_are_marks_and_a_key_that_comes_back_is_live_again(client: Any, table: str, by_key_limit: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ch, "MARK_BY_KEY_LIMIT", by_key_limit)  # the rows of the keys gone, or all rows read
    ch.run_load(client, table, [("1", {"x": 1}, None), ("2", {"x": 2}, None), ("3", {"x": 3}, None)],
                source="test", entity=table)
    # a full read that no longer has key 2: marked, payload kept
    _, changed = ch.run_load(client, table, [("1", {"x": 1}, None), ("3", {"x": 3}, None)], source="test",
                             entity=table, live_keys=["1", "3"])
    assert changed == 1
    assert _rows(client, table) == {"1": ('{"x":1}', False), "2": ('{"x":2}', True), "3": ('{"x":3}', False)}
    # marking again changes nothing; the key coming back with the same payload is live again
    assert ch.run_load(client, table, [], source="test", entity=table, live_keys=["1", "3"])[1] == 0
    ch.run_load(client, table, [("2", {"x": 2}, None)], source="test", entity=table)
    assert _rows(client, table)["2"] == ('{"x":2}', False)


def test_a_failing_load_is_logged_failed_and_leaves_nothing(client: Any, table: str) -> None:
    def records() -> Iterator[tuple[str, dict[str, int], None]]:
        yield ("1", {"ok": 1}, None)
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError):
        ch.run_load(client, table, records(), source="test", entity=table)
    assert _rows(client, table) == {}
    status = client.query(
        "select argMax(status, _version) from ingest_state.load_log where entity = {e:String}", parameters={"e": table}
    ).result_rows[0][0]
    assert status == "failed"


def test_urls_pick_the_interface() -> None:
    with pytest.raises(ValueError, match="not a ClickHouse URL"):
        ch.connect("postgresql://postgres@127.0.0.1/happyclient")
