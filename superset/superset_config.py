"""Superset configuration for Happy Client. Everything comes from the environment.

Loaded by Superset itself (SUPERSET_CONFIG_PATH points here); runs inside .venv-superset only.

Profiles (HAPPYCLIENT_SUPERSET_PROFILE):
- ``dev`` (default): sqlite metadata in $HAPPYCLIENT_SUPERSET_DATA_DIR/superset.db, in-process
  cache, no Celery worker needed (reports disabled unless a broker is configured).
- ``production``: Postgres metadata (SUPERSET_METADATA_URL, required), Redis cache and Celery
  broker/result backend (REDIS_URL, required), alerts & reports run by a Celery worker + beat.

Environment variables:
- HAPPYCLIENT_SUPERSET_DATA_DIR   state directory (default <repo>/.data/superset)
- SUPERSET_SECRET_KEY             Flask secret; when unset one is generated once and kept in
                                  <data dir>/secret_key (mode 0600)
- SUPERSET_METADATA_URL           SQLAlchemy URL of the metadata database
- REDIS_URL                       redis://host:port/db (production profile)
- SUPERSET_WEBDRIVER_BASEURL      URL the report worker's Chromium opens (default
                                  http://127.0.0.1:$SUPERSET_PORT/)
- SUPERSET_PORT                   port of the web server (default 8088)
- SMTP_HOST, SMTP_PORT, SMTP_STARTTLS, SMTP_SSL, SMTP_USER, SMTP_PASSWORD, SMTP_MAIL_FROM
                                  where alerts & reports are e-mailed
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

_REPO = Path(__file__).resolve().parent.parent
DATA_DIR = str(Path(os.environ.get("HAPPYCLIENT_SUPERSET_DATA_DIR", _REPO / ".data" / "superset")).resolve())
Path(DATA_DIR).mkdir(parents=True, exist_ok=True)
PROFILE = os.environ.get("HAPPYCLIENT_SUPERSET_PROFILE", "dev")
if PROFILE not in {"dev", "production"}:
    raise RuntimeError(f"HAPPYCLIENT_SUPERSET_PROFILE={PROFILE!r}: expected 'dev' or 'production'")


def _secret_key() -> str:
    from_env = os.environ.get("SUPERSET_SECRET_KEY")
    if from_env:
        return from_env
    key_file = Path(DATA_DIR) / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

_metadata_url = os.environ.get("SUPERSET_METADATA_URL")
if PROFILE == "production" and not _metadata_url:
    raise RuntimeError("HAPPYCLIENT_SUPERSET_PROFILE=production needs SUPERSET_METADATA_URL (a Postgres URL)")
SQLALCHEMY_DATABASE_URI = _metadata_url or f"sqlite:///{DATA_DIR}/superset.db?check_same_thread=false"

# ---- language, formats --------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "ru"
LANGUAGES = {"ru": {"flag": "ru", "name": "Russian"}, "en": {"flag": "us", "name": "English"}}
D3_FORMAT = {"decimal": ",", "thousands": "\u00a0", "grouping": [3], "currency": ["", "\u00a0₽"]}
CURRENCIES = ["RUB", "USD", "EUR"]
D3_TIME_FORMAT = {
    "dateTime": "%A, %e %B %Y г. %X",
    "date": "%d.%m.%Y",
    "time": "%H:%M:%S",
    "periods": ["AM", "PM"],
    "days": ["воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"],
    "shortDays": ["вс", "пн", "вт", "ср", "чт", "пт", "сб"],
    "months": ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"],
    "shortMonths": ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"],
}

# ---- features -----------------------------------------------------------------------------
FEATURE_FLAGS = {
    "ALERT_REPORTS": True,
    "DRILL_TO_DETAIL": True,
    "DRILL_BY": True,
    "DASHBOARD_NATIVE_FILTERS": True,
    "DASHBOARD_CROSS_FILTERS": True,
    "DASHBOARD_RBAC": True,
    "EMBEDDED_SUPERSET": False,
    # RLS clauses are Jinja templates on current_username() (happyclient/superset/security.py)
    "ENABLE_TEMPLATE_PROCESSING": True,
    "THUMBNAILS": False,
}
ROW_LEVEL_SECURITY = True  # kept for older releases; RLS is always on in 6.x

# ---- no telemetry, no third-party hosts ---------------------------------------------------
SCARF_ANALYTICS = False
os.environ.setdefault("SCARF_ANALYTICS", "false")
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False

# ---- API access ---------------------------------------------------------------------------
# The sync code logs in with POST /api/v1/security/login (JWT) and sends the token from
# GET /api/v1/security/csrf_token/ with every write, so CSRF stays on for everything.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = int(timedelta(days=1).total_seconds())
FAB_ADD_SECURITY_API = True
AUTH_RATE_LIMITED = False  # logins from tests and the sync client come in bursts
RATELIMIT_ENABLED = False
SQLLAB_BACKEND_PERSISTENCE = True
PREVENT_UNSAFE_DB_CONNECTIONS = False  # the warehouse may be local (embedded Postgres)

SUPERSET_WEBSERVER_PORT = int(os.environ.get("SUPERSET_PORT", "8088"))
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 50000

# ---- cache, Celery, reports ---------------------------------------------------------------
_redis_url = os.environ.get("REDIS_URL")
if PROFILE == "production" and not _redis_url:
    raise RuntimeError("HAPPYCLIENT_SUPERSET_PROFILE=production needs REDIS_URL (redis://host:port/0)")

if _redis_url:

    def _redis_cache(prefix: str, timeout: int) -> dict[str, object]:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_DEFAULT_TIMEOUT": timeout,
            "CACHE_KEY_PREFIX": f"happyclient_{prefix}_",
            "CACHE_REDIS_URL": _redis_url,
        }

    CACHE_CONFIG = _redis_cache("cache", 300)
    DATA_CACHE_CONFIG = _redis_cache("data", 3600)
    FILTER_STATE_CACHE_CONFIG = _redis_cache("filter", 86400)
    EXPLORE_FORM_DATA_CACHE_CONFIG = _redis_cache("explore", 86400)
    _broker = _redis_url
    _results = _redis_url
else:
    _cache_dir = str(Path(DATA_DIR) / "cache")
    CACHE_CONFIG = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": _cache_dir, "CACHE_DEFAULT_TIMEOUT": 300}
    DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
    FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": _cache_dir + "/filter", "CACHE_DEFAULT_TIMEOUT": 86400}
    EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": _cache_dir + "/explore", "CACHE_DEFAULT_TIMEOUT": 86400}
    _broker = f"sqla+sqlite:///{DATA_DIR}/celery_broker.sqlite"
    _results = f"db+sqlite:///{DATA_DIR}/celery_results.sqlite"


class CeleryConfig:
    broker_url = _broker
    result_backend = _results
    imports = ("superset.sql_lab", "superset.tasks.scheduler", "superset.tasks.thumbnails", "superset.tasks.cache")
    worker_prefetch_multiplier = 1
    task_acks_late = False
    beat_schedule = {
        "reports.scheduler": {"task": "reports.scheduler", "schedule": crontab(minute="*", hour="*")},
        "reports.prune_log": {"task": "reports.prune_log", "schedule": crontab(minute=0, hour=0)},
    }


CELERY_CONFIG = CeleryConfig

# Reports render dashboards with headless Chromium through selenium.
WEBDRIVER_TYPE = "chrome"
WEBDRIVER_OPTION_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--force-device-scale-factor=1",
    "--window-size=1600,2000",
]
WEBDRIVER_CONFIGURATION = {
    "options": {"capabilities": {}, "preferences": {}, "binary_location": os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")},
    "service": {
        "executable_path": os.environ.get("CHROMEDRIVER_PATH", "/usr/bin/chromedriver"),
        "log_output": "/dev/null",
        "service_args": [],
        "port": 0,
        "env": {},
    },
}
WEBDRIVER_BASEURL = os.environ.get("SUPERSET_WEBDRIVER_BASEURL", f"http://127.0.0.1:{SUPERSET_WEBSERVER_PORT}/")
WEBDRIVER_BASEURL_USER_FRIENDLY = os.environ.get("SUPERSET_PUBLIC_URL", WEBDRIVER_BASEURL)
SCREENSHOT_LOCATE_WAIT = int(os.environ.get("SUPERSET_SCREENSHOT_LOCATE_WAIT", "120"))
SCREENSHOT_LOAD_WAIT = int(os.environ.get("SUPERSET_SCREENSHOT_LOAD_WAIT", "120"))
ALERT_REPORTS_NOTIFICATION_DRY_RUN = False
EMAIL_REPORTS_SUBJECT_PREFIX = "[Happy Client] "
EMAIL_REPORTS_CTA = "Открыть в Superset"
# Reports go out by e-mail (SMTP settings from the environment; no login when SMTP_USER is unset).
SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "false").lower() == "true"
SMTP_SSL = os.environ.get("SMTP_SSL", "false").lower() == "true"
SMTP_USER = os.environ.get("SMTP_USER")
SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
SMTP_MAIL_FROM = os.environ.get("SMTP_MAIL_FROM", "happyclient@localhost")

LOG_LEVEL = os.environ.get("SUPERSET_LOG_LEVEL", "INFO")
