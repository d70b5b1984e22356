"""Where the warehouse is: the parts of a PostgreSQL URL and the variables dbt reads from them.

A ClickHouse warehouse (issue 13) is `clickhouse://user:password@host:8123/` (HTTP;
`clickhouses://` for TLS, port 8443), optionally `?cluster=<name>` for a cluster (ON CLUSTER DDL):
`dbt_env` then selects target `clickhouse` of dbt_project/profiles.yml and sets its HAPPYCLIENT_CH_*
variables. `chdb:///dir` (ClickHouse in process) is for the tests only: dbt reaches it through the
test shim tests/clickhouse/chdb_dbt.py, which reads HAPPYCLIENT_CHDB_PATH.

Every package may import this (no server is started here; `happyclient.warehouse` runs the
embedded one)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from hc_base.redact import redact, register_secret

DATABASE = "happyclient"
SUPERUSER = "postgres"


class WarehouseError(RuntimeError):
    """The warehouse cannot be started, reached or configured; the message says what to do."""


@dataclass(frozen=True)
class ConnectionParts:
    """The pieces of a PostgreSQL URL. `password` is never part of `repr()`."""

    host: str
    port: int
    user: str
    dbname: str
    sslmode: str | None
    password: str | None = None

    def __repr__(self) -> str:
        pw = "***" if self.password else None
        return (
            f"ConnectionParts(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"dbname={self.dbname!r}, sslmode={self.sslmode!r}, password={pw!r})"
        )


def parse_url(url: str) -> ConnectionParts:
    """Split a `postgresql://user:pass@host:port/db?sslmode=...&host=/socket/dir` URL.

    A `host=` query parameter (a unix socket directory) wins over the network location, as in
    libpq. Raises `WarehouseError` (without the password) for anything that is not such a URL.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise WarehouseError(
            f"WAREHOUSE_URL must look like postgresql://user:password@host:5432/dbname, got {redact(url)!r}"
        )
    query = parse_qs(parts.query)
    password = unquote(parts.password) if parts.password else None
    register_secret(password)
    host = query.get("host", [None])[0] or parts.hostname or "127.0.0.1"
    try:
        port = int(query.get("port", [None])[0] or parts.port or 5432)
    except ValueError:
        raise WarehouseError(f"the port in WAREHOUSE_URL must be a number: {redact(url)!r}") from None
    dbname = unquote(parts.path.lstrip("/")) or DATABASE
    return ConnectionParts(
        host=host,
        port=port,
        user=unquote(parts.username) if parts.username else SUPERUSER,
        dbname=dbname,
        sslmode=query.get("sslmode", [None])[0],
        password=password,
    )


def with_database(url: str, dbname: str) -> str:
    """The same URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


CLICKHOUSE_SCHEMES = ("clickhouse", "clickhouses", "chdb")


def is_clickhouse_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in CLICKHOUSE_SCHEMES


def clickhouse_dbt_env(url: str) -> dict[str, str]:
    """Target `clickhouse` of profiles.yml and its HAPPYCLIENT_CH_* variables, for a ClickHouse URL.
    The URL's database part is not used: the layers are the databases raw, staging, intermediate
    and marts."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        if not parts.path:
            raise WarehouseError("a chDB warehouse URL is chdb:///path/to/dir")
        return {"HAPPYCLIENT_DBT_TARGET": "clickhouse", "HAPPYCLIENT_CHDB_PATH": unquote(parts.path)}
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise WarehouseError(f"not a ClickHouse URL (clickhouse://, clickhouses://, chdb://): {redact(url)!r}")
    secure = parts.scheme == "clickhouses"
    password = unquote(parts.password) if parts.password else ""
    register_secret(password or None)
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError:
        raise WarehouseError(f"the port in WAREHOUSE_URL must be a number: {redact(url)!r}") from None
    env = {
        "HAPPYCLIENT_DBT_TARGET": "clickhouse",
        "HAPPYCLIENT_CH_HOST": parts.hostname or "127.0.0.1",
        "HAPPYCLIENT_CH_PORT": str(port),
        "HAPPYCLIENT_CH_USER": unquote(parts.username) if parts.username else "default",
        "HAPPYCLIENT_CH_PASSWORD": password,
        "HAPPYCLIENT_CH_SECURE": "true" if secure else "false",
    }
    cluster = parse_qs(parts.query).get("cluster", [""])[0]
    if cluster:
        env["HAPPYCLIENT_CH_CLUSTER"] = cluster
    return env


def dbt_env(url: str) -> dict[str, str]:
    """The variables `dbt_project/profiles.yml` reads for the warehouse in `url`: HAPPYCLIENT_PG_*
    (target warehouse) for PostgreSQL, target clickhouse and HAPPYCLIENT_CH_* for ClickHouse."""
    if is_clickhouse_url(url):
        return clickhouse_dbt_env(url)
    parts = parse_url(url)
    env = {
        "HAPPYCLIENT_PG_HOST": parts.host,
        "HAPPYCLIENT_PG_PORT": str(parts.port),
        "HAPPYCLIENT_PG_USER": parts.user,
        "HAPPYCLIENT_PG_PASSWORD": parts.password or "",
        "HAPPYCLIENT_PG_DBNAME": parts.dbname,
    }
    if parts.sslmode:
        env["HAPPYCLIENT_PG_SSLMODE"] = parts.sslmode
    elif parts.host.startswith("/"):
        env["HAPPYCLIENT_PG_SSLMODE"] = "disable"
    env["PGOPTIONS"] = dbt_pg_options(os.environ.get("PGOPTIONS", ""))
    return env


def dbt_pg_options(options: str) -> str:
    """libpq's PGOPTIONS for dbt's sessions: the user's own, plus `jit=off` unless they set jit.

    With JIT on, PostgreSQL 15 took over 10 minutes for `purchase_periodicity` at 100k clients /
    10M lines where the same SELECT takes 9 s with JIT off (its hash aggregate spills to disk in 81
    batches; measured 2026-12-05 with EXPLAIN ANALYZE on the bench/scale warehouse). The marts'
    queries are few and long, so JIT's compile time buys little elsewhere either."""
    if "jit=" in options.replace(" ", ""):
        return options
    return f"{options} -c jit=off".strip()
