"""Shared fixtures: a real PostgreSQL server for the whole session and fresh databases.

HAPPYCLIENT_TEST_PG_URL (an admin URL such as postgresql://postgres@127.0.0.1:5432/postgres)
points the suite at an existing server; without it an embedded PostgreSQL is started in
.data/test-postgres (the same code path `happyclient` uses when WAREHOUSE_URL is unset).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.e2e_fixtures"]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("HAPPYCLIENT_TEST_PG_URL")
    if url:
        yield url
        return
    from happyclient.warehouse import EmbeddedPostgres

    # the throwaway test server keeps trust authentication (the product's embedded warehouse uses
    # scram; tests/platform/test_warehouse.py checks that), so tests can log in as any role
    server = EmbeddedPostgres(
        PROJECT_ROOT / ".data" / "test-postgres", port=int(os.environ.get("HAPPYCLIENT_TEST_PG_PORT", "55433")), auth="trust"
    )
    already_running = server.is_running()
    server.start()
    yield server.admin_url()
    if not already_running:  # leave a server someone else started alone
        server.stop()


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


@dataclass(frozen=True)
class DemoWarehouse:
    """A warehouse built by the whole pipeline from generated demo data (see `demo_warehouse`)."""

    url: str  # the warehouse database, marts filled, dbt tests run
    data_dir: Path  # the generated demo files: bitrix24/*.jsonl, onec/*.jsonl, files/
    as_of: date
    clients: int
    run_success: bool  # the Dagster run succeeded (every step, incl. dbt tests)
    step_errors: dict[str, str]


DEMO_TEST_CLIENTS = 300


@pytest.fixture(scope="session")
def demo_warehouse(pg_admin_url: str) -> Iterator[DemoWarehouse]:
    """The finished demo pipeline, once per session: ~300 generated clients served by the fake
    Bitrix24 and 1C servers, loaded and built by the Dagster job in-process, exactly as
    `happyclient demo --no-serve` does (Superset left out). Tests reading marts reuse it."""
    from happyclient.console import Console
    from happyclient.demo import prepare_demo
    from happyclient.pipeline import run_pipeline

    with scratch_pipeline(pg_admin_url, "demo") as (url, settings):
        data, env = prepare_demo(settings, url, clients=DEMO_TEST_CLIENTS, seed=42, console=Console())
        result = run_pipeline(env, exclude_groups=("superset",))
        yield DemoWarehouse(url, data.path, data.as_of, data.clients, result.success, dict(result.errors))


@contextmanager
def scratch_pipeline(pg_admin_url: str, prefix: str) -> Iterator[tuple[str, Any]]:
    """A new warehouse database (schemas made) and the Settings of a run of its own, for a test
    that runs the whole pipeline; afterwards the demo fakes it started are stopped, its run
    directory removed and the database dropped (kept with HAPPYCLIENT_KEEP_TEST_DB)."""
    from happyclient.demo import stop_fakes
    from happyclient.warehouse import ensure_schemas
    from hc_base.settings import Settings

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _replace_db(pg_admin_url, name)
    state = PROJECT_ROOT / ".data" / "test-demo"
    run_dir = state / f"run-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=run_dir, superset_admin_password="not-used-in-tests", demo_cache_dir=state / "data")
    try:
        ensure_schemas(url)
        yield url, settings
    finally:
        stop_fakes(settings)
        shutil.rmtree(run_dir, ignore_errors=True)
        if not os.environ.get("HAPPYCLIENT_KEEP_TEST_DB"):
            _drop_database(pg_admin_url, name)


def _drop_database(admin_url: str, name: str, attempts: int = 5) -> None:
    """Drop `name`, retrying while a just-killed client (a dbt subprocess) still reconnects."""
    import time

    for attempt in range(attempts):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
            return
        except psycopg.errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(1 + attempt)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo data set shared by the fake-server tests (read-only)."""
    from hc_demo import generate

    out = tmp_path_factory.mktemp("fakes-demo")
    generate(out, seed=21, clients=120)
    return out


@pytest.fixture(scope="session")
def chdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """`chdb:///dir`, the pytest process's one chDB directory: chDB opens a single directory per
    process, so every in-process ClickHouse test shares it (tests/clickhouse/)."""
    pytest.importorskip("chdb")
    pytest.importorskip("clickhouse_connect")
    return f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def make_chdb_warehouse(chdb_url: str) -> Callable[[], str]:
    """Empties the shared chDB directory's warehouse (the databases of ingestion dropped) and
    returns its URL: a fresh warehouse each call, as `make_database` gives on Postgres."""
    def _make() -> str:
        from hc_base.clickhouse import client

        with client(chdb_url) as handle:
            for database in ("raw", "ingest_state"):
                handle.command(f"drop database if exists {database} sync")
        return chdb_url

    return _make


@pytest.fixture
def chdb_warehouse(make_chdb_warehouse: Callable[[], str]) -> str:
    return make_chdb_warehouse()


# --- markers from what a test uses, so `-m "not browser"`, `-m "not superset"` etc. select truly -----
# A marker applied by hand drifts as fixtures move; the fixtures a test requests say what it needs.
_MARKERS_BY_FIXTURE = {
    "superset": ("superset", "slow"),
    "demo_warehouse": ("integration", "slow"),
    "warehouse_url": ("integration", "slow"),
    "pg_admin_url": ("slow",),
    "chdb_url": ("clickhouse",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_dir = PROJECT_ROOT / "tests" / "browser"
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        wanted: set[str] = set()
        for fixture, markers in _MARKERS_BY_FIXTURE.items():
            if fixture in names:
                wanted.update(markers)
        if browser_dir in Path(str(item.fspath)).parents:
            wanted.update(("browser", "superset", "slow"))
        present = {m.name for m in item.iter_markers()}
        for marker in sorted(wanted - present):
            item.add_marker(getattr(pytest.mark, marker))
