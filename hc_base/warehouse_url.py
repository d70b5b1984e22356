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


class ClickHouseUrlError(WarehouseError, ValueError):
    """WAREHOUSE_URL is not a usable ClickHouse URL (a ValueError too: the callers of
    `hc_base.clickhouse.connect` and of Superset's URI builder catch that)."""


@dataclass(frozen=True)
class ClickHouseTarget:
    """A ClickHouse WAREHOUSE_URL, parsed once for every user (the clickhouse-connect client, dbt's
    profile variables, Superset's connection). `chdb_path` is set for `chdb:///dir` (ClickHouse in
    process, tests only), and then the server fields keep their defaults. The URL's database part
    is not kept: the layers are the databases raw, staging, intermediate and marts. `password` is
    never part of `repr()` or `str()`."""

    host: str = "127.0.0.1"
    port: int = 8123
    user: str = "default"
    password: str = ""
    secure: bool = False
    cluster: str | None = None
    chdb_path: str | None = None

    def __repr__(self) -> str:
        if self.chdb_path is not None:
            return f"ClickHouseTarget(chdb_path={self.chdb_path!r})"
        return (
            f"ClickHouseTarget(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"password={'***' if self.password else ''!r}, secure={self.secure}, cluster={self.cluster!r})"
        )

    __str__ = __repr__


def parse_clickhouse_url(url: str) -> ClickHouseTarget:
    """`clickhouse://user:password@host:8123/` (HTTP), `clickhouses://…` (TLS, port 8443 by
    default), `?cluster=<name>` for ON CLUSTER DDL, or `chdb:///path/to/dir`. User and password are
    percent-decoded; the password is registered as a secret. Raises `ClickHouseUrlError` (the URL
    redacted) for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        if not parts.path:
            raise ClickHouseUrlError("a chDB warehouse URL is chdb:///path/to/dir")
        return ClickHouseTarget(chdb_path=unquote(parts.path))
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise ClickHouseUrlError(f"not a ClickHouse URL (clickhouse://, clickhouses://, chdb://): {redact(url)!r}")
    secure = parts.scheme == "clickhouses"
    password = unquote(parts.password) if parts.password else ""
    register_secret(password or None)
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError:
        raise ClickHouseUrlError(f"the port in WAREHOUSE_URL must be a number: {redact(url)!r}") from None
    return ClickHouseTarget(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username) if parts.username else "default",
        password=password,
        secure=secure,
        cluster=parse_qs(parts.query).get("cluster", [""])[0] or None,
    )


def clickhouse_dbt_env(url: str) -> dict[str, str]:
    """Target `clickhouse` of profiles.yml and its HAPPYCLIENT_CH_* variables, for a ClickHouse URL
    (`parse_clickhouse_url`)."""
    target = parse_clickhouse_url(url)
    if target.chdb_path is not None:
        return {"HAPPYCLIENT_DBT_TARGET": "clickhouse", "HAPPYCLIENT_CHDB_PATH": target.chdb_path}
    env = {
        "HAPPYCLIENT_DBT_TARGET": "clickhouse",
        "HAPPYCLIENT_CH_HOST": target.host,
        "HAPPYCLIENT_CH_PORT": str(target.port),
        "HAPPYCLIENT_CH_USER": target.user,
        "HAPPYCLIENT_CH_PASSWORD": target.password,
        "HAPPYCLIENT_CH_SECURE": "true" if target.secure else "false",
    }
    if target.cluster:
        env["HAPPYCLIENT_CH_CLUSTER"] = target.cluster
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
