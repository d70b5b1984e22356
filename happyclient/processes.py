"""Background processes started by `happyclient` (fake servers, Dagster UI), tracked by pid files
in `<data dir>/run/` so that `happyclient stop` / `status` work from another shell."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class ProcessError(RuntimeError):
    """A background process did not start; the message points at its log file."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


@dataclass
class BackgroundProcess:
    """One named process: `<run dir>/<name>.pid`, output in `<log dir>/<name>.log`."""

    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
        """Start `argv` in its own session unless it already runs; return its pid."""
        running = self.pid()
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log, open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(
                list(argv),
                stdin=devnull,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=str(cwd) if cwd else None,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def wait_for_file(self, path: Path, timeout: float = 60) -> str:
        """Wait until the process writes `path` (e.g. its URL); fail early if it exits."""

        def content() -> str | None:
            if path.exists() and path.stat().st_size > 0:
                return path.read_text(encoding="utf-8").strip()
            return None

        return self._wait(content, f"write {path}", timeout)

    def wait_for_http(self, url: str, timeout: float = 60) -> None:
        """Wait until `url` answers HTTP 200 (the process's web server is up); fail early if it exits."""

        def answers() -> bool | None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return True if response.status == 200 else None
            except OSError:
                return None

        self._wait(answers, f"answer {url}", timeout, interval=0.25)

    def _wait(self, ready: Callable[[], T | None], what: str, timeout: float, interval: float = 0.1) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = ready()
            if value is not None:
                return value
            if not self.is_running():
                raise ProcessError(f"{self.name} exited during start-up; see {self.log_file}")
            time.sleep(interval)
        raise ProcessError(f"{self.name} did not {what} within {timeout:.0f} s; see {self.log_file}")

    def stop(self, timeout: float = 15) -> bool:
        """SIGTERM the process group, SIGKILL after `timeout`. Returns True when something was stopped."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return True
