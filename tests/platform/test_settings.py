"""Settings from environment variables."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest

from hc_base.settings import Settings, SettingsError


def test_defaults(tmp_path: Path) -> None:
    s = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path)})
    assert s.data_dir == tmp_path.resolve()
    assert s.warehouse_url is None
    assert (s.pg_port, s.superset_port, s.dagster_port) == (55432, 8088, 3000)
    assert s.dagster_home == tmp_path.resolve() / "dagster"
    assert s.writeback_enabled is False
    assert s.superset_base_url == "http://127.0.0.1:8088"


def test_values_are_read(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "HAPPYCLIENT_DATA_DIR": str(tmp_path),
            "HAPPYCLIENT_PG_PORT": "6000",
            "HAPPYCLIENT_AS_OF": "2026-10-31",
            "WRITEBACK_ENABLED": "yes",
            "SUPERSET_PORT": "9000",
            "DAGSTER_HOME": str(tmp_path / "dh"),
        }
    )
    assert s.pg_port == 6000
    assert s.as_of == date(2026, 10, 31)
    assert s.writeback_enabled is True
    assert s.superset_base_url == "http://127.0.0.1:9000"
    assert s.dagster_home == (tmp_path / "dh").resolve()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HAPPYCLIENT_PG_PORT", "abc"),
        ("HAPPYCLIENT_PG_PORT", "70000"),
        ("WRITEBACK_ENABLED", "maybe"),
        ("HAPPYCLIENT_AS_OF", "31.10.2026"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), name: value})


def test_generated_admin_password_is_private_and_stable(tmp_path: Path) -> None:
    s = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path)})
    first, is_new = s.admin_password()
    assert is_new and len(first) >= 12
    path = tmp_path / "superset-admin-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second, is_new_again = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path)}).admin_password()
    assert (second, is_new_again) == (first, False)
    assert "superset_admin_password" not in repr(s)


def test_admin_password_from_env_wins(tmp_path: Path) -> None:
    s = Settings.from_env({"HAPPYCLIENT_DATA_DIR": str(tmp_path), "SUPERSET_ADMIN_PASSWORD": "given-password"})
    assert s.admin_password() == ("given-password", False)
    assert not (tmp_path / "superset-admin-password").exists()
