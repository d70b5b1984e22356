"""Fixtures for the dbt tests: a fresh database with raw tables and a dbt runner bound to it."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"


@dataclass
class DbtDatabase:
    """A database for one test module and how to run dbt against it."""

    url: str
    target_path: Path

    def env(self) -> dict[str, str]:
        parts = urlsplit(self.url)
        env = dict(os.environ)
        env.update({
            "HAPPYCLIENT_PG_HOST": parts.hostname or "127.0.0.1",
            "HAPPYCLIENT_PG_PORT": str(parts.port or 5432),
            "HAPPYCLIENT_PG_USER": parts.username or "postgres",
            "HAPPYCLIENT_PG_PASSWORD": parts.password or "",
            "HAPPYCLIENT_PG_DBNAME": parts.path.lstrip("/"),
            "HAPPYCLIENT_DBT_THREADS": "2",
        })
        return env

    def dbt(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `dbt <args>` in dbt_project/; on failure with check, fail with dbt's output tail."""
        cmd = [str(DBT_EXECUTABLE), *args, "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
               "--target-path", str(self.target_path), "--log-path", str(self.target_path / "logs")]
        result = subprocess.run(cmd, cwd=DBT_PROJECT, env=self.env(), capture_output=True, text=True, timeout=1200)
        if check and result.returncode != 0:
            pytest.fail(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
        return result


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@pytest.fixture(scope="module")
def dbt_database(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtDatabase]:
    """A fresh database (prefix dbt_) for the whole module, dropped afterwards."""
    name = f"dbt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield DbtDatabase(_with_db(pg_admin_url, name), tmp_path_factory.mktemp("dbt_target"))
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
