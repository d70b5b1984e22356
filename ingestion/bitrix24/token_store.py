"""Rotated OAuth refresh tokens, kept in the warehouse (`ingest_state.oauth_tokens`)."""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from ..landing import STATE_SCHEMA, ensure_state


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
