"""Row-level security in the browser: each role's user sees only their rows on the dashboard."""
from __future__ import annotations

import psycopg
import pytest

from hc_superset.assets import dashboard_tabs, read_assets
from hc_superset.security import ROLE_DEPARTMENT_HEAD, ROLE_DIRECTOR, ROLE_MANAGER, SecurityReport
from hc_superset.sync import ImportReport
from tests.browser.dashboard_page import chart_texts, login, make_driver, open_dashboard
from tests.superset.harness import ASSETS_DIR, USER_PASSWORD, RunningSuperset

# each role opens a dashboard assigned to it (issue 14: «Панель руководителя» holds company-wide
# region figures, so it is the director's; the KPI table is on the «Менеджер» dashboard too)
TITLES = {ROLE_MANAGER: "Менеджер", ROLE_DEPARTMENT_HEAD: "Менеджер", ROLE_DIRECTOR: "Панель руководителя"}
KPI_TABLE = "Выполнение KPI по менеджерам"


def _visible_managers(warehouse_url: str, username: str, role: str) -> set[str]:
    """Manager names the user may see on the KPI table, worked out from the warehouse."""
    manager_id = username.removeprefix("b24_")
    with psycopg.connect(warehouse_url) as conn:
        if role == ROLE_MANAGER:
            where, args = "k.manager_id = %s", (manager_id,)
        elif role == ROLE_DEPARTMENT_HEAD:
            where, args = "k.department_id in (select department_id from marts.dim_departments where head_user_id = %s)", (manager_id,)
        else:
            where, args = "true", ()
        rows = conn.execute(f"select distinct k.manager_name from marts.kpi_panel as k where k.kpi_level = 'manager' and {where}", args).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("role", [ROLE_MANAGER, ROLE_DEPARTMENT_HEAD, ROLE_DIRECTOR])
def test_user_of_each_role_sees_only_their_rows(role: str, superset: RunningSuperset, imported: ImportReport, security: SecurityReport, warehouse_url: str) -> None:
    username = sorted(u for u, r in security.users.items() if r == role)[0]
    expected = _visible_managers(warehouse_url, username, role)
    title = TITLES[role]
    dashboard = next(c for p, c in read_assets(ASSETS_DIR).items() if p.startswith("dashboards/") and c["dashboard_title"] == title)
    chart_uuid = next(c["uuid"] for p, c in read_assets(ASSETS_DIR).items() if p.startswith("charts/") and c["slice_name"] == KPI_TABLE)
    driver = make_driver()
    try:
        login(driver, superset.url, username, USER_PASSWORD)
        states = open_dashboard(driver, superset.url, imported.dashboard_ids[title], dashboard_tabs(dashboard["position"]))
        assert not [s for s in states if s.error], [s.error for s in states if s.error]
        rows = chart_texts(driver, imported.chart_ids[chart_uuid], "tbody tr")
    finally:
        driver.quit()
    shown = {name for row in rows for name in expected | _all_managers(warehouse_url) if name in row}
    assert shown == expected, f"{username} ({role}) sees {shown}, expected {expected}"


def _all_managers(warehouse_url: str) -> set[str]:
    with psycopg.connect(warehouse_url) as conn:
        return {r[0] for r in conn.execute("select distinct manager_name from marts.kpi_panel where kpi_level = 'manager'")}
