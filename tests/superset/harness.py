"""Shared pieces of the Superset and browser tests: a warehouse with marts, a fresh Superset.

`build_demo_warehouse(url)` is the one place that decides how the test warehouse is filled;
swap it for the platform's full-pipeline fixture when that exists. Set
HAPPYCLIENT_E2E_WAREHOUSE_URL to test against an already built warehouse instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from happyclient.superset.server import SupersetServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "superset_assets"
MINIMAL_MARTS_SQL = Path(__file__).resolve().parent / "fixtures" / "marts_minimal.sql"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "test-admin-Pa55"
USER_PASSWORD = "test-user-Pa55"
TEMPLATE_DIR = PROJECT_ROOT / ".data" / "superset-test-template"


def build_demo_warehouse(url: str) -> None:
    """Fill the empty database at ``url`` with the marts the dashboards read.

    For now: the hand-made marts in fixtures/marts_minimal.sql (fixed numbers, the KPI.md
    Санкт-Петербург check row). Replace the body with the full pipeline (demo generator + dbt
    build) once it runs end to end; the tests query the marts for expected values, so they
    do not depend on which builder filled them.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(MINIMAL_MARTS_SQL.read_text(encoding="utf-8"))


def _with_db(url: str, dbname: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password and "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{password}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, parts.fragment))


def warehouse_fixture(pg_admin_url: str) -> Iterator[str]:
    """Yield a warehouse URL with marts. The URL carries a password (ignored by trust auth on
    the test server) so the tests can prove it never reaches the exported YAML."""
    given = os.environ.get("HAPPYCLIENT_E2E_WAREHOUSE_URL")
    if given:
        yield given
        return
    name = f"ss_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(pg_admin_url, name)
    try:
        build_demo_warehouse(url)
        yield _with_db(pg_admin_url, name, password="wh-secret-Pa55") if "@" in urlsplit(url).netloc else url
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningSuperset:
    server: SupersetServer
    url: str
    user: str = ADMIN_USER
    password: str = ADMIN_PASSWORD


_RUNNING: dict[str, RunningSuperset] = {}


def superset_fixture(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> RunningSuperset:
    """One fresh Superset (fresh sqlite metadata in a tmp dir) per test session, shared by the
    superset and browser test folders. The initialised metadata db is cached in
    .data/superset-test-template so a session starts in seconds, not a minute."""
    if "server" in _RUNNING:
        return _RUNNING["server"]
    if not (PROJECT_ROOT / ".venv-superset" / "bin" / "superset").exists():
        pytest.skip("Superset virtualenv .venv-superset is missing (see superset/requirements.txt)")
    template = SupersetServer(TEMPLATE_DIR)
    template.init(ADMIN_USER, ADMIN_PASSWORD)  # no-op when the cached template is current
    data_dir = tmp_path_factory.mktemp("superset")
    for name in ("superset.db", "secret_key", "init.stamp"):
        shutil.copy2(TEMPLATE_DIR / name, data_dir / name)
    server = SupersetServer(data_dir, port=free_port())
    assert server.init(ADMIN_USER, ADMIN_PASSWORD) is False  # the copied template is current
    server.start()
    running = RunningSuperset(server=server, url=server.url)
    _RUNNING["server"] = running
    request.session.config.add_cleanup(server.stop)  # type: ignore[attr-defined]
    return running
