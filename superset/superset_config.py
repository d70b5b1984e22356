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
- SUPERSET_SECURE_COOKIES         true: session cookies marked Secure (behind the TLS proxy)
- HAPPYCLIENT_AUTH_RATE_LIMIT, HAPPYCLIENT_AUTH_RATE_LIMIT_ADDRESS
                                  failed-login limits (default 5 per minute per address and
                                  username, 20 per minute per address)
- SMTP_HOST, SMTP_PORT, SMTP_STARTTLS, SMTP_SSL, SMTP_USER, SMTP_PASSWORD, SMTP_MAIL_FROM
                                  where alerts & reports are e-mailed
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

_REPO = Path(__file__).resolve().parent.parent
DATA_DIR = str(Path(os.environ.get("HAPPYCLIENT_SUPERSET_DATA_DIR", _REPO / ".data" / "superset")).resolve())
Path(DATA_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
os.umask(0o077)  # the metadata db, caches and logs Superset writes are readable by this user only
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
    "ALERT_REPORT_TABS": True,
    "DRILL_TO_DETAIL": True,
    "DRILL_BY": True,
    "DASHBOARD_NATIVE_FILTERS": True,
    "DASHBOARD_CROSS_FILTERS": True,
    "DASHBOARD_RBAC": True,
    "EMBEDDED_SUPERSET": False,
    # RLS clauses are Jinja templates on current_username() (hc_superset/security.py)
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
    "session_cookie_secure": False,  # Talisman's; Flask's SESSION_COOKIE_SECURE below decides
}
# Behind the authenticating TLS proxy (README «Безопасность») set SUPERSET_SECURE_COOKIES=true:
# browsers then send the session cookie over HTTPS only. Our own sync client keeps sending it to
# SUPERSET_URL (an internal http:// address; hc_superset/client.py).
SESSION_COOKIE_SECURE = os.environ.get("SUPERSET_SECURE_COOKIES", "false").lower() == "true"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CONTENT_SECURITY_POLICY_WARNING = False

# ---- API access ---------------------------------------------------------------------------
# The sync code logs in with POST /api/v1/security/login (JWT) and sends the token from
# GET /api/v1/security/csrf_token/ with every write, so CSRF stays on for everything.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = int(timedelta(days=1).total_seconds())
FAB_ADD_SECURITY_API = True

# ---- logins: rate limited ------------------------------------------------------------------
# Failed logins (form /login/ and API /api/v1/security/login) are limited per client address and
# username (HAPPYCLIENT_AUTH_RATE_LIMIT, default 5 per minute) and per address over all usernames
# (HAPPYCLIENT_AUTH_RATE_LIMIT_ADDRESS, default 20 per minute); past it the answer is 429. A
# successful login costs nothing, so the sync client and the tests are not throttled. Counters
# live in a SQLite file every gunicorn worker shares in the dev profile (below) and in Redis in
# production.
AUTH_RATE_LIMITED = False  # FAB's own limit counts successful form logins too; ours is below
RATELIMIT_ENABLED = True
RATELIMIT_APPLICATION = None
RATELIMIT_HEADERS_ENABLED = True
HAPPYCLIENT_AUTH_RATE_LIMIT = os.environ.get("HAPPYCLIENT_AUTH_RATE_LIMIT", "5 per minute")
HAPPYCLIENT_AUTH_RATE_LIMIT_ADDRESS = os.environ.get("HAPPYCLIENT_AUTH_RATE_LIMIT_ADDRESS", "20 per minute")
SQLLAB_BACKEND_PERSISTENCE = True
PREVENT_UNSAFE_DB_CONNECTIONS = False  # the warehouse may be local (embedded Postgres)

# ---- the warehouse: one PostgreSQL login role per Superset user --------------------------
# The «Happy Client» database connects as hc_<db>_superset, a role that sees no rows
# (hc_base/warehouse_access.py). Every query runs as the role of the Superset user instead:
# Admin and «Коммерческий директор» -> hc_<db>_all; b24_<Bitrix24 id> -> hc_<db>_u_<id>, whose
# rows PostgreSQL's row-level security policies select (session_user, which SQL cannot change).
# Anyone else, and queries without a user, keep the no-rows role.
_WAREHOUSE_ROLE_SUFFIX = "_superset"
_ALL_ROWS_ROLES = {"Admin", "Коммерческий директор"}
_B24_USERNAME = re.compile(r"b24_([0-9]{1,18})")


# ClickHouse (issue 13): those roles and policies are PostgreSQL's. Their ClickHouse form (users and
# row policies) is generated by hc_base/clickhouse_access.py but not run or proven on a server, so
# on a ClickHouse connection only the all-rows roles may query; anyone else is refused (deny by
# default) until it is.
_CLICKHOUSE_DRIVERS = ("clickhousedb", "clickhouse")


class WarehouseAccessDenied(PermissionError):
    pass


# chDB (ClickHouse inside this process; tests/clickhouse only: `?interface=chdb&path=<dir>`):
# opening the engine on a directory takes seconds, and Superset opens a connection per query; while
# one session stays open the others open at once, so one is kept for the life of the process.
_CHDB_SESSIONS = {}
_CHDB_LOCK = threading.Lock()


def _keep_chdb_open(uri):
    path = uri.query.get("path")
    if uri.query.get("interface") != "chdb" or not path:
        return
    with _CHDB_LOCK:
        if path not in _CHDB_SESSIONS:
            import clickhouse_connect

            _CHDB_SESSIONS[path] = clickhouse_connect.get_client(interface="chdb", path=path)


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):
    if uri.drivername.split("+", 1)[0] in _CLICKHOUSE_DRIVERS:
        _keep_chdb_open(uri)
        if username:
            user = security_manager.find_user(username=username)
            if user is None or not user.is_active or not {role.name for role in user.roles} & _ALL_ROWS_ROLES:
                raise WarehouseAccessDenied(
                    "row-level security is not available on a ClickHouse warehouse yet: only Admin and "
                    "«Коммерческий директор» may query it"
                )
        return uri, params
    base = uri.username or ""
    if not (base.startswith("hc_") and base.endswith(_WAREHOUSE_ROLE_SUFFIX)) or not username:
        return uri, params
    prefix = base[: -len(_WAREHOUSE_ROLE_SUFFIX)]
    user = security_manager.find_user(username=username)
    if user is None or not user.is_active:
        return uri, params
    if {role.name for role in user.roles} & _ALL_ROWS_ROLES:
        return uri.set(username=f"{prefix}_all"), params
    match = _B24_USERNAME.fullmatch(username)
    if match:
        return uri.set(username=f"{prefix}_u_{match.group(1)}"), params
    return uri, params


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


# The dev profile runs gunicorn with more than one worker (hc_superset/server.py): the failed-login
# counters live in a SQLite file in the data directory that every worker shares, so the limits hold
# for the whole server and not per worker. Production keeps them in Redis.
from limits.storage import Storage as _LimitStorage  # noqa: E402 (flask-limiter's own dependency)


class _SharedLimitCounters(_LimitStorage):
    """Fixed-window counters of limits/flask-limiter in one SQLite file (scheme hcsqlite:///<path>)."""

    STORAGE_SCHEME = ["hcsqlite"]

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = str(uri).split("://", 1)[1]
        with self._connect() as conn:
            conn.execute("create table if not exists counters (key text primary key, value integer not null, expires real not null)")

    @property
    def base_exceptions(self):
        import sqlite3

        return sqlite3.Error

    def _connect(self):
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.execute("begin immediate")  # one writer at a time across the workers
        return _Committing(conn)

    def incr(self, key, expiry, amount=1):
        import time

        now = time.time()
        with self._connect() as conn:
            row = conn.execute("select value, expires from counters where key = ?", (key,)).fetchone()
            value = row[0] + amount if row and row[1] > now else amount
            expires = row[1] if row and row[1] > now else now + expiry
            conn.execute("insert or replace into counters values (?, ?, ?)", (key, value, expires))
            return value

    def get(self, key):
        import time

        with self._connect() as conn:
            row = conn.execute("select value from counters where key = ? and expires > ?", (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key):
        import time

        with self._connect() as conn:
            row = conn.execute("select expires from counters where key = ? and expires > ?", (key, time.time())).fetchone()
        return row[0] if row else time.time()

    def check(self):
        try:
            with self._connect() as conn:
                conn.execute("select 1")
            return True
        except Exception:  # limits asks for a yes/no health check
            return False

    def reset(self):
        with self._connect() as conn:
            return conn.execute("delete from counters").rowcount

    def clear(self, key):
        with self._connect() as conn:
            conn.execute("delete from counters where key = ?", (key,))


class _Committing:
    """A SQLite connection in an open transaction: commits on a clean exit, rolls back otherwise, closes."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        try:
            self.conn.execute("rollback" if exc_type else "commit")
        finally:
            self.conn.close()


RATELIMIT_STORAGE_URI = _redis_url or f"hcsqlite://{DATA_DIR}/login_limits.sqlite"


class CeleryConfig:
    broker_url = _broker
    result_backend = _results
    imports = ("superset.sql_lab", "superset.tasks.scheduler", "superset.tasks.thumbnails", "superset.tasks.cache")
    worker_prefetch_multiplier = 1
    task_acks_late = False
    # the queue of this instance's tasks: instances (or test runs) that share one Redis database
    # would otherwise take each other's report tasks
    task_default_queue = os.environ.get("SUPERSET_CELERY_QUEUE", "celery")
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


def _webdriver_auth(driver, user):  # type: ignore[no-untyped-def]
    """Log the report worker's Chromium in before it opens a dashboard.

    Superset's own way opens ``/login/`` and then sets the user's session cookie. The login page is
    the single-page app: while it loads, its own requests come back with a new *anonymous* session
    cookie, and one that arrives after ours replaces it, so the dashboard redirects to the login
    page and the screenshot waits until it times out. Whether that happens depends on timing: with
    several gunicorn workers answering those requests in parallel it did in 2 of 4 runs of
    tests/superset/test_reports.py. ``/health`` sets no cookie and runs no script, so nothing can
    overwrite the session cookie set here."""
    from superset.utils.machine_auth import MachineAuthProvider
    from superset.utils.urls import headless_url

    provider = MachineAuthProvider()
    if not hasattr(driver, "add_cookie"):  # a Playwright browser context: Superset's own way
        return provider.authenticate_browser_context(driver, user)
    driver.get(headless_url("/health"))
    for name, value in provider.get_cookies(user).items():
        driver.add_cookie({"name": name, "value": value, "path": "/", "httpOnly": True,
                           "secure": SESSION_COOKIE_SECURE, "sameSite": SESSION_COOKIE_SAMESITE})
    return driver


WEBDRIVER_AUTH_FUNC = _webdriver_auth
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


# ---- security manager: forced password change; logins rate limited; generic errors --------
from superset.security import SupersetSecurityManager  # noqa: E402

MUST_CHANGE_PASSWORD_ROLE = "Смена пароля"  # hc_superset/security.py gives it to new users
# what a user with that role may still do: read and change their own user (PUT /api/v1/me/,
# the «/user_info/» page) and fetch the CSRF token that change needs
_PASSWORD_CHANGE_VIEWS = {"CurrentUserRestApi", "user"}
_PASSWORD_CHANGE_PERMISSIONS = {("can_read", "SecurityRestApi")}
_ADMIN_ROLES = {"Admin"}


def _role_names(user):
    return {role.name for role in getattr(user, "roles", None) or []}


class HappyClientSecurityManager(SupersetSecurityManager):
    """Superset's security manager; a user holding «Смена пароля» is allowed nothing but reading
    and changing their own user until they set a new password (the role is then removed)."""

    def _has_view_access(self, user, permission_name, view_name):
        if (
            MUST_CHANGE_PASSWORD_ROLE in _role_names(user)
            and view_name not in _PASSWORD_CHANGE_VIEWS
            and (permission_name, view_name) not in _PASSWORD_CHANGE_PERMISSIONS
        ):
            return False
        return super()._has_view_access(user, permission_name, view_name)

    def raise_for_access(self, *args, **kwargs):
        """Superset's checks, then: users who do not see every row send no custom SQL (SQL
        columns, metrics, filters, WHERE/HAVING) with chart queries; saved metrics and simple
        filters keep working."""
        super().raise_for_access(*args, **kwargs)
        query_context = kwargs.get("query_context")
        if query_context is None:
            return
        from flask import g

        if _role_names(getattr(g, "user", None)) & _ALL_ROWS_ROLES:
            return
        for query in query_context.queries:
            if _custom_sql(query.to_dict()):
                from superset.errors import ErrorLevel, SupersetError, SupersetErrorType
                from superset.exceptions import SupersetSecurityException

                raise SupersetSecurityException(
                    SupersetError(
                        message="Произвольный SQL в запросах графиков доступен только администраторам.",
                        error_type=SupersetErrorType.QUERY_SECURITY_ACCESS_ERROR,
                        level=ErrorLevel.ERROR,
                    )
                )


def _custom_sql(value):
    """True when a chart query (QueryObject.to_dict()) holds SQL written by the caller."""
    if isinstance(value, dict):
        if value.get("expressionType") == "SQL" or value.get("sqlExpression"):
            return True
        extras = value.get("extras")
        if isinstance(extras, dict) and (extras.get("where") or extras.get("having")):
            return True
        return any(_custom_sql(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_custom_sql(v) for v in value)
    return False


CUSTOM_SECURITY_MANAGER = HappyClientSecurityManager

_LOGIN_ENDPOINTS = {"/login/", "/api/v1/security/login"}
_GENERIC_ERROR = "Запрос не выполнен. Обратитесь к администратору панели (подробности в журнале сервера)."


def _login_username():
    from flask import request

    data = request.get_json(silent=True) if request.is_json else request.form
    return str((data or {}).get("username") or "")[:150]


def _login_failed(response):
    from flask import request

    if response.status_code == 429:
        return False
    if request.path.startswith("/api/"):
        return response.status_code != 200
    from flask_login import current_user

    return not current_user.is_authenticated  # the form login redirects either way


# ---- landing page ---------------------------------------------------------------------------
# After login (and on «Главная») a user lands on the first of these dashboards they may open, not
# on Superset's generic home page; a welcome dashboard the user chose themselves still wins.
LANDING_DASHBOARD_SLUGS = ("panel-rukovoditelya", "menedzher", "razvitie-klientov")


def _landing_after_login(app):
    """Superset's home (/superset/welcome/, where login and «Главная» lead) redirects to the
    landing dashboard. A hook, not a wrapped view: FLASK_APP_MUTATOR runs before Superset
    registers its views."""
    from flask import redirect, request
    from flask_login import current_user

    @app.before_request
    def _landing():
        if request.method != "GET" or request.path.rstrip("/") != "/superset/welcome" or not current_user.is_authenticated:
            return None
        from superset.extensions import db
        from superset.models.dashboard import Dashboard
        from superset.models.user_attributes import UserAttribute

        from superset import security_manager

        if db.session.query(UserAttribute.welcome_dashboard_id).filter_by(user_id=current_user.id).scalar():
            return None  # Superset shows the welcome dashboard the user chose
        for slug in LANDING_DASHBOARD_SLUGS:
            dashboard = db.session.query(Dashboard).filter_by(slug=slug).one_or_none()
            if dashboard is not None and security_manager.can_access_dashboard(dashboard):
                return redirect(f"/superset/dashboard/{slug}/")
        return None


def FLASK_APP_MUTATOR(app):
    import logging

    from flask import g, jsonify, request
    from flask_limiter.util import get_remote_address

    limiter = app.appbuilder.sm.limiter
    for endpoint, view in list(app.view_functions.items()):
        rule = next((r.rule for r in app.url_map.iter_rules() if r.endpoint == endpoint), "")
        if rule not in _LOGIN_ENDPOINTS:
            continue
        limited = limiter.limit(
            HAPPYCLIENT_AUTH_RATE_LIMIT,
            key_func=lambda: f"{get_remote_address()}|{_login_username()}",
            methods=["POST"],
            deduct_when=_login_failed,
            scope="happyclient-login-user",
        )(view)
        limited = limiter.limit(
            HAPPYCLIENT_AUTH_RATE_LIMIT_ADDRESS,
            key_func=get_remote_address,
            methods=["POST"],
            deduct_when=_login_failed,
            scope="happyclient-login-address",
        )(limited)
        app.view_functions[endpoint] = limited

    _landing_after_login(app)

    @app.after_request
    def _password_changed(response):
        # PUT /api/v1/me/ with a new password ends the forced change
        if request.method == "PUT" and request.path.rstrip("/") == "/api/v1/me" and response.status_code == 200:
            body = request.get_json(silent=True) or {}
            user = getattr(g, "user", None)
            if body.get("password") and user is not None and MUST_CHANGE_PASSWORD_ROLE in _role_names(user):
                from superset.extensions import db

                user.roles = [r for r in user.roles if r.name != MUST_CHANGE_PASSWORD_ROLE]
                db.session.commit()
        return response

    @app.after_request
    def _generic_query_errors(response):
        # a failed chart query shows non-admins a generic message: Superset's own one carries the
        # generated SQL with the row-level security predicate; an HTML error page becomes JSON 400
        if not request.path.startswith("/api/v1/chart/data") or response.status_code < 400 or response.status_code in (401, 403, 429):
            return response
        user = getattr(g, "user", None)
        if user is not None and _role_names(user) & _ADMIN_ROLES:
            return response
        logging.getLogger("happyclient").warning(
            "chart data failed for the non-admin %s (HTTP %s); Superset's message is in the log above",
            getattr(user, "username", None), response.status_code,
        )
        out = jsonify({"message": _GENERIC_ERROR, "errors": [{"message": _GENERIC_ERROR, "error_type": "GENERIC_DB_ENGINE_ERROR", "level": "error", "extra": {}}]})
        out.status_code = 400 if response.status_code >= 500 else response.status_code
        return out
