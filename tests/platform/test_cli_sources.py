"""The CLI's choice of sources while the demo's fake servers run (issue 14, item 9): what the
user set wins and is never mixed with the demo's sources."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from happyclient import cli
from happyclient.console import Console
from hc_base.settings import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "ingestion" / "files" / "templates" / "sales_plans.csv"


@pytest.fixture
def demo_fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The demo's fake Bitrix24 and 1C, started by the CLI as a user would; yields the data dir."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(data_dir))
    for name in (*cli.USER_SOURCE_VARS, "HAPPYCLIENT_AS_OF", "FILES_MAPPING"):
        monkeypatch.delenv(name, raising=False)
    try:
        assert cli.main(["fakes", "start", "--clients", "60"]) == 0
        yield data_dir
    finally:
        cli.main(["fakes", "stop"])


def test_user_sources_win_over_the_running_demo(
    demo_fakes: Path, make_database: Callable[[str], str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # without settings of their own the user gets the demo's sources, and is told so
    demo_env = cli._demo_sources_env(Settings.from_env(), Console())
    demo_files = Path(demo_env["FILES_DIR"])
    assert demo_files.is_relative_to(demo_fakes) and demo_env["ONEC_ODATA_URL"].startswith("http://127.0.0.1:")
    assert "HAPPYCLIENT_AS_OF" in demo_env
    assert "using the demo's fake Bitrix24 and 1C" in capsys.readouterr().out
    demo_plans = sum(1 for p in demo_files.glob("sales_plans*") for _ in p.open(encoding="utf-8")) - 1
    assert demo_plans > 1

    # a folder of the user's own with one plan row: ingest loads exactly that, not the demo's plans
    own = tmp_path / "own"
    own.mkdir()
    shutil.copy(TEMPLATE, own / "sales_plans.csv")
    monkeypatch.setenv("FILES_DIR", str(own))
    monkeypatch.setenv("HAPPYCLIENT_AS_OF", "2026-01-31")
    warehouse = make_database("clisrc")
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    assert cli.main(["ingest", "files.sales_plans"]) == 0
    out = capsys.readouterr().out
    assert "you set FILES_DIR: using your settings only" in out
    with psycopg.connect(warehouse) as conn:
        rows = conn.execute("select _source from raw.files__sales_plans where _deleted_at is null").fetchall()
    assert rows == [("file:sales_plans.csv",)]

    # the user's settings are not mixed with the demo's: no fake Bitrix24 / 1C / date behind them
    assert cli._demo_sources_env(Settings.from_env(), Console()) == {}
    monkeypatch.delenv("FILES_DIR")
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", "https://portal.example/rest/1/user-own-secret/")
    assert cli._demo_sources_env(Settings.from_env(), Console()) == {}
    assert "BITRIX24_WEBHOOK_URL" in capsys.readouterr().out
