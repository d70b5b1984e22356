"""The whole dbt project lints clean with sqlfluff (templater dbt, config in pyproject.toml).

The dbt templater compiles every model, and dbt opens a connection while compiling (relation
checks of incremental models), so the lint runs against a fresh empty database of the test server.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
SQLFLUFF = Path(sys.executable).parent / "sqlfluff"


def test_dbt_project_lints_clean(make_database: Callable[[str], str]) -> None:
    url = urlsplit(make_database("sqlfluff"))
    env = dict(os.environ, HAPPYCLIENT_PG_HOST=url.hostname or "127.0.0.1", HAPPYCLIENT_PG_PORT=str(url.port or 5432),
               HAPPYCLIENT_PG_USER=url.username or "postgres", HAPPYCLIENT_PG_PASSWORD=url.password or "",
               HAPPYCLIENT_PG_DBNAME=url.path.lstrip("/"))
    result = subprocess.run([str(SQLFLUFF), "lint", "dbt_project", "--processes", "2", "--disable-progress-bar",
                             "--nocolor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    violations = [line for line in result.stdout.splitlines() if line.startswith(("L:", "== ["))]
    assert result.returncode == 0, "sqlfluff found problems:\n" + "\n".join(violations)[-6000:] + result.stderr[-2000:]
    assert "All Finished" in result.stdout + result.stderr
