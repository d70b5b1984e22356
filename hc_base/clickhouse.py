"""A ClickHouse warehouse (issue 13) for the product's Python steps, through clickhouse-connect.

`connect(url)` is the client for `clickhouse://user:password@host:8123/` (HTTP), `clickhouses://`
(TLS, 8443) or `chdb:///dir` (the engine in process; tests only, one process at a time may open a
directory, so every user here closes its client when done). `warehouse(url)` opens the warehouse
of either engine behind the few DB-API calls the predictions and the write-back use
(`execute(sql, params).fetchone()/.fetchall()`, `commit()`), so their queries stay one text:
`%s` parameters are bound client side by clickhouse-connect on ClickHouse, by psycopg on Postgres.

Every package may import this (no server is started here; clickhouse_connect and psycopg are
imported when a connection is opened).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from hc_base.warehouse_url import is_clickhouse_url, parse_clickhouse_url

# the databases of a ClickHouse warehouse (the schemas of a Postgres one)
DATABASES = ("raw", "ingest_state", "staging", "intermediate", "marts", "predictions")
# as in SQL: a LEFT JOIN miss is NULL (ClickHouse: the type's default value) and a cast keeps NULL (ClickHouse: an error)
SESSION_SETTINGS = {"join_use_nulls": 1, "cast_keep_nullable": 1}


def connect(url: str, settings: dict[str, Any] | None = None) -> Any:
    """A clickhouse-connect client for `clickhouse://…`, `clickhouses://…` or `chdb:///dir`."""
    import clickhouse_connect

    target = parse_clickhouse_url(url)
    if target.chdb_path is not None:
        return clickhouse_connect.get_client(interface="chdb", path=target.chdb_path, settings=settings)
    return clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.user,
        password=target.password,
        secure=target.secure,
        settings=settings,
    )


@contextmanager
def client(url: str, settings: dict[str, Any] | None = None) -> Iterator[Any]:
    """`connect(url)`, closed at the end of the block."""
    handle = connect(url, settings)
    try:
        yield handle
    finally:
        handle.close()


def ensure_databases(handle: Any, databases: Sequence[str] = DATABASES) -> None:
    for name in databases:
        handle.command(f"create database if not exists {name}")


class _Rows:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)


class ClickHouseConnection:
    """The DB-API subset the engine-neutral code uses, over a clickhouse-connect client. There are
    no transactions: `commit()` does nothing, every statement is final when it returns."""

    engine = "clickhouse"

    def __init__(self, handle: Any) -> None:
        self.client = handle

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> _Rows:
        text = sql.strip()
        if text.lower().startswith(("select", "with", "exists", "show")):
            result = self.client.query(text, parameters=tuple(params) if params is not None else None)
            return _Rows([tuple(row) for row in result.result_rows])
        self.client.command(text, parameters=tuple(params) if params is not None else None)
        return _Rows([])

    def insert(self, table: str, rows: list[Sequence[Any]], columns: Sequence[str]) -> None:
        if rows:
            self.client.insert(table, [list(r) for r in rows], column_names=list(columns))

    def table_exists(self, qualified: str) -> bool:
        database, table = qualified.split(".", 1)
        result = self.client.query(
            "select count() from system.tables where database = %s and name = %s", parameters=(database, table)
        )
        return bool(result.result_rows[0][0])

    def commit(self) -> None:
        return None

    def close(self) -> None:
        self.client.close()


def engine_of(conn: Any) -> str:
    """`clickhouse` for a `ClickHouseConnection`, else `postgres` (a psycopg connection)."""
    return getattr(conn, "engine", "postgres")


@contextmanager
def warehouse(url: str) -> Iterator[Any]:
    """A psycopg connection (Postgres) or a `ClickHouseConnection` (ClickHouse), closed after the
    block; on Postgres the block's work is committed when it ends without an error."""
    if is_clickhouse_url(url):
        conn = ClickHouseConnection(connect(url, SESSION_SETTINGS))
        try:
            yield conn
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url) as pg:
        yield pg
