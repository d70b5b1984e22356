from __future__ import annotations

from collections.abc import Callable
from datetime import date

import psycopg
import pytest

from hc_demo.fakes.bitrix24 import FakeBitrix24
from predictions.__main__ import main

from .test_model import _load_sales, _simulated_sales
from .test_writeback import client, fake, warehouse  # noqa: F401  (fixtures)


def test_push_without_writeback_enabled_writes_nothing(
    fake: FakeBitrix24,  # noqa: F811
    warehouse: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", fake.webhook_url)
    monkeypatch.delenv("WRITEBACK_ENABLED", raising=False)
    assert main(["push"]) == 0
    assert "disabled" in capsys.readouterr().out
    monkeypatch.setenv("WRITEBACK_ENABLED", "false")
    assert main(["push", "--dry-run"]) == 0
    assert "disabled (WRITEBACK_ENABLED=false)" in capsys.readouterr().out
    assert fake.requests_log == []


def test_push_dry_run_then_enabled_push(
    fake: FakeBitrix24,  # noqa: F811
    warehouse: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse)
    monkeypatch.setenv("BITRIX24_WEBHOOK_URL", fake.webhook_url)
    monkeypatch.delenv("WRITEBACK_ENABLED", raising=False)
    assert main(["push", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would create" in out and fake.tasks == []
    assert fake.webhook_secret not in out
    monkeypatch.setenv("WRITEBACK_ENABLED", "true")
    assert main(["push"]) == 0
    assert len(fake.tasks) == 11


def test_predict_command(make_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = make_database("pred_cli")
    _load_sales(url, _simulated_sales(120, date(2026, 11, 27), seed=3))
    monkeypatch.setenv("WAREHOUSE_URL", url)
    assert main(["predict", "--as-of", "2026-11-27"]) == 0
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*), min(as_of) from predictions.client_predictions").fetchone()
    assert row is not None and row[0] > 50 and row[1] == date(2026, 11, 27)
