"""Test helper run as a subprocess: the Dagster job `happyclient_pipeline` (happyclient.pipeline.
run_pipeline, as `happyclient pipeline --no-superset` runs it) on a chDB warehouse.

The product runs dbt-clickhouse against a server; for chDB the dbt steps run the test-only shim
tests/clickhouse/chdb_dbt.py instead of `dbt` (a wrapper script given to dagster-dbt as its dbt
executable). Everything else (landing, predictions, write-back) is the product's code on the URL
in WAREHOUSE_URL. One process at a time may open a chDB directory: every product step closes its
client when done, and the dbt subprocess opens the directory in between.

    python tests/clickhouse/chdb_pipeline.py <env.json> <work dir>   # writes <work dir>/result.json
"""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def dbt_wrapper(work: Path) -> Path:
    script = work / "dbt-on-chdb"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "tests" / "clickhouse" / "chdb_dbt.py"}" "$@"\n',
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def main(env_file: str, work_dir: str) -> None:
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    env = json.loads(Path(env_file).read_text(encoding="utf-8"))
    wrapper = dbt_wrapper(work)

    from dagster_dbt import DbtCliResource

    import orchestration.dbt as odbt

    def dbt_on_chdb() -> DbtCliResource:
        return DbtCliResource(project_dir=odbt.dbt_project, profiles_dir=str(odbt.DBT_PROJECT_DIR),
                              dbt_executable=str(wrapper))

    odbt.dbt_resource = dbt_on_chdb  # read by orchestration.definitions when it is imported below
    os.environ.setdefault("HAPPYCLIENT_DBT_THREADS", "1")
    from happyclient.pipeline import run_pipeline

    result = run_pipeline(env, exclude_groups=("superset",))
    (work / "result.json").write_text(
        json.dumps({"success": result.success, "steps": result.steps, "errors": result.errors}), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
