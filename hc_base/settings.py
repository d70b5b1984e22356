"""Every environment variable of the platform, read in one place.

Connector variables (BITRIX24_*, ONEC_*, FILES_DIR, FILES_MAPPING) are read by
`ingestion.config.SourceSettings.from_env`; this module delegates to it. Superset's own process
reads its variables in `superset/superset_config.py`; they are listed in `ENV_VARS` as well so
that the README table and `happyclient status` show one complete list.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hc_base.redact import register_secret

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable is malformed; the message names it and says what is expected."""


# name -> (default shown to users, description). The README table is checked against this list.
ENV_VARS: dict[str, tuple[str, str]] = {
    "WAREHOUSE_URL": (
        "(embedded PostgreSQL)",
        "PostgreSQL URL of the warehouse, postgresql://user:password@host:5432/db",
    ),
    "HAPPYCLIENT_DATA_DIR": (
        "<repo>/.data",
        "runtime state: embedded PostgreSQL, demo data, logs, pid files, Dagster home",
    ),
    "HAPPYCLIENT_PG_PORT": ("55432", "TCP port of the embedded PostgreSQL (127.0.0.1 only)"),
    "HAPPYCLIENT_AS_OF": (
        "today (demo: the demo data's date)",
        "reporting date (YYYY-MM-DD) passed to dbt as var as_of_date",
    ),
    "HAPPYCLIENT_DBT_THREADS": ("4", "dbt threads"),
    "SUPERSET_PORT": ("8088", "port of the Superset web server"),
    "SUPERSET_ADMIN_USER": ("admin", "Superset administrator login"),
    "SUPERSET_ADMIN_PASSWORD": (
        "generated, stored in .data/superset-admin-password",
        "Superset administrator password",
    ),
    "SUPERSET_SECRET_KEY": ("generated in .data/superset", "Flask secret key of Superset"),
    "SUPERSET_URL": ("http://127.0.0.1:$SUPERSET_PORT", "Superset to sync dashboards into (when it runs elsewhere)"),
    "DAGSTER_PORT": ("3000", "port of the Dagster UI"),
    "DAGSTER_HOME": ("<data dir>/dagster", "Dagster instance directory (run history, schedules)"),
    "BITRIX24_WEBHOOK_URL": (
        "",
        "inbound webhook https://portal/rest/<user>/<secret>/ (scopes crm, user, department, task)",
    ),
    "BITRIX24_PORTAL_URL": ("", "portal URL for OAuth (instead of a webhook)"),
    "BITRIX24_CLIENT_ID": ("", "OAuth application client id"),
    "BITRIX24_CLIENT_SECRET": ("", "OAuth application client secret"),
    "BITRIX24_REFRESH_TOKEN": ("", "OAuth refresh token"),
    "BITRIX24_RATE_PER_S": ("2", "requests per second to Bitrix24 (leaky bucket)"),
    "BITRIX24_BURST": ("50", "request burst to Bitrix24"),
    "BITRIX24_TIMEOUT_S": ("60", "HTTP timeout of one Bitrix24 request, seconds"),
    "BITRIX24_OVERLAP_MINUTES": ("60", "incremental loads re-read this many minutes before the cursor"),
    "ONEC_ODATA_URL": ("", "1C OData root, http://server/base/odata/standard.odata"),
    "ONEC_USER": ("", "1C user with rights to the published objects"),
    "ONEC_PASSWORD": ("", "password of that 1C user"),
    "ONEC_TIMEOUT_S": ("300", "HTTP timeout of one 1C request, seconds"),
    "ONEC_REREAD_DAYS": ("35", "incremental document loads re-read this many days back"),
    "FILES_DIR": ("", "directory with user files (plans, potential, Rosstat, NPS, ...)"),
    "FILES_MAPPING": ("", "optional YAML mapping file names to file kinds"),
    "WRITEBACK_ENABLED": ("false", "kill switch: write results back to Bitrix24 only when true"),
    "HAPPYCLIENT_DEBUG": ("", "when set, the CLI shows full tracebacks"),
    "POSTGRES_PASSWORD": ("", "docker-compose only: password of the PostgreSQL container"),
    "DAGSTER_PG_URL": ("", "docker-compose only: Dagster run storage (set by docker-compose.yml)"),
    "SUPERSET_PUBLIC_URL": ("http://localhost:8088/", "URL of Superset as users reach it (links in reports)"),
    "FILES_HOST_DIR": ("./files", "docker-compose only: host directory mounted as FILES_DIR"),
    "HAPPYCLIENT_E2E_WAREHOUSE_URL": ("", "tests only: Superset tests use this already built warehouse"),
    "HAPPYCLIENT_UPDATE_SCREENSHOTS": ("", "tests only: 1 = the browser test refreshes docs/screenshots/"),
    "HAPPYCLIENT_KEEP_TEST_DB": ("", "tests only: keep the end-to-end test's warehouse database"),
    "HAPPYCLIENT_PG_HOST": (
        "from WAREHOUSE_URL",
        "dbt profile: host (happyclient sets the HAPPYCLIENT_PG_* variables from WAREHOUSE_URL)",
    ),
    "HAPPYCLIENT_PG_USER": ("from WAREHOUSE_URL", "dbt profile: user"),
    "HAPPYCLIENT_PG_PASSWORD": ("from WAREHOUSE_URL", "dbt profile: password"),
    "HAPPYCLIENT_PG_DBNAME": ("from WAREHOUSE_URL", "dbt profile: database"),
    "HAPPYCLIENT_PG_SSLMODE": ("prefer", "dbt profile: sslmode"),
    "HAPPYCLIENT_PG_SCHEMA": ("marts", "dbt profile: default schema"),
    "HAPPYCLIENT_DBT_TARGET": ("warehouse", "dbt profile target"),
    "HAPPYCLIENT_SUPERSET_PROFILE": (
        "dev",
        "Superset: dev (SQLite, no Redis) or production (SUPERSET_METADATA_URL + REDIS_URL)",
    ),
    "HAPPYCLIENT_SUPERSET_DATA_DIR": ("<data dir>/superset", "Superset state: metadata database, secret key, logs"),
    "SUPERSET_METADATA_URL": ("", "Superset production profile: PostgreSQL URL of Superset's metadata database"),
    "REDIS_URL": ("", "Superset production profile: Redis for cache, Celery and reports"),
    "SUPERSET_LOG_LEVEL": ("INFO", "Superset log level"),
    "SUPERSET_WEBDRIVER_BASEURL": (
        "http://127.0.0.1:$SUPERSET_PORT/",
        "URL Superset's report worker opens in Chromium",
    ),
    "HAPPYCLIENT_REPORTS_DIR": ("<Superset data dir>/reports", "where the «file» report notification writes PDFs/PNGs"),
    "CHROMIUM_BINARY": ("/usr/bin/chromium", "Chromium for reports and browser tests"),
    "CHROMEDRIVER_PATH": ("/usr/bin/chromedriver", "chromedriver for reports and browser tests"),
    "HAPPYCLIENT_TEST_PG_URL": ("(embedded)", "tests only: admin URL of a PostgreSQL for the test suite"),
    "HAPPYCLIENT_TEST_PG_PORT": ("55433", "tests only: port of the embedded test PostgreSQL"),
}


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (a TCP port), got {raw!r}") from None
    if not 0 < value < 65536:
        raise SettingsError(f"{name} must be between 1 and 65535, got {value}")
    return value


def _env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _env_date(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from None


@dataclass
class Settings:
    """The platform's configuration. Build it with `Settings.from_env()`."""

    data_dir: Path
    warehouse_url: str | None = None
    pg_port: int = 55432
    as_of: date | None = None
    superset_port: int = 8088
    superset_admin_user: str = "admin"
    superset_admin_password: str | None = field(default=None, repr=False)
    superset_url: str | None = None
    dagster_port: int = 3000
    dagster_home: Path | None = None
    writeback_enabled: bool = False
    demo_cache_dir: Path | None = None  # where generated demo data sets are kept (default: demo_dir)

    def __post_init__(self) -> None:
        register_secret(self.superset_admin_password)
        if self.dagster_home is None:
            self.dagster_home = self.data_dir / "dagster"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        data_dir = Path(e.get("HAPPYCLIENT_DATA_DIR", "").strip() or PROJECT_ROOT / ".data").resolve()
        dagster_home = e.get("DAGSTER_HOME", "").strip()
        return cls(
            data_dir=data_dir,
            warehouse_url=e.get("WAREHOUSE_URL", "").strip() or None,
            pg_port=_env_int(e, "HAPPYCLIENT_PG_PORT", 55432),
            as_of=_env_date(e, "HAPPYCLIENT_AS_OF"),
            superset_port=_env_int(e, "SUPERSET_PORT", 8088),
            superset_admin_user=e.get("SUPERSET_ADMIN_USER", "").strip() or "admin",
            superset_admin_password=e.get("SUPERSET_ADMIN_PASSWORD", "").strip() or None,
            superset_url=e.get("SUPERSET_URL", "").strip() or None,
            dagster_port=_env_int(e, "DAGSTER_PORT", 3000),
            dagster_home=Path(dagster_home).resolve() if dagster_home else None,
            writeback_enabled=_env_bool(e, "WRITEBACK_ENABLED", False),
        )

    # -- derived paths ---------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        """pid files of the background processes `happyclient` started."""
        return self.data_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"

    @property
    def demo_data_dir(self) -> Path:
        """Generated demo data sets, one folder per seed and size."""
        return self.demo_cache_dir or self.demo_dir

    @property
    def superset_data_dir(self) -> Path:
        return self.data_dir / "superset"

    @property
    def superset_base_url(self) -> str:
        return self.superset_url or f"http://127.0.0.1:{self.superset_port}"

    def admin_password(self) -> tuple[str, bool]:
        """The Superset admin password: SUPERSET_ADMIN_PASSWORD, else one generated once and
        kept in `<data dir>/superset-admin-password` (mode 0600). Returns (password, is_new)."""
        if self.superset_admin_password:
            return self.superset_admin_password, False
        path = self.data_dir / "superset-admin-password"
        if path.exists():
            password = path.read_text(encoding="utf-8").strip()
            register_secret(password)
            return password, False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(password + "\n")
        register_secret(password)
        return password, True
