"""Background processes tracked by pid files."""

from __future__ import annotations

import socket
import sys
import time
import urllib.request
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


def test_wait_for_http_reports_an_early_exit(tmp_path: Path) -> None:
    proc = BackgroundProcess("web-crasher", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", "import sys; sys.exit(2)"])
    with pytest.raises(ProcessError, match="web-crasher exited during start-up"):
        proc.wait_for_http("http://127.0.0.1:9/", timeout=10)


def test_wait_for_http_returns_once_the_server_answers(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = BackgroundProcess("web", tmp_path / "run", tmp_path / "logs")
    # answers only after a second, as a web server that loads its code first
    proc.start([sys.executable, "-c", f"import time; time.sleep(1); import http.server as h; "
                f"h.HTTPServer(('127.0.0.1', {port}), h.SimpleHTTPRequestHandler).serve_forever()"], cwd=tmp_path)
    try:
        started = time.monotonic()
        proc.wait_for_http(f"http://127.0.0.1:{port}/", timeout=30)
        assert time.monotonic() - started >= 0.9
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200
    finally:
        proc.stop(timeout=5)


def test_wait_for_http_times_out_on_a_silent_process(tmp_path: Path) -> None:
    proc = BackgroundProcess("silent", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(ProcessError, match="silent did not answer http://127.0.0.1:9/ within 1 s"):
            proc.wait_for_http("http://127.0.0.1:9/", timeout=1)
    finally:
        proc.stop(timeout=5)
