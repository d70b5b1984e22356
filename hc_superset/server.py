"""Run Superset (from its own virtualenv) as a background process: init, start, stop.

The pipeline virtualenv never imports Superset; this module only starts the
``.venv-superset`` executables as subprocesses and talks HTTP to the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from hc_base.redact import redact, register_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = REPO_ROOT / "superset" / "superset_config.py"
_INIT_STAMP = "init.stamp"


class SupersetError(RuntimeError):
    """Superset could not be initialised, started or reached."""


class SupersetServer:
    """One Superset web server with its state (metadata db, secret key, logs) in ``data_dir``.

    Two gunicorn workers by default: a dashboard sends its chart, native-filter and drill_info
    requests at once, and one worker runs their Python on one core at a time (the GIL); two render
    every dashboard sooner on 2 cores (README «Two gunicorn workers, issue 10»). The workers share the
    failed-login counters (superset_config.py: a SQLite file in ``data_dir``). With several workers
    the report worker's Chromium used to lose its login to a race on the login page's cookies;
    superset_config.py's ``WEBDRIVER_AUTH_FUNC`` logs it in without that page."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 8088,
        venv: Path = REPO_ROOT / ".venv-superset",
        env: dict[str, str] | None = None,
        workers: int = 2,
        threads: int = 8,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.venv = Path(venv)
        self.extra_env = dict(env or {})
        self.workers = workers
        self.threads = threads
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)

    # ---- paths ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "server.pid"

    def environment(self) -> dict[str, str]:
        """Environment for every Superset subprocess (CLI, web server, Celery)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
        env.update(
            {
                "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
                "HAPPYCLIENT_SUPERSET_DATA_DIR": str(self.data_dir),
                "SUPERSET_PORT": str(self.port),
                "FLASK_APP": "superset",
                "SCARF_ANALYTICS": "false",
                "PATH": f"{self.venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        for key in ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_PASSWORD"):
            register_secret(env.get(key))
        return env

    def _bin(self, name: str) -> str:
        path = self.venv / "bin" / name
        if not path.exists():
            raise SupersetError(
                f"{path} not found: create the Superset virtualenv with "
                "`python3 -m venv .venv-superset && .venv-superset/bin/pip install "
                "-c superset/constraints-superset.txt -r superset/requirements.txt`"
            )
        return str(path)

    def _run_cli(self, *args: str, timeout: float = 600, stdin: str | None = None) -> str:
        cmd = [self._bin("superset"), *args]
        with self.log_path.open("a") as log:
            log.write(f"$ superset {args[0]}\n")
        proc = subprocess.run(cmd, env=self.environment(), capture_output=True, text=True, timeout=timeout, input=stdin)
        with self.log_path.open("a") as log:
            log.write(redact(proc.stdout[-4000:]) + redact(proc.stderr[-4000:]))
        if proc.returncode != 0:
            raise SupersetError(
                f"`superset {args[0]}` failed with exit code {proc.returncode}; see {self.log_path}: "
                + redact(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
            )
        return proc.stdout

    # ---- lifecycle -----------------------------------------------------------------------
    def _init_key(self, admin_user: str, admin_password: str) -> str:
        h = hashlib.sha256()
        for part in (CONFIG_PATH.read_bytes(), admin_user.encode(), admin_password.encode(), str(self.environment().get("SUPERSET_METADATA_URL", "")).encode()):
            h.update(part)
            h.update(b"\0")
        return h.hexdigest()

    def init(self, admin_user: str, admin_password: str) -> bool:
        """Upgrade the metadata database, create the admin (idempotent), sync permissions.

        Skipped (returns False) when the same config and admin were already initialised
        in this data directory; returns True when the work was done.
        """
        register_secret(admin_password)
        stamp = self.data_dir / _INIT_STAMP
        key = self._init_key(admin_user, admin_password)
        if stamp.exists() and stamp.read_text().strip() == key:
            return False
        self._run_cli("db", "upgrade")
        # the password goes through stdin (click's hidden prompt and its confirmation), never argv
        self._run_cli(
            "fab", "create-admin",
            "--username", admin_user,
            "--firstname", "Администратор",
            "--lastname", "Happy Client",
            "--email", f"{admin_user}@happyclient.local",
            stdin=f"{admin_password}\n{admin_password}\n",
        )
        self._run_cli("init")
        stamp.write_text(key)
        self._restrict_permissions()
        return True

    def _restrict_permissions(self) -> None:
        """The data dir 0700, the metadata db, secret key and logs 0600 (they hold password
        hashes, the encrypted warehouse password and its key)."""
        self.data_dir.chmod(0o700)
        for name in ("superset.db", "secret_key", "server.log", "worker.log", "login_limits.sqlite", _INIT_STAMP):
            path = self.data_dir / name
            if path.exists():
                path.chmod(0o600)

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_path.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def is_running(self) -> bool:
        pid = self._read_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def is_healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def start(self, wait: bool = True, timeout: float = 600) -> None:
        """Start gunicorn in the background (own process group), log to server.log."""
        if self.is_running():
            if wait:
                self.wait_healthy(timeout)
            return
        cmd = [
            self._bin("gunicorn"),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--worker-class", "gthread",
            "--threads", str(self.threads),
            "--timeout", "120",
            "--limit-request-line", "0",
            "--limit-request-field_size", "0",
            "superset.app:create_app()",
        ]
        self._restrict_permissions()
        self.log_path.touch(mode=0o600)
        log = self.log_path.open("a")
        proc = subprocess.Popen(
            cmd, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.data_dir,
        )
        log.close()
        self.pid_path.write_text(str(proc.pid))
        if wait:
            self.wait_healthy(timeout, proc=proc)

    def wait_healthy(self, timeout: float = 180, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_healthy():
                return
            if proc is not None and proc.poll() is not None:
                raise SupersetError(f"Superset exited with code {proc.returncode} while starting; see {self.log_path}")
            time.sleep(0.5)
        raise SupersetError(f"Superset did not answer {self.url}/health within {timeout:.0f}s; see {self.log_path}")

    def stop(self, timeout: float = 20) -> None:
        """Stop the server started by ``start`` (its whole process group)."""
        self._stop_pid_file(self.pid_path, timeout)

    # ---- Celery (alerts & reports) -------------------------------------------------------
    @property
    def worker_pid_path(self) -> Path:
        return self.data_dir / "worker.pid"

    def start_worker(self, *, beat: bool = True) -> None:
        """Start a Celery worker (with the beat scheduler when ``beat``) for alerts & reports."""
        if self._alive(self.worker_pid_path):
            return
        cmd = [
            self._bin("celery"), "--app=superset.tasks.celery_app:app", "worker",
            "--pool=solo", "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ]
        if beat:
            cmd += ["--beat", f"--schedule={self.data_dir / 'celerybeat-schedule'}"]
        with (self.data_dir / "worker.log").open("a") as log:
            proc = subprocess.Popen(
                cmd, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.data_dir,
            )
        self.worker_pid_path.write_text(str(proc.pid))

    def run_report_now(self, report_id: int) -> None:
        """Queue one execution of a report (as the beat scheduler would) for the worker."""
        # the task takes its scheduled time from the message's ETA, as beat would set it
        eta = datetime.now(UTC).replace(microsecond=0).isoformat()
        self._run_celery("call", "reports.execute", f"--args=[{int(report_id)}]", f"--eta={eta}")

    def _run_celery(self, *args: str) -> str:
        proc = subprocess.run(
            [self._bin("celery"), "--app=superset.tasks.celery_app:app", *args],
            env=self.environment(), capture_output=True, text=True, timeout=120,
        )
        if proc.returncode != 0:
            raise SupersetError(f"`celery {args[0]}` failed: {redact(proc.stderr.strip()[-500:])}")
        return proc.stdout

    def stop_worker(self) -> None:
        self._stop_pid_file(self.worker_pid_path)

    def _alive(self, pid_file: Path) -> bool:
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return False
        return True

    def _stop_pid_file(self, pid_file: Path, timeout: float = 20) -> None:
        try:
            pid = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                _reap(pid)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def __enter__(self) -> SupersetServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reap(pid: int) -> None:
    """Collect our own exited child so that kill(pid, 0) stops succeeding on a zombie."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
    if done == pid:
        raise ProcessLookupError(pid)
