"""The demo tells what it is doing and always finishes (issues 10 and 16): dbt's progress reaches
the console while its output goes to the log file, and a failed pipeline ends the demo with the
failure as its last words and exit code 1, never «demo is running»."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from happyclient import cli
from happyclient.console import Console
from happyclient.pipeline import DbtProgress
from hc_base.settings import Settings

# lines as dagster-dbt re-emits dbt's JSON log messages on stdout (colours included)
DBT_LINES = [
    "Running with dbt=1.11.16",
    "1 of 810 START sql view model staging.stg_onec__business_regions ............... [RUN]",
    "1 of 810 OK created sql view model staging.stg_onec__business_regions .......... [\x1b[32mCREATE VIEW\x1b[0m in 0.35s]",
    "11 of 810 START seed file marts.segment_strategies ............................. [RUN]",
    "12 of 810 START test source_not_null_bitrix24_bitrix24__activities_source_key .. [RUN]",
    "12 of 810 PASS source_not_null_bitrix24_bitrix24__activities_source_key ........ [\x1b[32mPASS\x1b[0m in 0.12s]",
    "13 of 810 START test source_not_null_bitrix24_bitrix24__companies_source_key ... [RUN]",
    "14 of 810 START unit_test dq_sources::dq_sources_connected_when_a_raw_table_has_live_rows  [RUN]",
    "400 of 810 START sql table model marts.assortment_fulfilment ................... [RUN]",
    "401 of 810 ERROR creating sql table model marts.client_stability ............... [\x1b[31mERROR\x1b[0m in 0.20s]",
    "402 of 810 FAIL 3 unique_dim_clients_client_id ................................. [\x1b[31mFAIL 3\x1b[0m in 0.10s]",
]


def test_dbt_progress_reports_models_failures_and_throttled_tests() -> None:
    sink = io.StringIO()
    reported: list[str] = []
    now = [0.0]
    progress = DbtProgress(sink, reported.append, every=10.0, clock=lambda: now[0])
    text = "\n".join(DBT_LINES) + "\n"
    # written in odd pieces, as a stream would: lines are reassembled
    for start in range(0, len(text), 37):
        if start == 37 * 10:
            now[0] = 5.0  # the second test starts 5 s after the first: not reported
        progress.write(text[start:start + 37])
    progress.flush()
    assert sink.getvalue() == text  # the log file gets everything, unchanged
    assert reported == [
        "dbt 1 of 810: sql view model staging.stg_onec__business_regions",
        "dbt 11 of 810: seed file marts.segment_strategies",
        "dbt 12 of 810: test source_not_null_bitrix24_bitrix24__activities_source_key",
        "dbt 400 of 810: sql table model marts.assortment_fulfilment",
        "dbt 401 of 810: ERROR creating sql table model marts.client_stability",
        "dbt 402 of 810: FAIL 3 unique_dim_clients_client_id",
    ]
    now[0] = 20.0  # 10 s or more after the last reported test: the next one is reported
    progress.write("403 of 810 START test not_null_dim_clients_client_id ..... [RUN]\n")
    assert reported[-1] == "dbt 403 of 810: test not_null_dim_clients_client_id"


class _Warehouse:
    url = "postgresql://postgres@127.0.0.1:1/not-used"


class _Superset:
    """Stands in for the Superset server process: this test is about the demo's control flow."""

    def init(self, user: str, password: str) -> None:
        pass

    def start(self) -> None:
        pass


@pytest.mark.parametrize("no_serve", [False, True])
def test_a_failed_pipeline_ends_the_demo_with_exit_1_and_says_so_last(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_serve: bool
) -> None:
    calls: list[str] = []

    def failing_pipeline(settings: Settings, console: Console, env: dict[str, str], **kwargs: object) -> None:
        calls.append(str(kwargs.get("title", "pipeline")))
        raise cli.CliError("the pipeline run r-1 failed:\n    dbt_models: relation \"raw.x\" does not exist")

    monkeypatch.setattr(cli, "_warehouse", lambda settings, console: _Warehouse())
    monkeypatch.setattr("happyclient.demo.prepare_demo", lambda *a, **k: (None, {"SUPERSET_ADMIN_PASSWORD": "pw"}))
    monkeypatch.setattr(cli, "_superset_server", lambda settings: _Superset())
    monkeypatch.setattr(cli, "_run_pipeline", failing_pipeline)
    monkeypatch.setattr(cli, "_start_ui", lambda settings, env: pytest.fail("the UI must not start after a failure"))
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPERSET_ADMIN_PASSWORD", "pw")
    args = ["demo", "--no-serve"] if no_serve else ["demo"]
    assert cli.main(args) == 1
    out = capsys.readouterr().out
    assert "demo is running" not in out
    last = [line for line in out.splitlines() if line.strip()][-1]
    assert "the demo did NOT finish" in last
    assert "relation \"raw.x\" does not exist" in out
    assert calls == ["pipeline"]  # no Superset import after the failed build
