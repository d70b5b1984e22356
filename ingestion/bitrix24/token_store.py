"""Rotated OAuth refresh tokens, kept in the warehouse (`ingest_state.oauth_tokens`).

Bitrix24 invalidates a refresh token once it has issued the next one, so the new token must be
durable before the new access token is used (`OAuthAuth.refresh` stores it before it returns),
and two processes must not trade the same token at once (`locked`).

- PostgreSQL: one row per portal, upserted in its own autocommitted (fsynced) statement;
  refreshes are serialised by a session-level advisory lock per portal, across every host that
  uses the warehouse.
- ClickHouse: one version per save in a ReplacingMergeTree keyed by portal (`_version` = the
  save's time in ns), read with argMax; the table fsyncs each insert (`fsync_after_insert`) and the
  insert is synchronous (`async_insert=0`), so a save that returned survives a crash of either
  process. ClickHouse has no lock a client can take: refreshes are serialised by an exclusive
  file lock per warehouse and portal (`fcntl.flock` in the temp directory), which covers the
  processes of one host (the Dagster steps of one run). Processes on two hosts are not
  serialised: if both trade the same token, the portal accepts one and answers the other
  `invalid_grant`, and that one takes the token the winner stored (`OAuthAuth.refresh` waits
  `rotation_wait_s` for it) and trades it in turn.
"""
from __future__ import annotations

import fcntl
import hashlib
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from hc_base.redact import redact

from ..landing import STATE_SCHEMA, ensure_state


class TokenStoreError(RuntimeError):
    """The warehouse could not read or store a refresh token (the message never holds one)."""


class PostgresTokenStore:
    def __init__(self, warehouse_url: str) -> None:
        self.warehouse_url = warehouse_url

    def load(self, portal_url: str) -> str | None:
        with psycopg.connect(self.warehouse_url, autocommit=True) as conn:
            ensure_state(conn)
            row = conn.execute(
                f"select refresh_token from {STATE_SCHEMA}.oauth_tokens where portal_url = %s", (portal_url,)
            ).fetchone()
        return None if row is None else str(row[0])

    def save(self, portal_url: str, refresh_token: str) -> None:
        # committed at once: the old token is already invalid once a new one is issued
        with psycopg.connect(self.warehouse_url, autocommit=True) as conn:
            ensure_state(conn)
            conn.execute(
                f"""insert into {STATE_SCHEMA}.oauth_tokens (portal_url, refresh_token, updated_at)
                    values (%s, %s, now())
                    on conflict (portal_url) do update set refresh_token = excluded.refresh_token,
                        updated_at = now()""",
                (portal_url, refresh_token),
            )

    @contextmanager
    def locked(self, portal_url: str) -> Iterator[None]:
        """A session-level advisory lock per portal, held while one process refreshes."""
        key = zlib.crc32(f"happyclient.oauth:{portal_url}".encode())
        with psycopg.connect(self.warehouse_url, autocommit=True) as conn:
            conn.execute("select pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("select pg_advisory_unlock(%s)", (key,))

    def __repr__(self) -> str:
        return "PostgresTokenStore(warehouse_url='***')"


class ClickHouseTokenStore:
    """`ingest_state.oauth_tokens` on a ClickHouse warehouse (`clickhouse://`, `chdb:///dir`)."""

    TABLE = "ingest_state.oauth_tokens"
    # processes on two hosts are not serialised: after invalid_grant, wait this long for the
    # token the other one stores (OAuthAuth.refresh)
    rotation_wait_s = 5.0

    def __init__(self, warehouse_url: str, lock_dir: Path | None = None) -> None:
        self.warehouse_url = warehouse_url
        self.lock_dir = lock_dir or Path(tempfile.gettempdir())

    @contextmanager
    def _client(self, doing: str) -> Iterator[Any]:
        from .. import clickhouse_landing as ch

        handle = None
        try:
            handle = ch.connect(self.warehouse_url)
            ch.ensure_state(handle)
            yield handle
        except Exception as exc:
            # the driver's message names the statement, never the inserted values; redacted anyway
            raise TokenStoreError(
                f"{doing} {self.TABLE}: {redact(f'{type(exc).__name__}: {exc}')[:500]}") from None
        finally:
            if handle is not None:
                handle.close()

    def load(self, portal_url: str) -> str | None:
        with self._client("could not read the OAuth refresh token from") as handle:
            rows = handle.query(
                f"select argMax(refresh_token, _version) from {self.TABLE} where portal_url = {{portal:String}}"
                " having count() > 0",
                parameters={"portal": portal_url},
            ).result_rows
        return None if not rows else str(rows[0][0])

    def save(self, portal_url: str, refresh_token: str) -> None:
        # synchronous and fsynced (the table's settings): the old token is already invalid
        with self._client("could not store the rotated OAuth refresh token in") as handle:
            handle.insert(
                self.TABLE,
                [[portal_url, refresh_token, datetime.now(UTC), time.time_ns()]],
                column_names=["portal_url", "refresh_token", "updated_at", "_version"],
                settings={"async_insert": 0},
            )

    def lock_path(self, portal_url: str) -> Path:
        """One lock file per warehouse (without its password) and portal."""
        parts = urlsplit(self.warehouse_url)
        where = f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}{parts.path}|{portal_url}"
        return self.lock_dir / f"happyclient-oauth-{hashlib.sha256(where.encode()).hexdigest()[:16]}.lock"

    @contextmanager
    def locked(self, portal_url: str) -> Iterator[None]:
        """An exclusive file lock per warehouse and portal, held while one process refreshes
        (the processes of this host; see the module's docstring for two hosts)."""
        with self.lock_path(portal_url).open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def __repr__(self) -> str:
        return "ClickHouseTokenStore(warehouse_url='***')"


def token_store(warehouse_url: str) -> PostgresTokenStore | ClickHouseTokenStore:
    """The token store of the warehouse's engine."""
    from hc_base.warehouse_url import is_clickhouse_url

    return ClickHouseTokenStore(warehouse_url) if is_clickhouse_url(warehouse_url) else PostgresTokenStore(warehouse_url)
