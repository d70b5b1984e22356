"""Shared pieces of the Superset and browser tests: a warehouse with marts, a fresh Superset.

The warehouse is the one the whole demo pipeline builds once per session (fixture
`demo_warehouse` in tests/conftest.py); set HAPPYCLIENT_E2E_WAREHOUSE_URL to test against an
already built warehouse instead. The fixtures themselves live in tests/e2e_fixtures.py.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from hc_superset.server import SupersetServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "superset_assets"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "test-admin-Pa55"
USER_PASSWORD = "test-user-Pa55"
TEMPLATE_DIR = PROJECT_ROOT / ".data" / "superset-test-template"


def _with_db(url: str, dbname: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password and "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}:{password}@{host}"
    return urlunsplit((parts.scheme, netloc, "/" + dbname, parts.query, parts.fragment))


def warehouse_with_password(url: str, password: str = "wh-secret-Pa55") -> str:
    """The same warehouse URL with a password added (the test server's trust auth ignores it),
    so the tests can prove a password never reaches the exported YAML."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return _with_db(url, parts.path.lstrip("/"), password=password)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningSuperset:
    server: SupersetServer
    url: str
    user: str = ADMIN_USER
    password: str = ADMIN_PASSWORD


_RUNNING: dict[str, RunningSuperset] = {}


def superset_fixture(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> RunningSuperset:
    """One fresh Superset (fresh sqlite metadata in a tmp dir) per test session, shared by the
    superset and browser test folders. The initialised metadata db is cached in
    .data/superset-test-template so a session starts in seconds, not a minute."""
    if "server" in _RUNNING:
        return _RUNNING["server"]
    if not (PROJECT_ROOT / ".venv-superset" / "bin" / "superset").exists():
        pytest.skip("Superset virtualenv .venv-superset is missing (see superset/requirements.txt)")
    template = SupersetServer(TEMPLATE_DIR)
    template.init(ADMIN_USER, ADMIN_PASSWORD)  # no-op when the cached template is current
    data_dir = tmp_path_factory.mktemp("superset")
    for name in ("superset.db", "secret_key", "init.stamp"):
        shutil.copy2(TEMPLATE_DIR / name, data_dir / name)
    server = SupersetServer(data_dir, port=free_port())
    assert server.init(ADMIN_USER, ADMIN_PASSWORD) is False  # the copied template is current
    server.start()
    running = RunningSuperset(server=server, url=server.url)
    _RUNNING["server"] = running
    request.session.config.add_cleanup(server.stop)  # type: ignore[attr-defined]
    return running
