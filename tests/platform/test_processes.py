"""Background processes tracked by pid files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from happyclient.processes import BackgroundProcess, ProcessError


def test_start_is_idempotent_and_stop_kills(tmp_path: Path) -> None:
    proc = BackgroundProcess("sleeper", tmp_path / "run", tmp_path / "logs")
    pid = proc.start([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    try:
        assert proc.is_running()
        assert proc.start([sys.executable, "-c", "raise SystemExit(3)"]) == pid
        assert proc.pid_file.read_text().strip() == str(pid)
    finally:
        assert proc.stop(timeout=5)
    assert not proc.is_running()
    assert not proc.pid_file.exists()
    assert proc.stop() is False


def test_wait_for_file_reports_an_early_exit(tmp_path: Path) -> None:
    proc = BackgroundProcess("crasher", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", "import sys; print('bad config', file=sys.stderr); sys.exit(2)"])
    with pytest.raises(ProcessError, match="crasher.log"):
        proc.wait_for_file(tmp_path / "never.url", timeout=10)
    time.sleep(0.05)
    assert "bad config" in proc.log_file.read_text()


def test_wait_for_file_returns_its_content(tmp_path: Path) -> None:
    target = tmp_path / "url"
    proc = BackgroundProcess("writer", tmp_path / "run", tmp_path / "logs")
    proc.start(
        [sys.executable, "-c", f"import time; open({str(target)!r}, 'w').write('http://x:1\\n'); time.sleep(30)"]
    )
    try:
        assert proc.wait_for_file(target, timeout=10) == "http://x:1"
    finally:
        proc.stop(timeout=5)
