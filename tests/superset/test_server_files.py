"""Issue 14 (LOW): Superset's state is private and the admin password never reaches argv."""
from __future__ import annotations

import stat
from pathlib import Path

from hc_superset.server import SupersetServer
from tests.superset.harness import RunningSuperset


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_superset_data_dir_and_metadata_are_private(superset: RunningSuperset) -> None:
    data_dir = superset.server.data_dir
    assert _mode(data_dir) == 0o700
    for name in ("superset.db", "secret_key", "server.log"):
        assert _mode(data_dir / name) == 0o600, name


def test_create_admin_gets_the_password_on_stdin(tmp_path: Path) -> None:
    calls: list[tuple[tuple[str, ...], str | None]] = []

    class Recording(SupersetServer):
        def _run_cli(self, *args: str, timeout: float = 600, stdin: str | None = None) -> str:
            calls.append((args, stdin))
            return ""

    Recording(tmp_path / "s").init("admin", "Very-Secret-Pa55")
    create_admin = next((a, i) for a, i in calls if a[:2] == ("fab", "create-admin"))
    assert not any("Very-Secret-Pa55" in arg for args, _ in calls for arg in args)
    assert create_admin[1] == "Very-Secret-Pa55\nVery-Secret-Pa55\n"
    assert _mode(tmp_path / "s") == 0o700
