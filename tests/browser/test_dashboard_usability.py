"""Issue 16 items 2–5 in the browser, on every dashboard: filters that apply (or the dashboard
says they do not), one format per unit, no raw technical values, readable charts, and the
landing page after login. Screenshots: HAPPYCLIENT_UPDATE_SCREENSHOTS=1 copies one per
dashboard to docs/screenshots/<slug>.png."""
from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import prison
import psycopg
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from hc_superset.assets import dashboard_tabs, read_assets, slugify
from hc_superset.sync import ImportReport
from tests.browser.dashboard_page import (
    chart_data_responses,
    chart_table,
    flush_network_log,
    login,
    make_driver,
    open_dashboard,
    screenshot,
    show_chart,
    wait_for,
)
from tests.superset.harness import ASSETS_DIR, PROJECT_ROOT, RunningSuperset

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
FILES = read_assets(ASSETS_DIR)
DASHBOARDS = {c["dashboard_title"]: c for p, c in FILES.items() if p.startswith("dashboards/")}
CHARTS = {c["uuid"]: c for p, c in FILES.items() if p.startswith("charts/")}
DATASETS = {c["uuid"]: c for p, c in FILES.items() if p.startswith("datasets/")}


def _chart_uuids(dashboard: dict) -> list[str]:
    return [n["meta"]["uuid"] for n in dashboard["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]


@pytest.fixture(scope="module")
def browser(superset: RunningSuperset, imported: ImportReport) -> Iterator[webdriver.Chrome]:
    driver = make_driver()
    try:
        login(driver, superset.url, superset.user, superset.password)
        yield driver
    finally:
        driver.quit()


# A chart's fingerprint: its text plus a hash of each canvas (ECharts draws bars, pies and the
# funnel on a canvas), read until two reads 0.7 s apart agree (animations finished).
_FINGERPRINT_JS = """
var el = document.querySelector('[data-test-chart-id="' + arguments[0] + '"]');
if (!el) { return null; }
var parts = [el.innerText];
el.querySelectorAll('canvas').forEach(function (c) {
  var s = c.toDataURL(), h = 0;
  for (var i = 0; i < s.length; i += 7) { h = (h * 31 + s.charCodeAt(i)) | 0; }
  parts.push('canvas:' + h);
});
return parts.join('\\n');
"""


def _fingerprints(driver: webdriver.Chrome, tabs: list[list[int]]) -> dict[int, str]:
    """What each chart shows, read tab by tab (`tabs`: the chart ids of each tab) while its tab is
    shown: a chart on a hidden tab keeps whatever state it was hidden in (a table's sticky header,
    a canvas drawn at another size), which is not what a reader sees."""
    shown: dict[int, str] = {}
    for chart_ids in tabs:
        show_chart(driver, chart_ids[0])

        def stable() -> dict[int, str] | None:
            first = {i: driver.execute_script(_FINGERPRINT_JS, i) for i in chart_ids}  # noqa: B023
            time.sleep(0.7)
            second = {i: driver.execute_script(_FINGERPRINT_JS, i) for i in chart_ids}  # noqa: B023
            return second if first == second else None

        shown.update(wait_for(stable, 30, "the charts to stop changing"))
    return shown


def _first_difference(before: str, after: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b), min(len(before), len(after)))
    return f"at {at}: {before[max(0, at - 40):at + 40]!r} -> {after[max(0, at - 40):at + 40]!r}"


def _native_filters_query(filters: dict[str, tuple[str, list[str]]]) -> str:
    """URL parameter that opens a dashboard with these native filter values (Superset's Rison form)."""
    mask = {
        fid: {"id": fid, "extraFormData": {"filters": [{"col": col, "op": "IN", "val": vals}]}, "filterState": {"value": vals}}
        for fid, (col, vals) in filters.items()
    }
    return "&native_filters=" + quote(prison.dumps(mask), safe="")


def _value_that_narrows(warehouse_url: str, flt: dict) -> str:
    """A value of the filter's column that changes what the charts show: the latest year but one
    for «Период» (the default is the latest year), else the value with the fewest rows."""
    dataset = DATASETS[flt["targets"][0]["datasetUuid"]]
    column = flt["targets"][0]["column"]["name"]
    table = f'{dataset["schema"]}.{dataset["table_name"]}'
    with psycopg.connect(warehouse_url) as conn:
        if column == "period_label":
            rows = conn.execute(f"select distinct period_label from {table} where period_grain = 'year' order by 1 desc").fetchall()
            assert len(rows) >= 2, f"{table}: fewer than two years"
            return rows[1][0]
        row = conn.execute(
            f"select {column} from {table} where {column} is not null group by {column} order by count(*), {column} limit 1"
        ).fetchone()
    assert row, f"{table}.{column} is empty"
    return row[0]


@pytest.mark.parametrize("title", sorted(DASHBOARDS))
def test_each_filter_changes_the_charts_it_applies_to_and_the_dashboard_names_the_others(
    title: str, superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome, warehouse_url: str
) -> None:
    """Every native filter of the dashboard in turn, set to a value that narrows the data: the
    charts in its scope change, the others stay as they were and the page says the filter does
    not apply to them."""
    dashboard = DASHBOARDS[title]
    uuids = _chart_uuids(dashboard)
    ids = {u: imported.chart_ids[u] for u in uuids}
    tabs = dashboard_tabs(dashboard["position"])
    by_tab = [[ids[u] for u in tab.chart_uuids] for tab in tabs]
    dash_id = imported.dashboard_ids[title]
    open_dashboard(browser, superset.url, dash_id, tabs)
    before = _fingerprints(browser, by_tab)
    problems = []
    for flt in dashboard["metadata"]["native_filter_configuration"]:
        value = _value_that_narrows(warehouse_url, flt)
        column = flt["targets"][0]["column"]["name"]
        open_dashboard(browser, superset.url, dash_id, tabs, query=_native_filters_query({flt["id"]: (column, [value])}))
        after = _fingerprints(browser, by_tab)
        page = browser.find_element(By.TAG_NAME, "body").text
        excluded = set(flt["scope"].get("excluded") or [])
        for uuid in uuids:
            name = CHARTS[uuid]["slice_name"]
            where = f"«{flt['name']}» = {value!r}: «{name}»"
            if uuid in excluded:
                if before[ids[uuid]] != after[ids[uuid]]:
                    problems.append(f"{where} is out of the filter's scope but changed: {_first_difference(before[ids[uuid]], after[ids[uuid]])}")
                said = [line for line in page.splitlines() if f"«{flt['name']}»" in line and f"«{name}»" in line and "не примен" in line]
                if not said:
                    problems.append(f"{where}: the dashboard does not say that the filter does not apply to it")
            elif before[ids[uuid]] == after[ids[uuid]] and not CHARTS[uuid]["viz_type"].startswith("big_number"):
                # a big number is one rounded figure: «1%» in 2025 and 2026 alike is no proof the
                # filter was ignored; tables and charts must change
                problems.append(f"{where} did not change")
        in_scope = [u for u in uuids if u not in excluded]
        if in_scope and all(before[ids[u]] == after[ids[u]] for u in in_scope):
            problems.append(f"«{flt['name']}» = {value!r}: no chart in its scope changed")
        if problems:
            screenshot(browser, ARTIFACTS / f"filter_{slugify(title)}_{slugify(flt['name'])}.png")
    assert not problems, f"«{title}»:\n" + "\n".join(problems)


# words that are values of the marts' codes, not Russian labels (issue 16 item 4)
RAW_VALUES = re.compile(r"(?<![\w-])(year|month|quarter|half|all|company|manager|department|<NULL>|NULL|null|None|nan|true|false|Ложь|Истина|no_onec_counterparty|[a-z]+_[a-z_]+)(?![\w-])")

# source system codes shown as a value (not inside a table name like onec__users or a link to a portal)
SOURCE_CODES = re.compile(r"(?<![\w./-])(onec|bitrix24|files?)(?![\w./-])")


def test_source_codes_pattern_by_hand() -> None:
    assert SOURCE_CODES.findall("onec\tab40 ПАО\nbitrix24 7 files") == ["onec", "bitrix24", "files"]
    assert not SOURCE_CODES.findall("onec__users https://example.bitrix24.ru/crm/ bitrix24__deal_categories 1С Битрикс24")


@pytest.mark.parametrize("title", sorted(DASHBOARDS))
def test_dashboard_shows_russian_labels_only_and_its_screenshot(
    title: str, superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome
) -> None:
    uuids = _chart_uuids(DASHBOARDS[title])
    tabs = dashboard_tabs(DASHBOARDS[title]["position"])
    open_dashboard(browser, superset.url, imported.dashboard_ids[title], tabs)
    shown = _fingerprints(browser, [[imported.chart_ids[u] for u in tab.chart_uuids] for tab in tabs])
    show_chart(browser, imported.chart_ids[tabs[0].chart_uuids[0]])  # the screenshot shows the first tab
    texts = {CHARTS[u]["slice_name"]: shown[imported.chart_ids[u]] or "" for u in uuids}
    bar = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, '[data-test="filter-bar"], [data-test="dashboard-filters-panel"]'))
    shot = screenshot(browser, ARTIFACTS / f"usability_{slugify(title)}.png")
    if os.environ.get("HAPPYCLIENT_UPDATE_SCREENSHOTS") == "1":
        shutil.copy2(shot, PROJECT_ROOT / "docs" / "screenshots" / f"{slugify(title)}.png")
    raw = {
        name: sorted(set(RAW_VALUES.findall(re.sub(r"canvas:-?\d+", "", text))) | set(SOURCE_CODES.findall(text)))
        for name, text in texts.items()
    }
    # «Свежесть источников» lists warehouse tables by their names (raw.files__sales_lines ...): identifiers
    # a data engineer looks up, not codes standing in for a label; its other values are checked
    raw = {k: [v for v in vs if not (k == "Свежесть источников" and re.fullmatch(r"(files|onec|bitrix24)__[a-z_0-9]+", v))] for k, vs in raw.items()}
    raw = {k: v for k, v in raw.items() if v}
    assert not raw, f"«{title}» shows raw values (screenshot {shot}): {raw}"
    assert not RAW_VALUES.findall(bar), f"«{title}» filter bar shows raw values: {RAW_VALUES.findall(bar)}"
    for name, text in texts.items():
        lines = [t.strip() for t in text.splitlines() if t.strip()]
        first_unknown = next((i for i, t in enumerate(lines) if t.startswith("Не указан")), None)
        if first_unknown is not None:
            after = [t for t in lines[first_unknown + 1 :] if _is_label_row(t)]
            assert not after, f"«{name}»: «Не указан» is not last, {after[:3]} follow it"


def _is_label_row(line: str) -> bool:
    """A table row or legend entry that starts with a category label (not a number, total or pager)."""
    return bool(re.match(r"^[A-Za-zА-Яа-яЁё]", line)) and not line.startswith(("Не указан", "Итог", "Всего", "Показ", "Строк", "canvas:"))


def _rub(value: Decimal) -> str:
    whole = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{whole:,}".replace(",", " ") + " ₽"


def _pct1(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,}".replace(",", " ").replace(".", ",") + " %"


def _count(value: Decimal) -> str:
    return f"{int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}".replace(",", " ")


def test_formatting_helpers_by_hand() -> None:
    assert _rub(Decimal("1473200.5")) == "1 473 201 ₽"
    assert _pct1(Decimal("53.33")) == "53,3 %"
    assert _pct1(Decimal("40")) == "40,0 %"
    assert _count(Decimal("1234")) == "1 234"


UNIT_OF = {"sales_plan": _rub, "order_growth": _pct1, "funnel_conversion": _pct1, "assortment_matrix": _pct1}


def test_kpi_table_shows_fact_and_plan_in_each_kpis_own_unit(
    superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome, warehouse_url: str
) -> None:
    title = "Менеджер"
    uuids = _chart_uuids(DASHBOARDS[title])
    open_dashboard(browser, superset.url, imported.dashboard_ids[title], dashboard_tabs(DASHBOARDS[title]["position"]))
    kpi_uuid = next(u for u in uuids if CHARTS[u]["slice_name"] == "Выполнение KPI по менеджерам")
    rows = chart_table(browser, imported.chart_ids[kpi_uuid])
    with psycopg.connect(warehouse_url) as conn:
        year = conn.execute("select max(period_label) from marts.kpi_panel where period_grain = 'year'").fetchone()[0]
        mart = conn.execute(
            "select manager_name, kpi_name, kpi_code, fact_value, target_value from marts.kpi_panel"
            " where kpi_level = 'manager' and period_label = %s",
            (year,),
        ).fetchall()
    by_key = {(m, k): (code, f, t) for m, k, code, f, t in mart}
    checked = set()
    for row in rows:
        cells = [c.replace("\u00a0", " ") for c in row]
        key = (cells[1], cells[2])
        if key not in by_key:
            continue
        code, fact, target = by_key[key]
        fmt = UNIT_OF.get(code, _count)
        if fact is not None:
            assert cells[3] == fmt(fact), f"{key}: fact {cells[3]!r}, mart {fact}"
        if target is not None:
            assert cells[4] == fmt(target), f"{key}: plan {cells[4]!r}, mart {target}"
        checked.add(code)
    assert checked, f"no KPI row of the first page matched the mart: {rows[:3]}"


def test_action_list_names_the_manager_and_ranks_within_each_manager(
    superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome, warehouse_url: str
) -> None:
    title = "Менеджер"
    uuids = _chart_uuids(DASHBOARDS[title])
    open_dashboard(browser, superset.url, imported.dashboard_ids[title], dashboard_tabs(DASHBOARDS[title]["position"]))
    uuid = next(u for u in uuids if CHARTS[u]["slice_name"] == "Что сделать сейчас")
    chart_id = imported.chart_ids[uuid]
    show_chart(browser, chart_id)
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] thead th')]
    assert headers[:2] == ["Менеджер", "Место у менеджера"], headers
    rows = chart_table(browser, chart_id)
    with psycopg.connect(warehouse_url) as conn:
        total = conn.execute("select count(*) from marts.next_best_actions").fetchone()[0]
        first = conn.execute(
            "select manager_name, action_rank from marts.next_best_actions order by manager_name, action_rank limit %s", (len(rows),)
        ).fetchall()
    assert [(r[0], int(r[1])) for r in rows] == [(m, int(k)) for m, k in first]
    # all actions reachable, not cut at 1 000: the search box counts them all («327 записей...»)
    placeholder = browser.find_element(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] input[placeholder*="запис"]').get_attribute("placeholder") or ""
    assert re.sub(r"\D", "", placeholder) == str(total), (placeholder, total)


def test_login_lands_on_the_executive_panel(superset: RunningSuperset, imported: ImportReport) -> None:
    driver = make_driver()
    try:
        login(driver, superset.url, superset.user, superset.password)
        wait_for(lambda: "/superset/dashboard/" in driver.current_url, 30, "a dashboard after login")
        assert driver.current_url.rstrip("/").endswith("/superset/dashboard/panel-rukovoditelya"), driver.current_url
        wait_for(lambda: "Панель руководителя" in driver.title or driver.find_elements(By.XPATH, "//*[text()='Панель руководителя']"), 30, "the panel's title")
    finally:
        driver.quit()


@pytest.mark.parametrize("title", sorted(t for t, d in DASHBOARDS.items() if any(f["id"] == "NATIVE_FILTER-period" for f in d["metadata"]["native_filter_configuration"])))
def test_period_choices_start_with_the_data(title: str, warehouse_url: str) -> None:
    """The «Период» list comes from its target dataset: no month before the first sale."""
    flt = next(f for f in DASHBOARDS[title]["metadata"]["native_filter_configuration"] if f["id"] == "NATIVE_FILTER-period")
    dataset = DATASETS[flt["targets"][0]["datasetUuid"]]
    with psycopg.connect(warehouse_url) as conn:
        first_sale = conn.execute("select min(document_date) from marts.sales_detail").fetchone()[0]
        first_month = conn.execute(
            f"select min(period_start) from {dataset['schema']}.{dataset['table_name']} where period_grain = 'month'"
        ).fetchone()[0]
    assert first_month is not None
    assert first_month >= first_sale.replace(day=1), f"«{title}»: «Период» offers {first_month:%Y-%m}, the first sale is {first_sale}"


def _is_unknown(value: object) -> bool:
    """«Не указан» (region, channel, source) or «не указан / 3 / C» (a segment of unknown size)."""
    return isinstance(value, str) and value.strip().lower().startswith("не указан")


def _shown_order(form_data: dict, rows: list[dict], column: str) -> list[dict]:
    """The rows in the order the page shows them, top to bottom: a select filter keeps the server's
    order when it has a sort metric and sorts its labels otherwise; ECharts draws the first
    category of a horizontal bar chart at the bottom; tables and the rest keep the server's order."""
    if form_data.get("native_filter_id"):
        if form_data.get("sortMetric"):
            return rows
        return sorted(rows, key=lambda r: str(r.get(column)), reverse=not form_data.get("sortAscending", True))
    if form_data.get("viz_type") == "echarts_timeseries_bar" and form_data.get("orientation") == "horizontal":
        return rows[::-1]
    return rows


def test_shown_order_by_hand() -> None:
    rows = [{"r": "Б"}, {"r": "Не указан"}, {"r": "А"}]
    assert _shown_order({"native_filter_id": "f", "sortAscending": True}, rows, "r") == [{"r": "А"}, {"r": "Б"}, {"r": "Не указан"}]
    assert _shown_order({"native_filter_id": "f", "sortMetric": "m", "sortAscending": True}, rows, "r") == rows
    assert _shown_order({"viz_type": "echarts_timeseries_bar", "orientation": "horizontal"}, rows, "r") == rows[::-1]
    assert _is_unknown("не указан / 3 / C") and _is_unknown("Не указан") and not _is_unknown("Новгородская область")


# lists that carry «Не указан» in the demo data: the check below must have seen them (not vacuous)
UNKNOWN_LISTS = {
    "Панель руководителя": {"КБ по регионам", "% охвата по регионам", "фильтр «Регион»"},
    "Клиентская база и привлечение": {
        "КБ по регионам", "% охвата по регионам", "Каналы привлечения", "Новые клиенты по каналам", "фильтр «Регион»",
    },
    "Развитие клиентов": {"Матрица сегментации", "фильтр «Сегмент»"},
    "Менеджер": {"фильтр «Сегмент»"},
    "Качество данных": {"фильтр «Сегмент»"},
}


@pytest.mark.parametrize("title", sorted(DASHBOARDS))
def test_unknown_is_last_in_every_list_of_the_dashboard(
    title: str, superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome
) -> None:
    """Issue 16 item 4: in every chart that lists regions, channels, sources, managers or segments
    (its group-by and x-axis columns) and in every filter's choices, «Не указан» comes after every
    named value, as drawn: read from the data the browser received for each chart and filter."""
    dashboard = DASHBOARDS[title]
    uuids = _chart_uuids(dashboard)
    chart_names = {imported.chart_ids[u]: CHARTS[u]["slice_name"] for u in uuids}
    filter_names = {f["id"]: f["name"] for f in dashboard["metadata"]["native_filter_configuration"]}
    flush_network_log(browser)
    open_dashboard(browser, superset.url, imported.dashboard_ids[title], dashboard_tabs(DASHBOARDS[title]["position"]))

    got: list[tuple[dict, dict]] = []
    missing: list[str] = []

    def all_answered() -> bool:
        got.extend(chart_data_responses(browser))
        seen = {fd.get("slice_id") for fd, _ in got} | {fd.get("native_filter_id") for fd, _ in got}
        missing[:] = [chart_names[i] for i in chart_names if i not in seen] + [f"фильтр «{filter_names[i]}»" for i in filter_names if i not in seen]
        return not missing

    try:
        wait_for(all_answered, 30, f"the data of every chart and filter of «{title}»", interval=1)
    except TimeoutError:
        pytest.fail(f"«{title}»: no data seen for {missing}")
    checked, wrong = set(), []
    for form_data, result in got:
        if form_data.get("native_filter_id") in filter_names:
            what = f"фильтр «{filter_names[form_data['native_filter_id']]}»"
        elif form_data.get("slice_id") in chart_names and form_data.get("query_mode") != "raw":
            what = chart_names[form_data["slice_id"]]
        else:
            continue
        columns = [c for c in [*(form_data.get("groupby") or []), form_data.get("x_axis")] if isinstance(c, str)]
        rows = result.get("data") or []
        if not columns or not rows:
            continue
        shown = _shown_order(form_data, rows, columns[0])
        unknown = [any(_is_unknown(r.get(c)) for c in columns) for r in shown]
        if not any(unknown):
            continue
        checked.add(what)
        first = unknown.index(True)
        if not all(unknown[first:]):
            after = [next(str(r.get(c)) for c in columns) for r, u in zip(shown[first:], unknown[first:], strict=True) if not u]
            wrong.append(f"{what}: «Не указан» is not last, {after[:3]} follow it")
    assert not wrong, f"«{title}»:\n" + "\n".join(wrong)
    assert UNKNOWN_LISTS.get(title, set()) <= checked, f"«{title}»: lists with «Не указан» not seen: {UNKNOWN_LISTS[title] - checked}"


@pytest.mark.parametrize("title", sorted(t for t, d in DASHBOARDS.items() if any(CHARTS[u]["viz_type"].startswith("big_number") for u in _chart_uuids(d))))
def test_big_numbers_say_no_data_instead_of_zero_when_the_filter_leaves_nothing(
    title: str, superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome
) -> None:
    """Issue 16: a headline number for a period without data is «N/A», never «0» or an error."""
    dashboard = DASHBOARDS[title]
    uuids = _chart_uuids(dashboard)
    period = next(f for f in dashboard["metadata"]["native_filter_configuration"] if f["id"] == "NATIVE_FILTER-period")
    states = open_dashboard(
        browser, superset.url, imported.dashboard_ids[title], dashboard_tabs(DASHBOARDS[title]["position"]), query=_native_filters_query({period["id"]: ("period_label", ["1999"])})
    )
    big = [u for u in uuids if CHARTS[u]["viz_type"].startswith("big_number")]
    by_id = {s.id: s for s in states}
    shot = screenshot(browser, ARTIFACTS / f"no_data_{slugify(title)}.png")
    for uuid in big:
        chart_id = imported.chart_ids[uuid]
        # the chart's body, without its header (title, the badge counting the filters on it)
        show_chart(browser, chart_id)
        shown = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] .slice_container'))
        assert shown.strip(), f"«{CHARTS[uuid]['slice_name']}»: no chart body found (screenshot {shot})"
        assert not by_id[chart_id].error, f"«{CHARTS[uuid]['slice_name']}»: {by_id[chart_id].error} (screenshot {shot})"
        assert not re.search(r"\d", shown), f"«{CHARTS[uuid]['slice_name']}» shows a number without data: {shown!r} (screenshot {shot})"
        assert re.search(r"N/A|—|Нет данных", shown), f"«{CHARTS[uuid]['slice_name']}» does not say there is no data: {shown!r} (screenshot {shot})"


@pytest.mark.parametrize("title", ["Менеджер", "Панель руководителя"])
def test_kpi_table_says_the_current_year_runs_to_the_reporting_date(
    title: str, superset: RunningSuperset, imported: ImportReport, browser: webdriver.Chrome, warehouse_url: str
) -> None:
    """Issue 16 item 1 on the page: the KPI table of the default (latest, unfinished) year labels
    its span «с начала года по …», the label kpi_panel carries, and the page explains it."""
    uuids = _chart_uuids(DASHBOARDS[title])
    open_dashboard(browser, superset.url, imported.dashboard_ids[title], dashboard_tabs(DASHBOARDS[title]["position"]))
    uuid = next(u for u in uuids if CHARTS[u]["slice_name"] == "Выполнение KPI по менеджерам")
    chart_id = imported.chart_ids[uuid]
    show_chart(browser, chart_id)
    headers = [h.text for h in browser.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] thead th')]
    column = headers.index("Срок периода")
    with psycopg.connect(warehouse_url) as conn:
        label, to_date = conn.execute(
            "select period_label_ru, bool_or(is_period_to_date) from marts.kpi_panel where period_grain = 'year'"
            " group by period_label, period_label_ru order by period_label desc limit 1"
        ).fetchone()
    shown = {row[column] for row in chart_table(browser, chart_id) if len(row) > column}
    assert shown == {label}, (shown, label)
    if to_date:
        assert "с начала года" in label, label
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "с начала года / периода по отчетную дату" in page
