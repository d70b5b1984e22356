"""Production-like profile: Postgres metadata, Redis cache/broker, Celery worker, and the weekly
«Панель руководителя» report rendered by headless Chromium and e-mailed (to a local SMTP sink)."""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from hc_superset.assets import dashboard_tabs
from hc_superset.reports import WEEKLY_CRONTAB, ensure_dashboard_report, report_logs
from hc_superset.server import SupersetServer
from hc_superset.sync import import_assets
from tests.superset.harness import ADMIN_PASSWORD, ADMIN_USER, ASSETS_DIR, PROJECT_ROOT, free_port
from tests.superset.smtp_sink import SmtpSink

# the Redis the production-like profile uses: REDIS_URL when set (as in production), else the
# local default; the test is skipped when nothing answers there
_REDIS = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
REDIS_HOST, REDIS_PORT = _REDIS.hostname or "127.0.0.1", _REDIS.port or 6379
SCREENSHOT_WAIT_S = 300
# the panel's tabs, each rendered to its own screenshot of the e-mail
PANEL_TABS = [tab.id for tab in dashboard_tabs(
    yaml.safe_load((ASSETS_DIR / "dashboards" / "panel_rukovoditelya.yaml").read_text(encoding="utf-8"))["position"])
    if tab.id is not None]


def _redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _to(smtp: SmtpSink, address: str) -> list:
    return [m for m in smtp.messages if address in str(m["To"])]


@pytest.mark.redis
@pytest.mark.skipif(not _redis_reachable(), reason=f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT} (needed by the production-like profile)")
def test_weekly_report_is_rendered_and_sent(make_database: Callable[[str], str], warehouse_url: str, tmp_path: Path) -> None:
    metadata_url = make_database("ssmeta").replace("postgresql://", "postgresql+psycopg2://", 1)
    with SmtpSink() as smtp:
        server = SupersetServer(
            tmp_path / "superset",
            port=free_port(),
            # several gunicorn workers, as in production (docker-compose runs 4): the report worker
            # once lost its login to a cookie race on the login page there (superset_config.py,
            # _webdriver_auth); 2 of 4 runs failed so before the fix, none of 4 after
            workers=2,
            env={
                "HAPPYCLIENT_SUPERSET_PROFILE": "production",
                "SUPERSET_METADATA_URL": metadata_url,
                "REDIS_URL": f"redis://{_REDIS.netloc}/11",  # a database of its own on that server
                # and a queue of its own: a worker left by another run on that database (seen: one
                # orphaned when its data dir was deleted) would take this run's report task
                "SUPERSET_CELERY_QUEUE": f"hc-test-{uuid.uuid4().hex[:12]}",
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(smtp.port),
                "SMTP_STARTTLS": "false",
                # as behind the TLS proxy: the sync client and the report worker still work
                "SUPERSET_SECURE_COOKIES": "true",
                # a busy machine (the whole suite beside it) once needed 138 s to render the panel,
                # beyond Superset's 120 s default wait: give the screenshot ten minutes
                "SUPERSET_SCREENSHOT_LOCATE_WAIT": str(SCREENSHOT_WAIT_S),
                "SUPERSET_SCREENSHOT_LOAD_WAIT": str(SCREENSHOT_WAIT_S),
            },
        )
        try:
            server.init(ADMIN_USER, ADMIN_PASSWORD)
            server.start()
            report = import_assets(server.url, ADMIN_USER, ADMIN_PASSWORD, ASSETS_DIR, warehouse_url)
            report_id = ensure_dashboard_report(
                server.url, ADMIN_USER, ADMIN_PASSWORD,
                dashboard_id=report.dashboard_ids["Панель руководителя"],
                name="Панель руководителя: еженедельно",
                recipients=["ceo@example.ru"],
            )
            # the same call again updates instead of duplicating
            assert ensure_dashboard_report(
                server.url, ADMIN_USER, ADMIN_PASSWORD,
                dashboard_id=report.dashboard_ids["Панель руководителя"],
                name="Панель руководителя: еженедельно", recipients=["ceo@example.ru"], crontab=WEEKLY_CRONTAB,
            ) == report_id
            server.start_worker(beat=False)
            server.run_report_now(report_id)
            deadline = time.monotonic() + 2 * SCREENSHOT_WAIT_S + 120  # locate + load waits, then the e-mail
            while time.monotonic() < deadline and not _to(smtp, "ceo@example.ru"):
                if any("ailed" in str(m["Subject"]) for m in smtp.messages):
                    break  # Superset mailed the owner that the report failed
                time.sleep(1)
            logs = report_logs(server.url, ADMIN_USER, ADMIN_PASSWORD, report_id)
        finally:
            server.stop_worker()
            server.stop()
    sent = _to(smtp, "ceo@example.ru")
    assert sent, f"no report e-mail; subjects {[m['Subject'] for m in smtp.messages]}; log {logs}; see {server.data_dir / 'worker.log'}"
    message = sent[0]
    images = [part.get_payload(decode=True) for part in message.walk() if part.get_content_type() == "image/png"]
    # one screenshot per tab of the panel (a tab's charts are drawn only when it is shown)
    assert len(images) == len(PANEL_TABS) == 3 and all(i.startswith(b"\x89PNG") for i in images), len(images)
    assert len(set(images)) == len(images), "two tabs gave the same picture"
    (PROJECT_ROOT / "test-artifacts").mkdir(exist_ok=True)
    for n, image in enumerate(images, 1):
        (PROJECT_ROOT / "test-artifacts" / f"report_panel_rukovoditelya_tab{n}.png").write_bytes(image)
    assert logs and logs[0]["state"] == "Success", logs
