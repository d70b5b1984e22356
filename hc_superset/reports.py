"""Scheduled reports (Superset alerts & reports): the weekly «Панель руководителя» e-mail.

Reports run in the production-like profile: a Celery worker + beat (SupersetServer.start_worker)
with Redis as broker; the worker renders the dashboard with headless Chromium and e-mails it.

A dashboard in tabs draws only the tab shown, so the report takes one screenshot per tab
(Superset's ALERT_REPORT_TABS): the worker opens a permalink of the dashboard at each tab.
In Superset 6.1 the worker creates those permalinks inside the report's own transaction, which
is still open while its Chromium asks the web server for them. The web server cannot see them:
the page never shows the dashboard and the screenshot times out. The first permalink ever made
also creates Superset's permalink salt; made there, it blocked the web server for 120 s.

Permalinks are deterministic: the same user, dashboard and state give the same key, and an
existing one is reused. So `ensure_dashboard_report` creates, through the web server (committed),
the very permalinks the worker will ask for: one per tab, in the state the worker builds (the tab
as anchor, no data mask, no active tabs, no native filters), as the calling user. The worker
then finds them, and the report renders (tests/superset/test_reports.py). This holds while
the report runs as the user who saved it, Superset's default (ALERT_REPORTS_EXECUTORS: the
owner).
"""

from __future__ import annotations

import json
from typing import Any

import prison

from hc_superset.assets import dashboard_tabs
from hc_superset.client import SupersetClient

WEEKLY_CRONTAB = "0 9 * * 1"  # Mondays 09:00


def report_tab_state(tab: str) -> dict[str, Any]:
    """The permalink state Superset's report worker builds for one tab of a dashboard report
    with no native filters (superset.commands.report.execute, `_get_tabs_urls`)."""
    return {"anchor": tab, "dataMask": None, "activeTabs": None, "urlParams": [["native_filters", "()"]]}


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
    tabs: list[str] | None = None,
) -> int:
    """Create or update (by name) an e-mailed dashboard report; returns its id.

    `tabs`: the ids of the dashboard's tabs to render, one screenshot each; by default every
    top-level tab of the dashboard's layout (none for a dashboard without tabs)."""
    if not recipients:
        raise ValueError(f"report {name!r}: at least one e-mail recipient is needed")
    client = SupersetClient(base_url, user, password)
    if tabs is None:
        position = json.loads(client.get(f"/api/v1/dashboard/{dashboard_id}")["result"].get("position_json") or "{}")
        tabs = [tab.id for tab in dashboard_tabs(position) if tab.id is not None]
    for tab in tabs:
        # the permalink the worker will open for this tab, committed beforehand (module docstring)
        client.post(f"/api/v1/dashboard/{dashboard_id}/permalink", report_tab_state(tab))
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
    if tabs:
        body["extra"] = {"dashboard": {"anchor": json.dumps(tabs)}}
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
