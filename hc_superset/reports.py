"""Scheduled reports (Superset alerts & reports): the weekly «Панель руководителя» e-mail.

Reports run in the production-like profile: a Celery worker + beat (SupersetServer.start_worker)
with Redis as broker; the worker renders the dashboard with headless Chromium and e-mails it.
"""

from __future__ import annotations

from typing import Any

import prison

from hc_superset.client import SupersetClient

WEEKLY_CRONTAB = "0 9 * * 1"  # Mondays 09:00


def ensure_dashboard_report(
    base_url: str,
    user: str,
    password: str,
    *,
    dashboard_id: int,
    name: str,
    recipients: list[str],
    crontab: str = WEEKLY_CRONTAB,
    timezone: str = "Europe/Moscow",
    report_format: str = "PNG",
) -> int:
    """Create or update (by name) an e-mailed dashboard report; returns its id."""
    if not recipients:
        raise ValueError(f"report {name!r}: at least one e-mail recipient is needed")
    client = SupersetClient(base_url, user, password)
    body: dict[str, Any] = {
        "type": "Report",
        "name": name,
        "description": f"Еженедельный отчет «{name}»",
        "crontab": crontab,
        "timezone": timezone,
        "active": True,
        "dashboard": dashboard_id,
        "creation_method": "alerts_reports",
        "report_format": report_format,
        "recipients": [{"type": "Email", "recipient_config_json": {"target": ",".join(recipients)}}],
        "working_timeout": 300,
        "log_retention": 90,
        "force_screenshot": True,
    }
    found = client.get("/api/v1/report/", params={"q": prison.dumps({"filters": [{"col": "name", "opr": "eq", "value": name}]})})["result"]
    if found:
        client.put(f"/api/v1/report/{found[0]['id']}", body)
        return int(found[0]["id"])
    return int(client.post("/api/v1/report/", body)["id"])


def report_logs(base_url: str, user: str, password: str, report_id: int) -> list[dict[str, Any]]:
    """Execution log of a report, newest first (state is «Success», «Error», «Working»...)."""
    client = SupersetClient(base_url, user, password)
    q = prison.dumps({"order_column": "start_dttm", "order_direction": "desc", "page_size": 20})
    return list(client.get(f"/api/v1/report/{report_id}/log/", params={"q": q})["result"])
