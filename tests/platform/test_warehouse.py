"""The embedded warehouse server and warehouse URL handling."""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from happyclient.warehouse import EmbeddedPostgres, ensure_schemas, resolve_warehouse
from hc_base.settings import PROJECT_ROOT, Settings
from hc_base.warehouse_url import WarehouseError, dbt_env, dbt_pg_options, parse_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A directory outside /tmp/pytest-of-*: concurrent pytest sessions of the same user prune
    each other's old base temp dirs, which would delete a running server's files."""
    path = PROJECT_ROOT / ".data" / "test-tmp" / uuid.uuid4().hex[:8]
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_embedded_server_keeps_data_across_restart(server_dir: Path) -> None:
    server = EmbeddedPostgres(server_dir / "pg", port=_free_port())
    try:
        server.start()
        server.start()  # idempotent: reuses the running server
        assert server.is_running()
        ensure_schemas(server.url())
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("create table raw.kept (n int)")
            conn.execute("insert into raw.kept values (41), (1)")
        server.stop()
        assert not server.is_running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.url(), connect_timeout=2)
        server.start()
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("select sum(n) from raw.kept").fetchone() == (42,)
        with psycopg.connect(server.socket_url()) as conn:
            schemas = {r[0] for r in conn.execute("select schema_name from information_schema.schemata")}
        assert {"raw", "ingest_state", "staging", "intermediate", "marts", "predictions"} <= schemas
    finally:
        server.stop()
    server.stop()  # stopping a stopped server is a no-op


@pytest.mark.slow
def test_embedded_server_authenticates_every_connection_with_a_generated_password(server_dir: Path) -> None:
    import stat

    from hc_base.redact import redact

    server = EmbeddedPostgres(server_dir / "pg", port=_free_port())
    try:
        server.start()
        password = server.password()
        assert password and len(password) >= 32
        assert stat.S_IMODE(server.password_file.stat().st_mode) == 0o600
        assert password in server.url() and password not in redact(server.url())
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        bare = f"postgresql://postgres@127.0.0.1:{server.port}/happyclient"
        for url in (bare, bare.replace("postgres@", "postgres:wrong@"),
                    f"postgresql://postgres@/happyclient?host={server.socket_dir}&port={server.port}"):
            with pytest.raises(psycopg.OperationalError, match="password"):
                psycopg.connect(url, connect_timeout=5)
    finally:
        server.stop()


@pytest.mark.slow
def test_a_trust_cluster_of_an_earlier_version_is_switched_to_scram(server_dir: Path) -> None:
    old = EmbeddedPostgres(server_dir / "pg", port=_free_port(), auth="trust")
    try:
        old.start()
        old.stop()
        server = EmbeddedPostgres(server_dir / "pg", port=old.port)
        server.start()
        assert server.password()
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{server.port}/happyclient", connect_timeout=5)
        server.stop()
        server.start()  # a restart keeps the password
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        old.stop()


class _OldCLocaleServer(EmbeddedPostgres):
    """A cluster made as versions before the builtin C.UTF-8 locale made it: libc locale C."""

    def _initdb(self) -> None:
        result = self._run(["initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                            "--encoding=UTF8", "--locale=C", "--no-sync"], check=False)
        assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_start_refuses_a_cluster_that_cannot_fold_cyrillic(server_dir: Path) -> None:
    old = _OldCLocaleServer(server_dir / "pg", port=_free_port())
    try:
        with pytest.raises(WarehouseError, match="cannot lower-case Cyrillic") as caught:
            old.start()
        assert str(old.pgdata) in str(caught.value)
        # the same directory, once deleted, is re-created with the right locale
        old.stop()
        shutil.rmtree(old.pgdata)
        fresh = EmbeddedPostgres(server_dir / "pg", port=old.port)
        fresh.start()
        with psycopg.connect(fresh.url()) as conn:
            assert conn.execute("select lower('ЖЁ')").fetchone() == ("жё",)
        fresh.stop()
    finally:
        old.stop()


def test_start_refuses_a_port_taken_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        server = EmbeddedPostgres(tmp_path / "pg", port=port)
        with pytest.raises(WarehouseError, match="HAPPYCLIENT_PG_PORT"):
            server.start()


def test_dbt_env_from_tcp_url_with_password() -> None:
    env = dbt_env("postgresql://analyst:s%40cret-pw@db.example.org:6543/wh?sslmode=require")
    assert env == {
        "HAPPYCLIENT_PG_HOST": "db.example.org",
        "HAPPYCLIENT_PG_PORT": "6543",
        "HAPPYCLIENT_PG_USER": "analyst",
        "HAPPYCLIENT_PG_PASSWORD": "s@cret-pw",
        "HAPPYCLIENT_PG_DBNAME": "wh",
        "HAPPYCLIENT_PG_SSLMODE": "require",
        "PGOPTIONS": "-c jit=off",
    }


def test_dbt_sessions_run_without_jit_and_keep_the_users_options(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dbt_pg_options("") == "-c jit=off"
    assert dbt_pg_options("-c statement_timeout=0") == "-c statement_timeout=0 -c jit=off"
    assert dbt_pg_options("-c jit=on") == "-c jit=on"  # the user's choice wins
    monkeypatch.setenv("PGOPTIONS", "-c work_mem=64MB")
    assert dbt_env("postgresql://db.local/wh")["PGOPTIONS"] == "-c work_mem=64MB -c jit=off"


def test_pgoptions_of_dbt_env_turn_jit_off_in_a_real_session(pg_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq (dbt-postgres' psycopg2 as psycopg here) reads PGOPTIONS when it connects."""
    import psycopg

    monkeypatch.delenv("PGOPTIONS", raising=False)
    monkeypatch.setenv("PGOPTIONS", dbt_env(pg_admin_url)["PGOPTIONS"])
    with psycopg.connect(pg_admin_url) as conn:
        assert conn.execute("show jit").fetchone()[0] == "off"


def test_dbt_env_from_socket_url() -> None:
    env = dbt_env("postgresql://postgres@/happyclient?host=/srv/pg/socket&port=55432")
    assert env["HAPPYCLIENT_PG_HOST"] == "/srv/pg/socket"
    assert env["HAPPYCLIENT_PG_PORT"] == "55432"
    assert env["HAPPYCLIENT_PG_DBNAME"] == "happyclient"
    assert env["HAPPYCLIENT_PG_PASSWORD"] == ""
    assert env["HAPPYCLIENT_PG_SSLMODE"] == "disable"


def test_url_defaults() -> None:
    parts = parse_url("postgresql://db.local")
    assert (parts.host, parts.port, parts.user, parts.dbname) == ("db.local", 5432, "postgres", "happyclient")


def test_password_never_shown() -> None:
    url = "postgresql://u:TopSecret123@h:5432/d"
    parts = parse_url(url)
    assert "TopSecret123" not in repr(parts)
    with pytest.raises(WarehouseError) as err:
        parse_url("mysql://u:TopSecret123@h/d")
    assert "TopSecret123" not in str(err.value)
    with pytest.raises(WarehouseError) as err:
        parse_url("postgresql://u:TopSecret123@h:notaport/d")
    assert "TopSecret123" not in str(err.value)


def test_resolve_prefers_warehouse_url(tmp_path: Path) -> None:
    external = resolve_warehouse(Settings(data_dir=tmp_path, warehouse_url="postgresql://u:pw123456@h:1/d"))
    assert external.embedded is None
    assert external.url == "postgresql://u:pw123456@h:1/d"
    assert "pw123456" not in external.describe()
    embedded = resolve_warehouse(Settings(data_dir=tmp_path, pg_port=55999))
    assert embedded.embedded is not None
    assert embedded.embedded.pgdata == (tmp_path / "postgres" / "pgdata").resolve()
    assert embedded.url == "postgresql://postgres@127.0.0.1:55999/happyclient"
