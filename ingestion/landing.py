"""Landing into `raw.*` and the load state in `ingest_state` (docs/architecture.md).

All functions take an open psycopg connection and never commit: `ingestion.run` writes one
load (rows, deletions, quarantine, cursor) in ONE transaction, so a load that fails half-way
leaves the previous rows and cursor untouched. The load log (`ingest_state.loads`) is the one
exception: it is written on its own autocommit connection so failures are recorded too.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql

RAW_SCHEMA = "raw"
STATE_SCHEMA = "ingest_state"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# A payload given as a `str` is JSON already serialised (compact, without \u0000 escapes), e.g.
# by the columnar file parser: `land` copies it as it is instead of encoding a mapping.
JsonText = str
Record = tuple[str, "Mapping[str, Any] | JsonText", datetime | None]

STATE_DDL = [
    f"create schema if not exists {RAW_SCHEMA}",
    f"create schema if not exists {STATE_SCHEMA}",
    f"""create table if not exists {STATE_SCHEMA}.cursors (
        source text not null,
        entity text not null,
        cursor jsonb not null,
        updated_at timestamptz not null default now(),
        primary key (source, entity))""",
    f"""create table if not exists {STATE_SCHEMA}.loads (
        load_id text primary key,
        source text not null,
        entity text not null,
        started_at timestamptz not null default now(),
        finished_at timestamptz,
        status text not null,
        rows_landed bigint not null default 0,
        rows_quarantined bigint not null default 0,
        error text)""",
    f"""create table if not exists {STATE_SCHEMA}.quarantine (
        id bigserial primary key,
        load_id text not null,
        source text not null,
        file text,
        row_number integer,
        field text,
        value text,
        reason text not null,
        payload jsonb,
        quarantined_at timestamptz not null default now())""",
    f"""create table if not exists {STATE_SCHEMA}.oauth_tokens (
        portal_url text primary key,
        refresh_token text not null,
        updated_at timestamptz not null default now())""",
]


class QuarantineRow(Protocol):
    file: str | None
    row: int | None
    field: str | None
    value: str | None
    reason: str


def raw_table_name(raw_table: str) -> str:
    """`raw.bitrix24__deals` or `bitrix24__deals` -> `bitrix24__deals` (validated)."""
    name = raw_table.split(".", 1)[1] if raw_table.startswith(f"{RAW_SCHEMA}.") else raw_table
    if not _NAME.match(name):
        raise ValueError(f"invalid raw table name {raw_table!r}: expected lower-case letters, digits, _")
    return name


def _raw(raw_table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(RAW_SCHEMA), sql.Identifier(raw_table_name(raw_table)))


def ensure_state(conn: psycopg.Connection) -> None:
    """Create the `raw` and `ingest_state` schemas and state tables (idempotent)."""
    for ddl in STATE_DDL:
        conn.execute(ddl)


def ensure_raw_table(conn: psycopg.Connection, raw_table: str) -> None:
    """Create one raw table with the landing contract's columns (idempotent)."""
    conn.execute(
        sql.SQL(
            """create table if not exists {} (
                source_key text primary key,
                payload jsonb not null,
                _source text not null,
                _load_id text not null,
                _loaded_at timestamptz not null,
                _modified_at timestamptz,
                _deleted_at timestamptz)"""
        ).format(_raw(raw_table))
    )
    # incremental dbt models select the rows landed or marked deleted after a watermark
    for column in ("_loaded_at", "_deleted_at"):
        conn.execute(
            sql.SQL("create index if not exists {} on {} ({})").format(
                sql.Identifier(f"{raw_table_name(raw_table)}__{column.lstrip('_')}_idx"), _raw(raw_table), sql.Identifier(column)
            )
        )


def ensure_schema(conn: psycopg.Connection, raw_tables: Iterable[str] | None = None) -> None:
    """Create schemas, state tables and the raw tables (default: every table of the registry)."""
    if raw_tables is None:
        from .registry import ENTITIES

        raw_tables = [spec.raw_table for spec in ENTITIES.values()]
    ensure_state(conn)
    for table in raw_tables:
        ensure_raw_table(conn, table)


def new_load_id(source: str, entity: str) -> str:
    return f"{source}.{entity}.{datetime.now().strftime('%Y%m%dT%H%M%S')}.{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------- COPY helpers

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def _json(payload: Mapping[str, Any] | JsonText) -> str:
    if isinstance(payload, str):
        text = payload
    else:
        text = _ENCODE(payload)
        if "\\u0000" in text:  # jsonb cannot store NUL characters
            text = text.replace("\\u0000", "")
    # json.dumps never emits raw tabs/newlines, so only backslashes need COPY escaping
    return text.replace("\\", "\\\\")


def _copy_lines(conn: psycopg.Connection, statement: sql.Composable, lines: Iterable[str], chunk: int = 5000) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= chunk:
                copy.write("".join(buf))
                buf.clear()
        if buf:
            copy.write("".join(buf))


# ---------------------------------------------------------------------------- landing


def land(
    conn: psycopg.Connection,
    raw_table: str,
    records: Iterable[Record],
    *,
    source: str,
    load_id: str,
) -> int:
    """Upsert `(source_key, payload, modified_at)` records into `raw.<raw_table>`.

    Rows are COPYed into a temporary table, then inserted with `on conflict (source_key) do
    update` only where the payload changed (or the row had been marked deleted); into an empty
    table (a first load) they are COPYed directly. A key seen twice in `records` keeps its first
    occurrence. Returns the number of rows inserted or changed. Does not commit.
    """
    table = _raw(raw_table)
    # writers of one raw table queue up; readers (dbt, dashboards) are not blocked
    conn.execute(sql.SQL("lock table {} in share row exclusive mode").format(table))
    seen: set[str] = set()
    if conn.execute(sql.SQL("select not exists (select 1 from {})").format(table)).fetchone() == (True,):
        # first load: nothing to compare with, so COPY straight into the raw table
        loaded_at = conn.execute("select now()").fetchone()[0].isoformat()  # type: ignore[index]
        tail = f"\t{_copy_text(source)}\t{_copy_text(load_id)}\t{loaded_at}\t"

        def direct() -> Iterable[str]:
            for key, payload, modified_at in records:
                key = str(key)
                if key in seen:
                    continue
                seen.add(key)
                modified = modified_at.isoformat() if modified_at is not None else "\\N"
                yield f"{_copy_text(key)}\t{_json(payload)}{tail}{modified}\n"

        _copy_lines(
            conn,
            sql.SQL("copy {} (source_key, payload, _source, _load_id, _loaded_at, _modified_at) from stdin").format(table),
            direct(),
        )
        analyze_if_changed(conn, raw_table, len(seen))
        return len(seen)

    conn.execute(
        "create temp table if not exists _hc_landing (source_key text, payload text, modified_at timestamptz)"
    )
    conn.execute("truncate _hc_landing")

    def lines() -> Iterable[str]:
        for key, payload, modified_at in records:
            key = str(key)
            if key in seen:
                continue
            seen.add(key)
            modified = modified_at.isoformat() if modified_at is not None else "\\N"
            yield f"{_copy_text(key)}\t{_json(payload)}\t{modified}\n"

    _copy_lines(conn, sql.SQL("copy _hc_landing (source_key, payload, modified_at) from stdin"), lines())
    if not seen:
        return 0
    changed = upsert_from_landing_table(conn, raw_table, source, load_id)
    analyze_if_changed(conn, raw_table, changed)
    return changed



def upsert_from_landing_table(conn: psycopg.Connection, raw_table: str, source: str, load_id: str) -> int:
    """Upsert the session's `_hc_landing` rows (source_key, payload, modified_at) into
    raw.<raw_table>: new keys inserted, changed or previously deleted ones updated, unchanged
    ones left alone. Returns the rows inserted or updated. Shared by `land` and the files'
    Arrow fast path."""
    cur = conn.execute(
        sql.SQL(
            """insert into {table} as t
                   (source_key, payload, _source, _load_id, _loaded_at, _modified_at, _deleted_at)
               select source_key, payload::jsonb, %(source)s, %(load_id)s, now(), modified_at, null
               from _hc_landing
               on conflict (source_key) do update set
                   payload = excluded.payload,
                   _source = excluded._source,
                   _load_id = excluded._load_id,
                   _loaded_at = excluded._loaded_at,
                   _modified_at = excluded._modified_at,
                   _deleted_at = null
               where t.payload is distinct from excluded.payload or t._deleted_at is not null"""
        ).format(table=_raw(raw_table)),
        {"source": source, "load_id": load_id},
    )
    return cur.rowcount


def mark_deleted(
    conn: psycopg.Connection,
    raw_table: str,
    live_keys: Iterable[str],
    *,
    scope: tuple[str, Sequence[Any]] | None = None,
) -> int:
    """Set `_deleted_at = now()` on rows whose key is not in `live_keys` (rows are never
    deleted physically). `scope` limits the reconciliation to rows matching an SQL condition
    with `%s` parameters (e.g. documents inside the re-read window). Returns rows marked."""
    table = _raw(raw_table)
    conn.execute("create temp table if not exists _hc_live (source_key text)")
    conn.execute("truncate _hc_live")
    _copy_lines(conn, sql.SQL("copy _hc_live (source_key) from stdin"), (f"{_copy_text(str(k))}\n" for k in live_keys))
    conn.execute("analyze _hc_live")
    condition = sql.SQL("")
    params: list[Any] = []
    if scope is not None:
        condition = sql.SQL(" and (") + sql.SQL(scope[0]) + sql.SQL(")")  # type: ignore[arg-type]
        params = list(scope[1])
    cur = conn.execute(
        sql.SQL(
            """update {table} as t set _deleted_at = now()
               where t._deleted_at is null
                 and not exists (select 1 from _hc_live l where l.source_key = t.source_key){condition}"""
        ).format(table=table, condition=condition),
        params,
    )
    analyze_if_changed(conn, raw_table, cur.rowcount)
    return cur.rowcount


ANALYZED_COLUMNS = ("source_key", "_source", "_load_id", "_loaded_at", "_modified_at", "_deleted_at")


def analyze_if_changed(conn: psycopg.Connection, raw_table: str, changed_rows: int) -> None:
    """`analyze raw.<table>` when a load changed rows (landed, updated or marked deleted).

    Called by `land` and `mark_deleted`, so every loader gets it: the planner sees a raw table's
    real size and value distribution in the same run, before dbt reads it, instead of the
    estimate of an empty or never-analysed table (which autovacuum may or may not have fixed
    by then). It runs inside the load's transaction, which counts the rows it wrote; a load that
    rolls back leaves only the row estimate (PostgreSQL writes it in place), and the next load
    that changes rows analyses again.

    The payload is left out: the models read it through expressions (`payload->>'x'`), which
    the planner estimates without column statistics, and sampling jsonb for them is most of an
    analyse's time. The table's size (reltuples) is set all the same."""
    if changed_rows > 0:
        conn.execute(sql.SQL("analyze {} ({})").format(
            _raw(raw_table), sql.SQL(", ").join(map(sql.Identifier, ANALYZED_COLUMNS))))


def quarantine(
    conn: psycopg.Connection,
    load_id: str,
    source: str,
    rows: Iterable[tuple[QuarantineRow, Mapping[str, Any] | None]],
) -> int:
    """Write rejected rows with the reason to `ingest_state.quarantine`. Returns rows written."""
    count = 0
    with conn.cursor() as cur:
        batch: list[tuple[Any, ...]] = []
        for err, payload in rows:
            batch.append(
                (
                    load_id,
                    source,
                    err.file,
                    err.row,
                    err.field,
                    None if err.value is None else str(err.value),
                    err.reason,
                    None if payload is None else json.dumps(payload, ensure_ascii=False, default=str),
                )
            )
            count += 1
        if batch:
            cur.executemany(
                f"""insert into {STATE_SCHEMA}.quarantine
                    (load_id, source, file, row_number, field, value, reason, payload)
                    values (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)""",
                batch,
            )
    return count


# ---------------------------------------------------------------------------- cursors and load log


def get_cursor(conn: psycopg.Connection, source: str, entity: str) -> dict[str, Any] | None:
    row = conn.execute(
        f"select cursor from {STATE_SCHEMA}.cursors where source = %s and entity = %s", (source, entity)
    ).fetchone()
    return None if row is None else dict(row[0])


def set_cursor(conn: psycopg.Connection, source: str, entity: str, cursor: Mapping[str, Any]) -> None:
    conn.execute(
        f"""insert into {STATE_SCHEMA}.cursors (source, entity, cursor, updated_at)
            values (%s, %s, %s::jsonb, now())
            on conflict (source, entity) do update set cursor = excluded.cursor, updated_at = now()""",
        (source, entity, json.dumps(dict(cursor), default=str)),
    )


# A running load holds a session advisory lock (this class, hashtext(load_id)) on the connection
# that logged its start. A process that is killed loses its connections and so the lock: a
# 'running' row whose lock is free is a load that will never finish.
LOAD_LOCK_CLASS = 1_400_014
ABORTED = "the process running this load ended without finishing it (killed or crashed); nothing of it was kept"


def abort_stale_loads(conn: psycopg.Connection) -> int:
    """Mark 'running' loads whose process is gone as 'aborted'; returns how many."""
    cur = conn.execute(
        f"""update {STATE_SCHEMA}.loads set status = 'aborted', finished_at = now(), error = %s
            where status = 'running' and pg_try_advisory_xact_lock(%s, hashtext(load_id))""",
        (ABORTED, LOAD_LOCK_CLASS),
    )
    return cur.rowcount


def log_load_start(conn: psycopg.Connection, load_id: str, source: str, entity: str) -> None:
    """Log a load as running; `conn` (autocommit) must stay open until `log_load_end`."""
    abort_stale_loads(conn)
    conn.execute("select pg_advisory_lock(%s, hashtext(%s))", (LOAD_LOCK_CLASS, load_id))
    conn.execute(
        f"insert into {STATE_SCHEMA}.loads (load_id, source, entity, status) values (%s, %s, %s, 'running')",
        (load_id, source, entity),
    )


def log_load_end(
    conn: psycopg.Connection,
    load_id: str,
    *,
    status: str,
    rows_landed: int = 0,
    rows_quarantined: int = 0,
    error: str | None = None,
) -> None:
    conn.execute(
        f"""update {STATE_SCHEMA}.loads set finished_at = now(), status = %s, rows_landed = %s,
                rows_quarantined = %s, error = %s where load_id = %s""",
        (status, rows_landed, rows_quarantined, error, load_id),
    )
    conn.execute("select pg_advisory_unlock(%s, hashtext(%s))", (LOAD_LOCK_CLASS, load_id))
