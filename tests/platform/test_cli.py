"""The command line: parsing, status output, errors without secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from happyclient import cli
from happyclient.console import Console
from happyclient.demo import DemoData, FakeEndpoints, cached_demo_data, demo_data_path, source_env
from happyclient.pipeline import step_status


def test_parser_knows_every_command() -> None:
    parser = cli.build_parser()
    for argv in (
        ["demo", "--no-serve", "--clients", "300"],
        ["stop"],
        ["status"],
        ["warehouse", "url"],
        ["generate"],
        ["fakes", "start"],
        ["ingest", "bitrix24", "--full-refresh"],
        ["dbt", "build", "--select", "staging"],
        ["superset", "sync"],
        ["pipeline"],
        ["push", "--dry-run"],
        ["ui"],
    ):
        args = parser.parse_args(argv)
        assert callable(args.func)
    assert parser.parse_args(["dbt", "build", "--select", "x"]).dbt_args == ["build", "--select", "x"]
    assert parser.parse_args(["demo"]).no_serve is False


def test_error_is_one_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_URL", "mysql://someone:Very-Secret-99@host/db")
    assert cli.main(["warehouse", "url"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("error: WAREHOUSE_URL must look like")
    assert "Very-Secret-99" not in out


def test_warehouse_url_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://someone:Very-Secret-99@host:5432/db")
    assert cli.main(["warehouse", "url"]) == 0
    assert capsys.readouterr().out.strip() == "postgresql://someone:***@host:5432/db"


def test_console_step_reports_failure(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    with pytest.raises(ValueError), console.step("load"):
        raise ValueError("x")
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "==> load"
    assert out[1].startswith("    FAILED after")


def test_step_status_words() -> None:
    assert step_status("STEP_SUCCESS") == "succeeded"
    assert step_status("STEP_FAILURE") == "failed"
    assert step_status("ASSET_MATERIALIZATION") is None


def test_cached_demo_data_requires_a_complete_manifest(tmp_path: Path) -> None:
    from hc_demo.generator import GENERATOR_VERSION

    path = demo_data_path(tmp_path, 7, 300)
    assert path.name == "data-seed7-clients300"
    path.mkdir()
    assert cached_demo_data(path) is None
    manifest = {"generator_version": GENERATOR_VERSION, "as_of": "2026-10-31", "seed": 7, "clients": 300}
    (path / "manifest.json").write_text(json.dumps(manifest))
    data = cached_demo_data(path)
    assert data is not None and (data.seed, data.clients, str(data.as_of)) == (7, 300, "2026-10-31")
    (path / "manifest.json").write_text(json.dumps({**manifest, "generator_version": GENERATOR_VERSION + 1}))
    assert cached_demo_data(path) is None


def test_source_env_points_connectors_at_the_fakes(tmp_path: Path) -> None:
    endpoints = FakeEndpoints("http://127.0.0.1:1/rest/1/tok3nvalue/", "http://127.0.0.1:2/odata", "demo", "pw-123456")
    env = source_env(endpoints, DemoData(tmp_path, __import__("datetime").date(2026, 10, 31), 42, 300))
    assert env["FILES_DIR"] == str(tmp_path / "files")
    assert env["ONEC_USER"] == "demo"
    assert "tok3nvalue" not in repr(endpoints) and "pw-123456" not in repr(endpoints)


def test_error_summary_keeps_the_tail_without_colours() -> None:
    from happyclient.pipeline import error_summary

    text = "\n".join(f"\x1b[31mline {i}\x1b[0m" for i in range(1, 21))
    summary = error_summary(text, max_lines=3)
    assert summary.splitlines()[0] == "(... 17 more lines)"
    assert summary.splitlines()[1:] == ["      line 18", "      line 19", "      line 20"]
    assert "\x1b" not in summary


def test_log_lines_go_to_the_sink_during_a_run(tmp_path: Path) -> None:
    import io
    import logging

    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    original = handler.stream
    sink = io.StringIO()
    try:
        with cli._log_handlers_to(sink):
            logging.getLogger("dagster.builtin").warning("noisy dbt line")
        logging.getLogger("dagster.builtin").warning("after the run")
    finally:
        root.removeHandler(handler)
    assert "noisy dbt line" in sink.getvalue()
    assert "noisy dbt line" not in original.getvalue()
    assert "after the run" in original.getvalue()


def test_dbt_args_carry_as_of_date() -> None:
    """Issue 15, item 2: `happyclient dbt` passes HAPPYCLIENT_AS_OF as var as_of_date."""
    with_as_of = cli.dbt_args_with_as_of
    assert with_as_of(["build", "--select", "marts"], "2026-10-31") == [
        "build", "--select", "marts", "--vars", '{"as_of_date": "2026-10-31"}']
    assert with_as_of(["docs", "generate"], "2026-10-31")[-1] == '{"as_of_date": "2026-10-31"}'
    # the user's own --vars are kept and merged; their as_of_date wins
    assert with_as_of(["run", "--vars", "{abc_months: 6}"], "2026-10-31") == [
        "run", "--vars", '{"as_of_date": "2026-10-31", "abc_months": 6}']
    assert with_as_of(["run", "--vars=as_of_date: 2025-01-31"], "2026-10-31") == [
        "run", "--vars", '{"as_of_date": "2025-01-31"}']
    # no date set, or a command without --vars: unchanged
    assert with_as_of(["build"], None) == ["build"]
    assert with_as_of(["debug"], "2026-10-31") == ["debug"]
    assert with_as_of(["docs", "serve"], "2026-10-31") == ["docs", "serve"]
    with pytest.raises(cli.CliError, match="mapping"):
        with_as_of(["run", "--vars", "[1, 2]"], "2026-10-31")


def test_dbt_command_compiles_with_as_of(
    make_database: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The compiled SQL of `happyclient dbt compile` uses the date, not current_date."""
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WAREHOUSE_URL", make_database("clidbt"))  # type: ignore[operator]
    monkeypatch.setenv("HAPPYCLIENT_AS_OF", "2025-03-31")
    assert cli.main(["dbt", "compile", "--inline", "select {{ as_of_date() }} as d"]) == 0
    out = capfd.readouterr().out
    assert "cast('2025-03-31' as date)" in out and "current_date" not in out
    monkeypatch.delenv("HAPPYCLIENT_AS_OF")
    assert cli.main(["dbt", "compile", "--inline", "select {{ as_of_date() }} as d"]) == 0
    assert "current_date" in capfd.readouterr().out


def test_dagster_home_has_telemetry_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14 (LOW): the demo's Dagster instance sent usage telemetry."""
    import dagster as dg

    from happyclient.pipeline import ensure_dagster_instance

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").touch()  # as earlier versions left it
    ensure_dagster_instance(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        assert instance.telemetry_enabled is False
    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: true\n", encoding="utf-8")
    ensure_dagster_instance(own)
    assert "enabled: true" in (own / "dagster.yaml").read_text(encoding="utf-8")
