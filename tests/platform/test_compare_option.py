"""Issue 15, item 6: a pair of periods (--compare, HAPPYCLIENT_COMPARE, the Dagster run config)
and any other dbt var (--var, HAPPYCLIENT_DBT_VARS) reach the pipeline's dbt steps."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from happyclient import cli
from hc_base.settings import Settings, SettingsError, parse_compare, parse_var_option

H2_VS_H1 = "2026-07-01..2026-12-31:2026-01-01..2026-06-30"


def test_period_names_become_dates() -> None:
    assert parse_compare("2026-H2:2026-H1") == H2_VS_H1
    assert parse_compare(" 2026-07-01..2026-12-31 : 2026-01-01..2026-06-30 ") == H2_VS_H1
    assert parse_compare("2026-Q4:2025-Q4") == "2026-10-01..2026-12-31:2025-10-01..2025-12-31"
    # February: 28 days in 2026, 29 in the leap year 2024; December ends the year
    assert parse_compare("2026-02:2024-02") == "2026-02-01..2026-02-28:2024-02-01..2024-02-29"
    assert parse_compare("2025-12") == "2025-12-01..2025-12-31"  # no base
    assert parse_compare("2026:2025") == "2026-01-01..2026-12-31:2025-01-01..2025-12-31"
    assert parse_compare("ALL") == "all"


@pytest.mark.parametrize(("text", "message"), [
    ("2026-H1:2026-Q2", "overlap"),  # April-June is in both
    ("2026-H3", "not a period"),
    ("2026-13", "not a month"),
    ("2026-07-01..2026-06-30", "ends before it starts"),
    ("2026-07-01..31.12.2026", "two dates"),
    ("2026:2025:2024", "CURRENT:BASE"),
    ("all:2025", "not a period"),
])
def test_malformed_pairs_are_refused(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_compare(text)


def test_var_option_values_are_yaml() -> None:
    assert parse_var_option("abc_months=6") == ("abc_months", 6)
    assert parse_var_option("stability_base=previous") == ("stability_base", "previous")
    assert parse_var_option("concentration_top_shares=[0.1, 0.3]") == ("concentration_top_shares", [0.1, 0.3])
    with pytest.raises(SettingsError, match="KEY=VALUE"):
        parse_var_option("abc_months")


def test_environment_gives_the_run_vars(tmp_path: Path) -> None:
    s = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), "HAPPYCLIENT_AS_OF": "2026-12-31",
                           "HAPPYCLIENT_COMPARE": "2026-H2:2026-H1",
                           "HAPPYCLIENT_DBT_VARS": "{abc_months: 6, as_of_date: 2020-01-01}"})
    # HAPPYCLIENT_AS_OF wins over an as_of_date in HAPPYCLIENT_DBT_VARS
    assert s.run_dbt_vars() == {"abc_months": 6, "as_of_date": "2026-12-31", "compare_periods": H2_VS_H1}
    with pytest.raises(SettingsError, match="HAPPYCLIENT_COMPARE"):
        Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), "HAPPYCLIENT_COMPARE": "H2 vs H1"})
    with pytest.raises(SettingsError, match="HAPPYCLIENT_DBT_VARS"):
        Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), "HAPPYCLIENT_DBT_VARS": "[1, 2]"})


def test_dbt_command_options_become_vars(tmp_path: Path) -> None:
    args, compare, var_options = cli.split_run_options(
        ["build", "--compare", "2026-H2:2026-H1", "--select", "marts", "--var=abc_months=6", "--var", "x=y"])
    assert (args, compare, var_options) == (["build", "--select", "marts"], "2026-H2:2026-H1", ["abc_months=6", "x=y"])
    settings = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), "HAPPYCLIENT_AS_OF": "2026-12-31",
                                  "HAPPYCLIENT_DBT_VARS": "{abc_months: 3, stability_base: previous}"})
    env = cli.apply_run_options(settings, compare, var_options)
    # --var wins over HAPPYCLIENT_DBT_VARS; the environment for the pipeline carries both
    assert json.loads(env["HAPPYCLIENT_DBT_VARS"]) == {"abc_months": 6, "stability_base": "previous", "x": "y"}
    assert env["HAPPYCLIENT_COMPARE"] == H2_VS_H1
    with_vars = cli.dbt_args_with_vars(args + ["--vars", "{x: z}"], settings.run_dbt_vars())
    assert with_vars[:3] == ["build", "--select", "marts"] and with_vars[3] == "--vars"
    assert json.loads(with_vars[4]) == {"abc_months": 6, "stability_base": "previous", "x": "z",  # own --vars win
                                        "as_of_date": "2026-12-31", "compare_periods": H2_VS_H1}
    with pytest.raises(cli.CliError, match="overlap"):
        cli.apply_run_options(settings, "2026:2026-H1", [])


def test_pipeline_passes_compare_and_vars_to_its_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HAPPYCLIENT_COMPARE", raising=False)
    monkeypatch.delenv("HAPPYCLIENT_DBT_VARS", raising=False)
    monkeypatch.setattr(cli, "_warehouse", lambda settings, console: type("W", (), {"url": "postgresql://x/y"})())
    monkeypatch.setattr(cli, "_demo_sources_env", lambda settings, console: {})
    monkeypatch.setattr(cli, "_run_pipeline", lambda settings, console, env, **kw: seen.update(env))
    assert cli.main(["pipeline", "--no-superset", "--compare", "2026-H2:2026-H1", "--var", "abc_months=6"]) == 0
    assert seen["HAPPYCLIENT_COMPARE"] == H2_VS_H1 and json.loads(seen["HAPPYCLIENT_DBT_VARS"]) == {"abc_months": 6}
    # the pipeline's dbt step reads them at run time
    from orchestration.dbt import DbtRunConfig, dbt_vars

    monkeypatch.setenv("HAPPYCLIENT_COMPARE", seen["HAPPYCLIENT_COMPARE"])
    monkeypatch.setenv("HAPPYCLIENT_DBT_VARS", seen["HAPPYCLIENT_DBT_VARS"])
    monkeypatch.setenv("HAPPYCLIENT_AS_OF", "2026-12-31")
    assert dbt_vars() == {"abc_months": 6, "as_of_date": "2026-12-31", "compare_periods": H2_VS_H1}
    # the Dagster run config (launchpad) wins over the environment
    config = DbtRunConfig(compare="2026-Q4:2025-Q4", vars={"abc_months": "3"})
    assert dbt_vars(config) == {"abc_months": 3, "as_of_date": "2026-12-31",
                                "compare_periods": "2026-10-01..2026-12-31:2025-10-01..2025-12-31"}
    assert cli.main(["pipeline", "--compare", "2026-H1:2026-Q2"]) == 1  # overlap: refused before any run


def test_dagster_job_takes_the_run_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster as dg

    for name in ("SUPERSET_ADMIN_PASSWORD", "SUPERSET_ADMIN_USER", "SUPERSET_URL", "WAREHOUSE_URL"):
        monkeypatch.setenv(name, "x")  # the resources' own config reads them

    from orchestration.definitions import PIPELINE_JOB, defs

    job = defs.resolve_job_def(PIPELINE_JOB)
    config = {"compare": "2026-H2:2026-H1", "vars": {"stability_base": "previous"}}
    dbt_ops = [name for name in ("dbt_models", "dbt_models_after_predictions") if job.graph.has_node_named(name)]
    assert dbt_ops
    result = dg.validate_run_config(job, {"ops": {name: {"config": config} for name in dbt_ops}})
    assert all(result["ops"][name]["config"]["compare"] == "2026-H2:2026-H1" for name in dbt_ops)
    dg.validate_run_config(job, {})  # the config is optional
