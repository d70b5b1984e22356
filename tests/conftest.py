"""Shared fixtures: a real PostgreSQL server for the whole session and fresh databases.

HAPPYCLIENT_TEST_PG_URL (an admin URL such as postgresql://postgres@127.0.0.1:5432/postgres)
points the suite at an existing server; without it an embedded PostgreSQL is started in
.data/test-postgres (the same code path `happyclient` uses when WAREHOUSE_URL is unset).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("HAPPYCLIENT_TEST_PG_URL")
    if url:
        yield url
        return
    from happyclient.warehouse import EmbeddedPostgres

    server = EmbeddedPostgres(PROJECT_ROOT / ".data" / "test-postgres", port=int(os.environ.get("HAPPYCLIENT_TEST_PG_PORT", "55433")))
    server.start()
    yield server.admin_url()


@pytest.fixture
def make_database(pg_admin_url: str) -> Iterator[Callable[[str], str]]:
    """Create uniquely named empty databases; drop them after the test. Returns their URLs."""
    created: list[str] = []

    def _make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        created.append(name)
        return _replace_db(pg_admin_url, name)

    yield _make
    for name in created:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _replace_db(url: str, dbname: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))
