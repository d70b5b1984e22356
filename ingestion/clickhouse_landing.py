"""The landing contract (ingestion/landing.py) on ClickHouse (issue 13).

ClickHouse has no multi-statement transactions, so the contract is kept another way:

- Every raw table `raw.<name>` is a view over `raw.<name>__versions`, a ReplacingMergeTree keyed by
  `source_key` with a `_version` column: a load never updates a row, it inserts a new version.
- A load's rows carry its id in `_written_by`; the load is committed by ONE insert, its row in
  `ingest_state.committed_loads`. The view shows, per key, the newest version written by a
  committed load: a load that fails (or a process killed) half-way leaves versions nobody sees,
  and `discard_uncommitted` removes them later.
- Deletions are marks: a new version of the row with `_deleted_at` set (rows are never removed).
- Re-runs are idempotent: a record whose payload equals the visible one (and is not marked
  deleted) is not written again, so `_loaded_at` moves only when a payload changes, as on Postgres.
- The cursor of an entity is a versioned row of `ingest_state.cursors` too, visible once its
  load is committed, so rows and cursor move together.
- `land_columns` is `land` for the user files' fast path: blocks of Arrow columns, each one
  insert, the same versions and the same "unchanged is not written" rule.

The payload is JSON text in a String column; dbt reads it with the JSON* functions
(dbt_project/macros/clickhouse.sql). `connect` takes `clickhouse://user:password@host:8123/`
(HTTP, `clickhouses://` for TLS) or `chdb:///path/to/dir` (the in-process engine, for tests; one
process at a time may open a chDB directory).
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from .landing import Record, raw_table_name

RAW_DATABASE = "raw"
STATE_DATABASE = "ingest_state"
_TIMESTAMP = "DateTime64(6, 'UTC')"
_RAW_COLUMNS = ["source_key", "payload", "_source", "_load_id", "_loaded_at", "_modified_at", "_deleted_at"]

STATE_DDL = [
    f"create database if not exists {RAW_DATABASE}",
    f"create database if not exists {STATE_DATABASE}",
    # one row per committed load: the commit itself
    f"""create table if not exists {STATE_DATABASE}.committed_loads (
        load_id String,
        committed_at {_TIMESTAMP})
        engine = ReplacingMergeTree order by load_id""",
    # the load log, one version per status change (running, then success / failed)
    f"""create table if not exists {STATE_DATABASE}.load_log (
        load_id String,
        source String,
        entity String,
        started_at {_TIMESTAMP},
        finished_at Nullable({_TIMESTAMP}),
        status String,
        rows_landed Int64,
        rows_quarantined Int64,
        error Nullable(String),
        _version UInt64)
        engine = ReplacingMergeTree(_version) order by load_id""",
    f"""create table if not exists {STATE_DATABASE}.cursor_versions (
        source String,
        entity String,
        cursor String,
        updated_at {_TIMESTAMP},
        _written_by String,
        _version UInt64)
        engine = ReplacingMergeTree(_version) order by (source, entity, _version)""",
    f"""create table if not exists {STATE_DATABASE}.quarantine (
        id UInt64,
        load_id String,
        source String,
        file Nullable(String),
        row_number Nullable(Int32),
        field Nullable(String),
        value Nullable(String),
        reason String,
        payload Nullable(String),
        quarantined_at {_TIMESTAMP})
        engine = MergeTree order by (load_id, id)""",
    # Bitrix24 OAuth: the newest rotated refresh token per portal (ingestion.bitrix24.token_store);
    # every insert fsynced: the token it replaces is already invalid on the portal
    f"""create table if not exists {STATE_DATABASE}.oauth_tokens (
        portal_url String,
        refresh_token String,
        updated_at {_TIMESTAMP},
        _version UInt64)
        engine = ReplacingMergeTree(_version) order by portal_url
        settings fsync_after_insert = 1, fsync_part_directory = 1""",
]


def connect(url: str) -> Any:
    """A clickhouse-connect client for `clickhouse://…`, `clickhouses://…` or `chdb:///dir`."""
    from hc_base.clickhouse import connect as connect_clickhouse

    return connect_clickhouse(url)


def _raw(raw_table: str) -> str:
    return f"{RAW_DATABASE}.{raw_table_name(raw_table)}"


def _versions(raw_table: str) -> str:
    return f"{RAW_DATABASE}.{raw_table_name(raw_table)}__versions"


def ensure_state(client: Any) -> None:
    for ddl in STATE_DDL:
        client.command(ddl)


def ensure_raw_table(client: Any, raw_table: str) -> None:
    """`raw.<name>__versions` and the view `raw.<name>` with the landing contract's columns."""
    client.command(
        f"""create table if not exists {_versions(raw_table)} (
            source_key String,
            payload String,
            _source String,
            _load_id String,
            _loaded_at {_TIMESTAMP},
            _modified_at Nullable({_TIMESTAMP}),
            _deleted_at Nullable({_TIMESTAMP}),
            _written_by String,
            _version UInt64)
            engine = ReplacingMergeTree(_version) order by source_key"""
    )
    # argMax of one tuple: argMax over a Nullable column would skip NULLs (a _deleted_at cleared
    # by a later version would come back)
    columns = _RAW_COLUMNS[1:]
    picked = ", ".join(f"newest.{i} as {c}" for i, c in enumerate(columns, start=1))
    client.command(
        f"""create view if not exists {_raw(raw_table)} as
            select source_key, {picked}
            from (
                select source_key, argMax(tuple({", ".join(columns)}), _version) as newest
                from {_versions(raw_table)}
                where _written_by in (select load_id from {STATE_DATABASE}.committed_loads)
                group by source_key
            )"""
    )


def ensure_schema(client: Any, raw_tables: Iterable[str] | None = None) -> None:
    if raw_tables is None:
        from .registry import ENTITIES

        raw_tables = [spec.raw_table for spec in ENTITIES.values()]
    ensure_state(client)
    for table in raw_tables:
        ensure_raw_table(client, table)


def _now() -> datetime:
    return datetime.now(UTC)


def _version() -> int:
    return time.time_ns()


def _json_text(payload: Mapping[str, Any] | str) -> str:
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str, sort_keys=True)


def _canonical(text: str) -> str:
    """The payload as compared between loads: key order and spacing do not make a change."""
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _visible(client: Any, raw_table: str) -> dict[str, tuple[str, bool]]:
    """source_key -> (payload, marked deleted) of the rows a reader sees now."""
    result = client.query(f"select source_key, payload, _deleted_at is not null from {_raw(raw_table)}")
    return {key: (payload, bool(deleted)) for key, payload, deleted in result.result_rows}


def land(client: Any, raw_table: str, records: Iterable[Record], *, source: str, load_id: str) -> int:
    """Write the records whose payload is new or changed (or that were marked deleted) as new
    versions written by `load_id`; a key seen twice keeps its first occurrence. Invisible until
    `commit_load(load_id)`. Returns the rows written."""
    visible = _visible(client, raw_table)
    loaded_at, version = _now(), _version()
    rows: list[list[Any]] = []
    seen: set[str] = set()
    for key, payload, modified_at in records:
        key = str(key)
        if key in seen:
            continue
        seen.add(key)
        text = _json_text(payload)
        current = visible.get(key)
        if current is not None and not current[1] and _canonical(current[0]) == _canonical(text):
            continue
        rows.append([key, text, source, load_id, loaded_at, modified_at, None, load_id, version])
    if rows:
        client.insert(_versions(raw_table), rows, column_names=[*_RAW_COLUMNS, "_written_by", "_version"])
    return len(rows)


def land_columns(client: Any, raw_table: str, batches: Iterable[tuple[Any, Any]], *, source: str, load_id: str,
                 table_was_empty: bool = False) -> Iterator[int]:
    """`land` for columnar batches, one insert of Arrow columns per batch: `batches` yields
    (keys, payloads), pyarrow string arrays, keys unique over all batches, payloads JSON text.
    The same rule as `land`: a key whose visible row is live with an equal payload (as text, or
    else as `_canonical` JSON) is not written. Yields the rows written of each batch (in order),
    invisible until `commit_load(load_id)`. `table_was_empty`: no visible row to compare with."""
    import pyarrow as pa

    visible = None
    if not table_was_empty:
        visible = client.query_arrow(
            f"select source_key, payload, toUInt8(_deleted_at is not null) as deleted from {_raw(raw_table)}")
        if visible.num_rows == 0:
            visible = None
        else:
            visible = {name: visible.column(name).combine_chunks().cast(kind) for name, kind in
                       (("source_key", pa.string()), ("payload", pa.string()), ("deleted", pa.bool_()))}
    loaded_at, version = _now(), _version()
    # each batch is inserted by a worker thread while the next one is read and converted
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hc-insert") as worker:
        pending = None
        for table in _version_tables(batches, visible, source, load_id, loaded_at, version):
            if pending is not None:
                yield pending.result()
            pending = worker.submit(_insert_versions, client, _versions(raw_table), table)
        if pending is not None:
            yield pending.result()


def _insert_versions(client: Any, table: str, rows: Any) -> int:
    if rows.num_rows:
        client.insert_arrow(table, rows)
    return int(rows.num_rows)


def _version_tables(batches: Iterable[tuple[Any, Any]], visible: dict[str, Any] | None, source: str, load_id: str,
                    loaded_at: datetime, version: int) -> Iterator[Any]:
    """The versions to insert of each batch (an Arrow table, maybe empty): see `land_columns`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for keys, payloads in batches:
        n = len(keys)
        if visible is not None:
            at = pc.index_in(keys, value_set=visible["source_key"])
            before = visible["payload"].take(at)
            live = pc.and_(pc.is_valid(at), pc.invert(visible["deleted"].take(at).fill_null(True)))
            same = pc.and_(live, pc.equal(before, payloads).fill_null(False))
            recheck = pc.and_(live, pc.invert(same))  # another text: compared as JSON, as `land` does
            if pc.any(recheck).as_py():
                rows = pc.indices_nonzero(recheck).to_pylist()
                equal = [_canonical(a) == _canonical(b) for a, b in
                         zip(before.take(rows).to_pylist(), payloads.take(rows).to_pylist(), strict=True)]
                mask = [False] * n
                for row, is_equal in zip(rows, equal, strict=True):
                    mask[row] = is_equal
                same = pc.or_(same, pa.array(mask))
            if pc.any(same).as_py():
                keep = pc.invert(same)
                keys, payloads = keys.filter(keep), payloads.filter(keep)
                n = len(keys)

        def constant(value: Any, kind: Any, count: int = n) -> Any:
            return pc.fill_null(pa.nulls(count, kind), pa.scalar(value, kind))

        def text(value: str, count: int = n) -> Any:  # one byte a row, not the text
            return pa.DictionaryArray.from_arrays(pa.nulls(count, pa.int8()).fill_null(0), pa.array([value]))

        stamp = pa.timestamp("us", tz="UTC")
        yield pa.table({
            "source_key": keys, "payload": payloads, "_source": text(source), "_load_id": text(load_id),
            "_loaded_at": constant(loaded_at, stamp), "_modified_at": pa.nulls(n, stamp),
            "_deleted_at": pa.nulls(n, stamp), "_written_by": text(load_id), "_version": constant(version, pa.uint64()),
        })


MARK_BY_KEY_LIMIT = 10_000  # more keys gone than this: their rows are read with all the others


def mark_deleted(client: Any, raw_table: str, live_keys: Iterable[str], *, load_id: str,
                 scope: Sequence[str] | None = None) -> int:
    """Mark (a new version with `_deleted_at` set) the visible, not yet deleted rows whose key is
    not in `live_keys`; with `scope`, only among those keys. Invisible until the load commits.
    Returns the rows marked."""
    live = {str(k) for k in live_keys}
    in_scope = None if scope is None else {str(k) for k in scope}
    # the keys first (one column), then the whole rows of the keys gone only, unless most are
    current = client.query(f"select source_key from {_raw(raw_table)} where _deleted_at is null").result_columns
    gone = [key for key in (current[0] if current else [])
            if key not in live and (in_scope is None or key in in_scope)]
    if not gone:
        return 0
    select = f"select {', '.join(_RAW_COLUMNS)} from {_raw(raw_table)} where _deleted_at is null"
    if len(gone) <= MARK_BY_KEY_LIMIT:
        result = client.query(f"{select} and source_key in {{gone:Array(String)}}", parameters={"gone": gone})
    else:
        result = client.query(select)
    wanted = set(gone)
    deleted_at, version = _now(), _version()
    rows = [[*row[:6], deleted_at, load_id, version] for row in result.result_rows if row[0] in wanted]
    if rows:
        client.insert(_versions(raw_table), rows, column_names=[*_RAW_COLUMNS, "_written_by", "_version"])
    return len(rows)


def set_cursor(client: Any, source: str, entity: str, cursor: Mapping[str, Any], *, load_id: str) -> None:
    client.insert(
        f"{STATE_DATABASE}.cursor_versions",
        [[source, entity, json.dumps(dict(cursor), default=str), _now(), load_id, _version()]],
        column_names=["source", "entity", "cursor", "updated_at", "_written_by", "_version"],
    )


def get_cursor(client: Any, source: str, entity: str) -> dict[str, Any] | None:
    """The cursor of the newest committed load that set one."""
    result = client.query(
        f"""select argMax(cursor, _version) from {STATE_DATABASE}.cursor_versions
            where source = {{source:String}} and entity = {{entity:String}}
              and _written_by in (select load_id from {STATE_DATABASE}.committed_loads)
            having count() > 0""",
        parameters={"source": source, "entity": entity},
    )
    rows = result.result_rows
    return None if not rows else dict(json.loads(rows[0][0]))


def new_load_id(source: str, entity: str) -> str:
    return f"{source}.{entity}.{datetime.now().strftime('%Y%m%dT%H%M%S')}.{uuid.uuid4().hex[:8]}"


def log_load(client: Any, load_id: str, source: str, entity: str, *, status: str, started_at: datetime,
             rows_landed: int = 0, rows_quarantined: int = 0, error: str | None = None) -> None:
    finished = None if status == "running" else _now()
    client.insert(
        f"{STATE_DATABASE}.load_log",
        [[load_id, source, entity, started_at, finished, status, rows_landed, rows_quarantined, error, _version()]],
        column_names=["load_id", "source", "entity", "started_at", "finished_at", "status", "rows_landed",
                      "rows_quarantined", "error", "_version"],
    )


def commit_load(client: Any, load_id: str) -> None:
    """The commit: one row. Every version and cursor written by `load_id` becomes visible at once."""
    client.insert(f"{STATE_DATABASE}.committed_loads", [[load_id, _now()]], column_names=["load_id", "committed_at"])


def discard_uncommitted(client: Any, raw_table: str) -> None:
    """Remove the versions of loads that never committed (failed or killed), before a new load."""
    client.command(
        f"""delete from {_versions(raw_table)}
            where _written_by not in (select load_id from {STATE_DATABASE}.committed_loads)"""
    )


def run_load(client: Any, raw_table: str, records: Iterable[Record], *, source: str, entity: str,
             live_keys: Iterable[str] | None = None, cursor: Mapping[str, Any] | None = None) -> tuple[str, int]:
    """One whole load: rows, deletion marks (when `live_keys` is given: every other key), cursor,
    then the commit. On an error nothing of it becomes visible (the load is logged failed).
    Returns (load_id, rows written or marked)."""
    load_id = new_load_id(source, entity)
    started = _now()
    log_load(client, load_id, source, entity, status="running", started_at=started)
    try:
        discard_uncommitted(client, raw_table)
        changed = land(client, raw_table, records, source=source, load_id=load_id)
        if live_keys is not None:
            changed += mark_deleted(client, raw_table, live_keys, load_id=load_id)
        if cursor is not None:
            set_cursor(client, source, entity, cursor, load_id=load_id)
        commit_load(client, load_id)
    except Exception as exc:
        log_load(client, load_id, source, entity, status="failed", started_at=started, error=type(exc).__name__)
        raise
    log_load(client, load_id, source, entity, status="success", started_at=started, rows_landed=changed)
    return load_id, changed


def quarantine_rows(client: Any, rows: Sequence[Sequence[Any]]) -> int:
    """Write rejected rows (load_id, source, file, row, field, value, reason, payload JSON text) to
    `ingest_state.quarantine`. Written just before the load commits: unlike Postgres, a load that
    fails after this keeps them (they name its load id, which the load log shows failed)."""
    if not rows:
        return 0
    base, now = _version(), _now()
    client.insert(
        f"{STATE_DATABASE}.quarantine",
        [[base + i, *row, now] for i, row in enumerate(rows)],
        column_names=["id", "load_id", "source", "file", "row_number", "field", "value", "reason", "payload",
                      "quarantined_at"],
    )
    return len(rows)
