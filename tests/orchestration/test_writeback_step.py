"""The write-back step of the pipeline: skipped with one line when a company has no Bitrix24
(issue 15, item 3); failed, not succeeded, when the write-back had errors (issue 14, item 10a)."""

from __future__ import annotations

from pathlib import Path

import pytest

from happyclient import cli
from happyclient.pipeline import run_pipeline
from hc_demo.fakes.bitrix24 import FakeBitrix24
from tests.predictions.test_writeback import fake, warehouse  # noqa: F401  (fixtures)

STEP = "bitrix24_writeback__pushed"
B24_VARS = ("BITRIX24_WEBHOOK_URL", "BITRIX24_PORTAL_URL", "BITRIX24_CLIENT_ID", "BITRIX24_CLIENT_SECRET",
            "BITRIX24_REFRESH_TOKEN")


def _writeback_only(env: dict[str, str]) -> list[str]:
    return cli._groups_except(env, "bitrix24_writeback")


def test_no_bitrix24_skips_the_writeback_with_a_line(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    for name in (*B24_VARS, "WRITEBACK_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    env = {"WAREHOUSE_URL": warehouse}
    seen: list[tuple[str, str]] = []
    result = run_pipeline(env, exclude_groups=_writeback_only(env), on_step=lambda s, st: seen.append((s, st)))
    assert result.success, result.errors
    assert (STEP, "skipped: " + result.skipped[STEP]) in seen
    assert result.skipped[STEP].startswith("Bitrix24 is not configured")
    assert "nothing to write back to" in result.skipped[STEP]


def test_no_bitrix24_with_writeback_enabled_fails(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Asked to write live with nowhere to write: that is an error, not a skip."""
    for name in B24_VARS:
        monkeypatch.delenv(name, raising=False)
    env = {"WAREHOUSE_URL": warehouse, "WRITEBACK_ENABLED": "true"}
    result = run_pipeline(env, exclude_groups=_writeback_only(env))
    assert not result.success
    assert "Bitrix24 is not configured" in result.errors[STEP]


def test_wrong_webhook_secret_fails_the_step_and_push(
    fake: FakeBitrix24, warehouse: str, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    wrong = fake.webhook_url.replace(fake.webhook_secret, "wrong0secret0value")
    for name in B24_VARS:
        monkeypatch.delenv(name, raising=False)
    env = {"WAREHOUSE_URL": warehouse, "WRITEBACK_ENABLED": "true", "BITRIX24_WEBHOOK_URL": wrong}
    seen: list[tuple[str, str]] = []
    result = run_pipeline(env, exclude_groups=_writeback_only(env), on_step=lambda s, st: seen.append((s, st)))
    assert not result.success and (STEP, "failed") in seen
    assert "failed with 1 error(s): Bitrix24 stopped the write-back" in result.errors[STEP]
    assert "wrong0secret0value" not in result.errors[STEP]
    assert fake.tasks == []

    # `happyclient push` with the same settings exits non-zero and says why
    monkeypatch.setenv("HAPPYCLIENT_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["push"]) == 1
    out = capsys.readouterr().out
    assert "error: write-back" in out and "failed with 1 error(s)" in out
    assert "wrong0secret0value" not in out
