"""Every dashboard renders in headless Chromium without chart errors, and shows the marts' numbers."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

import psycopg
import pytest
from selenium import webdriver

from hc_superset.assets import DashboardTab, dashboard_tabs, read_assets, slugify
from hc_superset.sync import ImportReport
from tests.browser.dashboard_page import (
    chart_table,
    chart_texts,
    login,
    make_driver,
    network_events,
    open_dashboard,
    screenshot,
)
from tests.superset.harness import ASSETS_DIR, PROJECT_ROOT, RunningSuperset

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DASHBOARDS = {c["dashboard_title"]: c for p, c in read_assets(ASSETS_DIR).items() if p.startswith("dashboards/")}


def _chart_count(dashboard: dict) -> int:
    return sum(1 for n in dashboard["position"].values() if isinstance(n, dict) and n.get("type") == "CHART")


def _tabs(dashboard: dict) -> list[DashboardTab]:
    return dashboard_tabs(dashboard["position"])


@pytest.fixture(scope="module")
def admin_browser(superset: RunningSuperset, imported: ImportReport) -> Iterator[webdriver.Chrome]:
    driver = make_driver()
    try:
        login(driver, superset.url, superset.user, superset.password)
        yield driver
    finally:
        driver.quit()


def _digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _pct(numerator: Decimal, denominator: Decimal) -> int:
    return int((Decimal(100) * numerator / denominator).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _rub(value: Decimal) -> str:
    """Rubles as the dashboards must show them (D3_FORMAT in superset_config + "$,.0f"): thousands
    separated by a space, the sign after a space: 1234567.4 -> «1 234 567 ₽». The format writes
    no-break spaces; WebDriver's element text gives them as plain spaces."""
    whole = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{whole:,}".replace(",", " ") + " ₽"


def test_rub_formatting_of_the_expected_values() -> None:
    assert _rub(Decimal("1234567.4")) == "1 234 567 ₽"
    assert _rub(Decimal("999.5")) == "1 000 ₽"
    assert _rub(Decimal("42")) == "42 ₽"


@pytest.mark.parametrize("title", sorted(DASHBOARDS))
def test_dashboard_renders_every_chart_without_errors(title: str, superset: RunningSuperset, imported: ImportReport, admin_browser: webdriver.Chrome) -> None:
    states = open_dashboard(admin_browser, superset.url, imported.dashboard_ids[title], _tabs(DASHBOARDS[title]))
    shot = screenshot(admin_browser, ARTIFACTS / f"dashboard_{slugify(title)}.png")
    assert len(states) == _chart_count(DASHBOARDS[title])
    errors = {s.id: s.error for s in states if s.error}
    assert not errors, f"charts with errors on «{title}» (screenshot {shot}): {errors}"
    if title == "Панель руководителя" and os.environ.get("HAPPYCLIENT_UPDATE_SCREENSHOTS") == "1":
        shutil.copy2(shot, PROJECT_ROOT / "docs" / "screenshots" / "panel_rukovoditelya.png")


def test_no_request_leaves_for_another_host(superset: RunningSuperset, imported: ImportReport) -> None:
    """Everything the pages ask for (scripts, fonts, data, pixels) comes from Superset itself: no
    CDN, no telemetry. Read from Chromium's network log, in a browser of its own, over the login
    and every tab of every dashboard. A request the page's Content-Security-Policy blocks never
    leaves the browser, and is not counted."""
    driver = make_driver()
    try:
        login(driver, superset.url, superset.user, superset.password)
        for title in sorted(DASHBOARDS):
            open_dashboard(driver, superset.url, imported.dashboard_ids[title], _tabs(DASHBOARDS[title]))
        sent: dict[str, str] = {}
        blocked: set[str] = set()
        for method, params in network_events(driver):
            if method == "Network.requestWillBeSent":
                sent[params["requestId"]] = (params.get("request") or {}).get("url", "")
            elif method == "Network.loadingFailed" and params.get("blockedReason"):
                blocked.add(params["requestId"])
    finally:
        driver.quit()
    own = urlsplit(superset.url).netloc
    others = sorted({url for request_id, url in sent.items() if request_id not in blocked
                     and urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != own})
    assert len(sent) > 100, f"the network log holds only {len(sent)} requests"
    assert not others, f"requests to other hosts: {others}"


def test_executive_panel_headline_numbers_equal_the_marts(superset: RunningSuperset, imported: ImportReport, admin_browser: webdriver.Chrome, warehouse_url: str) -> None:
    title = "Панель руководителя"
    open_dashboard(admin_browser, superset.url, imported.dashboard_ids[title], _tabs(DASHBOARDS[title]))
    ids = {name: imported.chart_ids[c["uuid"]] for p, c in read_assets(ASSETS_DIR).items() if p.startswith("charts/") for name in [c["slice_name"]]}
    with psycopg.connect(warehouse_url) as conn:
        year = conn.execute("select max(period_label) from marts.client_base_by_region where period_grain = 'year'").fetchone()[0]
        active, attracted, total = conn.execute(
            "select sum(active_clients), sum(attracted_clients), sum(total_outlets) from marts.client_base_by_region"
            " where period_grain = 'year' and period_label = %s and client_scope = 'A+B'",
            (year,),
        ).fetchone()
        revenue, plan = conn.execute(
            "select sum(fact_value), sum(target_value) from marts.kpi_panel"
            " where period_grain = 'year' and period_label = %s and kpi_level = 'manager' and kpi_code = 'sales_plan'",
            (year,),
        ).fetchone()
        region_row = conn.execute(
            "select region, total_outlets, potential_clients, active_clients, attracted_clients"
            " from marts.client_base_by_region where period_grain = 'year' and period_label = %s and client_scope = 'A+B'"
            " order by (region = 'Санкт-Петербург') desc, total_outlets desc limit 1",
            (year,),
        ).fetchone()

    def big(name: str) -> str:
        texts = chart_texts(admin_browser, ids[name], ".header-line")
        assert len(texts) == 1, f"{name}: {texts}"
        return texts[0]

    assert _digits(big("Привлечено клиентов")) == attracted
    assert big("Охват рынка") == f"{_pct(Decimal(active + attracted), Decimal(total))}%"
    assert revenue >= 1000, "the demo revenue is too small to show a thousands separator"
    assert big("Выручка") == _rub(revenue), "rubles must read «1 234 567 ₽» (no «RUB», space-separated thousands)"
    assert big("Выполнение плана продаж") == f"{_pct(Decimal(revenue), Decimal(plan))}%"

    region, r_total, r_potential, r_active, r_attracted = region_row
    rows = chart_texts(admin_browser, ids["КБ по регионам"], "tbody tr")
    row = next(r for r in rows if r.startswith(region))
    shown = row[len(region):].replace("\u00a0", "").replace(" ", "").replace("\n", "")
    expected = (
        f"{r_total}{r_potential}{r_active}{r_attracted}"
        f"{_pct(Decimal(r_attracted), Decimal(r_potential))}%{_pct(Decimal(r_active + r_attracted), Decimal(r_total))}%"
    )
    assert shown == expected, f"row {row!r} != marts {region_row}"


def test_manager_lists_show_rubles_with_space_separated_thousands(superset: RunningSuperset, imported: ImportReport, admin_browser: webdriver.Chrome, warehouse_url: str) -> None:
    """Money in a table cell (the overdue list's 12-month revenue) reads «1 234 567 ₽» and equals the mart."""
    title = "Менеджер"
    open_dashboard(admin_browser, superset.url, imported.dashboard_ids[title], _tabs(DASHBOARDS[title]))
    chart_uuid = next(c["uuid"] for p, c in read_assets(ASSETS_DIR).items() if p.startswith("charts/") and c["slice_name"] == "Клиенты, просрочившие закупку")
    rows = chart_table(admin_browser, imported.chart_ids[chart_uuid])
    with psycopg.connect(warehouse_url) as conn:
        revenue_by_inn = dict(conn.execute("select inn, revenue_t12 from marts.overdue_clients where inn is not null").fetchall())
    checked = [(row[1], row[-1]) for row in rows if row and row[1] in revenue_by_inn]
    assert checked, f"no overdue client with an ИНН on the first page: {rows[:3]}"
    assert any(revenue_by_inn[inn] >= 1000 for inn, _ in checked), "no revenue over 1 000 to show a separator"
    for inn, shown in checked:
        assert shown == _rub(revenue_by_inn[inn]), f"ИНН {inn}: shown {shown!r}, mart {revenue_by_inn[inn]}"
