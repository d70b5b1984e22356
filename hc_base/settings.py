"""Every environment variable of the platform, read in one place.

Connector variables (BITRIX24_*, ONEC_*, FILES_DIR, FILES_MAPPING) are read by
`ingestion.config.SourceSettings.from_env`; this module delegates to it. Superset's own process
reads its variables in `superset/superset_config.py`; they are listed in `ENV_VARS` as well so
that the README table and `happyclient status` show one complete list.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

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
    "HAPPYCLIENT_COMPARE": (
        "",
        "an extra pair of periods for the client-development marts (grain `custom`), CURRENT:BASE, "
        "e.g. 2026-H2:2026-H1 or 2026-07-01..2026-12-31:2026-01-01..2026-06-30, or all; passed to dbt "
        "as var compare_periods (`--compare` of `happyclient pipeline` / `dbt` wins)",
    ),
    "HAPPYCLIENT_DBT_VARS": (
        "",
        "more dbt vars for the pipeline and `happyclient dbt`, a YAML/JSON mapping, e.g. "
        "{abc_months: 6, stability_base: previous} (`--var KEY=VALUE` wins)",
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


_PERIOD_NAME = re.compile(r"(\d{4})(?:-(?:H([12])|Q([1-4])|(\d{2})))?")


def _period_range(text: str) -> tuple[date, date]:
    """(first day, last day) of a period: FIRST..LAST (YYYY-MM-DD), a year 2026, a half-year
    2026-H2, a quarter 2026-Q3 or a month 2026-07."""
    text = text.strip()
    if ".." in text:
        first_text, _, last_text = text.partition("..")
        try:
            first, last = date.fromisoformat(first_text.strip()), date.fromisoformat(last_text.strip())
        except ValueError:
            raise SettingsError(f"a period FIRST..LAST needs two dates YYYY-MM-DD, got {text!r}") from None
        if last < first:
            raise SettingsError(f"the period {text!r} ends before it starts")
        return first, last
    match = _PERIOD_NAME.fullmatch(text)
    if match is None:
        raise SettingsError(
            f"not a period: {text!r} (a year 2026, half-year 2026-H2, quarter 2026-Q3, month 2026-07, "
            "or FIRST..LAST as YYYY-MM-DD..YYYY-MM-DD)")
    year, half, quarter, month = match.groups()
    start_month, months = 1, 12
    if half:
        start_month, months = 6 * (int(half) - 1) + 1, 6
    elif quarter:
        start_month, months = 3 * (int(quarter) - 1) + 1, 3
    elif month:
        if not 1 <= int(month) <= 12:
            raise SettingsError(f"not a month: {text!r}")
        start_month, months = int(month), 1
    first = date(int(year), start_month, 1)
    end_month = start_month + months  # the month after the period, 13 = January next year
    after = date(int(year) + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return first, date.fromordinal(after.toordinal() - 1)


def parse_compare(text: str) -> str:
    """A pair of periods CURRENT:BASE (or CURRENT alone, or `all`: the whole history) as the
    dbt var compare_periods takes it: `YYYY-MM-DD..YYYY-MM-DD:YYYY-MM-DD..YYYY-MM-DD`.
    Each period is FIRST..LAST or a name (2026, 2026-H2, 2026-Q3, 2026-07); ends are inclusive.
    `SettingsError` when a period is malformed or the two overlap."""
    text = text.strip()
    if text.lower() == "all":
        return "all"
    parts = text.split(":")
    if not text or len(parts) > 2:
        raise SettingsError(f"a comparison is CURRENT:BASE, e.g. 2026-H2:2026-H1, got {text!r}")
    ranges = [_period_range(part) for part in parts]
    if len(ranges) == 2 and not (ranges[1][1] < ranges[0][0] or ranges[0][1] < ranges[1][0]):
        raise SettingsError(f"the current and base periods overlap in {text!r}")
    return ":".join(f"{first.isoformat()}..{last.isoformat()}" for first, last in ranges)


def _env_compare(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_compare(raw)
    except SettingsError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def parse_dbt_vars(text: str, origin: str = "HAPPYCLIENT_DBT_VARS") -> dict[str, Any]:
    """A YAML/JSON mapping of dbt vars; `SettingsError` naming `origin` otherwise."""
    import yaml

    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{origin} is not YAML or JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SettingsError(f"{origin} must be a YAML or JSON mapping, e.g. {{abc_months: 6}}")
    return {str(k): v for k, v in value.items()}


def parse_var_option(text: str) -> tuple[str, Any]:
    """`--var KEY=VALUE`: the value is read as YAML (6 -> 6, previous -> 'previous', [0.1, 0.3] -> a list)."""
    import yaml

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SettingsError(f"--var takes KEY=VALUE, e.g. --var abc_months=6, got {text!r}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


@dataclass
class Settings:
    """The platform's configuration. Build it with `Settings.from_env()`."""

    data_dir: Path
    warehouse_url: str | None = None
    pg_port: int = 55432
    as_of: date | None = None
    compare: str | None = None  # var compare_periods (parse_compare's form), from HAPPYCLIENT_COMPARE
    dbt_vars: dict[str, Any] = field(default_factory=dict)  # HAPPYCLIENT_DBT_VARS
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
            compare=_env_compare(e, "HAPPYCLIENT_COMPARE"),
            dbt_vars=parse_dbt_vars(e.get("HAPPYCLIENT_DBT_VARS", "")),
            superset_port=_env_int(e, "SUPERSET_PORT", 8088),
            superset_admin_user=e.get("SUPERSET_ADMIN_USER", "").strip() or "admin",
            superset_admin_password=e.get("SUPERSET_ADMIN_PASSWORD", "").strip() or None,
            superset_url=e.get("SUPERSET_URL", "").strip() or None,
            dagster_port=_env_int(e, "DAGSTER_PORT", 3000),
            dagster_home=Path(dagster_home).resolve() if dagster_home else None,
            writeback_enabled=_env_bool(e, "WRITEBACK_ENABLED", False),
        )

    def run_dbt_vars(self) -> dict[str, Any]:
        """The dbt vars of a pipeline run or `happyclient dbt`: HAPPYCLIENT_DBT_VARS, then
        as_of_date (HAPPYCLIENT_AS_OF) and compare_periods (HAPPYCLIENT_COMPARE) when set."""
        out = dict(self.dbt_vars)
        if self.as_of is not None:
            out["as_of_date"] = self.as_of.isoformat()
        if self.compare is not None:
            out["compare_periods"] = self.compare
        return out

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
