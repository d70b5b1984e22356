"""The two builds the ClickHouse tests compare, once per session: tests/dbt's raw test dataset
landed into chDB through ingestion/clickhouse_landing.py and built there with `dbt build` (test
shim tests/clickhouse/chdb_dbt.py), and the same rows on a fresh Postgres database built with
`dbt seed` + `dbt run`. test_dbt_on_chdb.py compares their marts, test_superset_on_chdb.py the
charts Superset draws from them."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
HERE = Path(__file__).resolve().parent
AS_OF = "2025-06-30"
VARS = json.dumps({"as_of_date": AS_OF})
sys.path.insert(0, str(ROOT / "tests" / "dbt"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """A missing package skips on a developer's machine; in CI (CI=true, where ./scripts/bootstrap
    installed everything) it is a broken build and fails. Works in a test and at a module's top."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: ./scripts/bootstrap should have installed it)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require(module: str) -> object:
    """`pytest.importorskip` that fails in CI: the ClickHouse extra (chdb, dbt-clickhouse) is part of
    ./scripts/bootstrap, so in CI a missing one is a broken build, not a skip."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        missing(f"{module} is not installed ({error}); pip install -e '.[clickhouse]'")
        raise  # unreachable: missing() skips or fails


def _python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def _dbt_chdb(path: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HAPPYCLIENT_CHDB_PATH=str(path), HAPPYCLIENT_DBT_TARGET="clickhouse", HAPPYCLIENT_DBT_THREADS="1")
    return subprocess.run(
        [sys.executable, str(HERE / "chdb_dbt.py"), *args, "--vars", VARS, "--profiles-dir", str(DBT_PROJECT),
         "--project-dir", str(DBT_PROJECT), "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=1200,
    )


@pytest.fixture(scope="session")
def chdb_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    work = tmp_path_factory.mktemp("chdb_dbt")
    path = work / "chdb"
    landed = _python(str(HERE / "chdb_run.py"), "land", str(path))
    assert landed.returncode == 0, landed.stderr[-3000:]
    return path, _dbt_chdb(path, work, "build", "--exclude", "tag:not_on_clickhouse")


@pytest.fixture(scope="session")
def postgres_url(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same raw rows on Postgres, built with `dbt seed` + `dbt run`."""
    from raw_dataset import land

    from ingestion.landing import ensure_state
    from predictions.model import DDL as PREDICTIONS_DDL
    from tests.clickhouse.chdb_run import dataset

    name = f"chcmp_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    parts = urlsplit(pg_admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    work = tmp_path_factory.mktemp("pg_dbt")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            land(conn, dataset())
            ensure_state(conn)
            conn.execute(PREDICTIONS_DDL)
        env = dict(os.environ, HAPPYCLIENT_PG_HOST=parts.hostname or "127.0.0.1", HAPPYCLIENT_PG_PORT=str(parts.port or 5432),
                   HAPPYCLIENT_PG_USER=parts.username or "postgres", HAPPYCLIENT_PG_PASSWORD=parts.password or "",
                   HAPPYCLIENT_PG_DBNAME=name, HAPPYCLIENT_DBT_THREADS="2", HAPPYCLIENT_DBT_TARGET="warehouse")
        dbt = str(Path(sys.executable).parent / "dbt")
        for args in (["seed"], ["run"]):
            result = subprocess.run([dbt, *args, "--vars", VARS, "--profiles-dir", str(DBT_PROJECT), "--project-dir",
                                     str(DBT_PROJECT), "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
                                    cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=1200)
            assert result.returncode == 0, result.stdout[-4000:]
        yield url
    finally:
        from hc_base.warehouse_access import role_prefix

        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
            # the login roles Superset's import creates for this database (cluster-wide)
            for (role,) in conn.execute("select rolname from pg_roles where rolname like %s",
                                        (role_prefix(name).replace("_", r"\_") + r"\_%",)).fetchall():
                conn.execute(f'drop role if exists "{role}"')
