"""Issue 16 items 2–5 in the committed assets (the browser tests in tests/browser/
test_dashboard_usability.py check the same on the rendered dashboards)."""
from __future__ import annotations

import re

from hc_superset.assets import read_assets
from hc_superset.sync import DEFAULT_LATEST
from tests.superset.harness import ASSETS_DIR

FILES = read_assets(ASSETS_DIR)
DASHBOARDS = {c["dashboard_title"]: c for p, c in FILES.items() if p.startswith("dashboards/")}
CHARTS = {c["uuid"]: c for p, c in FILES.items() if p.startswith("charts/")}
DATASETS = {c["uuid"]: c for p, c in FILES.items() if p.startswith("datasets/")}


def _filters(dashboard: dict) -> list[dict]:
    return dashboard["metadata"].get("native_filter_configuration") or []


def _notes(dashboard: dict) -> list[str]:
    return [
        line
        for n in dashboard["position"].values()
        if isinstance(n, dict) and n.get("type") == "MARKDOWN"
        for line in n["meta"]["code"].splitlines()
    ]


def test_every_filter_that_skips_a_chart_is_named_on_the_dashboard_beside_that_chart() -> None:
    missing = []
    for title, dashboard in DASHBOARDS.items():
        notes = _notes(dashboard)
        for flt in _filters(dashboard):
            for uuid in flt["scope"].get("excluded") or []:
                name = CHARTS[uuid]["slice_name"]
                if not any(f"«{flt['name']}»" in line and f"«{name}»" in line and "не примен" in line for line in notes):
                    missing.append(f"«{title}»: no note that «{flt['name']}» does not apply to «{name}»")
    assert not missing, "\n".join(missing)


def test_the_notes_name_only_filters_that_really_skip_the_chart() -> None:
    """The reverse: a note never claims a filter skips a chart it applies to."""
    wrong = []
    for title, dashboard in DASHBOARDS.items():
        by_name = {f["name"]: f for f in _filters(dashboard)}
        on_dashboard = {c["slice_name"]: u for u, c in CHARTS.items() if u in str(dashboard["position"])}
        for line in _notes(dashboard):
            if "не примен" not in line:
                continue
            quoted = re.findall(r"«([^»]+)»", line)
            filters = [q for q in quoted if q in by_name]
            charts = [q for q in quoted if q in on_dashboard]
            assert filters and charts, f"«{title}»: note names no filter or no chart: {line!r}"
            for f in filters:
                for c in charts:
                    if on_dashboard[c] not in (by_name[f]["scope"].get("excluded") or []):
                        wrong.append(f"«{title}»: the note says «{f}» skips «{c}», but it applies")
    assert not wrong, "\n".join(wrong)


def test_no_filter_depends_on_another() -> None:
    """Superset 6.1 keeps a dependent filter's value when its parent changes (apache/superset#44008),
    e.g. «Период = 2026» after «Разрез периода» became «месяц», and every chart said «Нет данных».
    So no filter has cascade parents, and the period's grain is part of its label (2026, 2026-Q4, 2026-10)."""
    for title, dashboard in DASHBOARDS.items():
        for flt in _filters(dashboard):
            assert not flt.get("cascadeParentIds"), (title, flt["name"])
            assert flt["targets"][0]["column"]["name"] != "period_grain", f"«{title}»: a filter on the raw grain codes"


def test_period_filters_list_the_newest_first_and_default_to_the_latest_year() -> None:
    periods = [(t, f) for t, d in DASHBOARDS.items() for f in _filters(d) if f["targets"][0]["column"]["name"] == "period_label"]
    assert {t for t, _ in periods} == {t for t, d in DASHBOARDS.items() if t != "Качество данных"}
    for title, flt in periods:
        assert flt["name"] == "Период", title
        assert flt["controlValues"]["sortAscending"] is False, title
        assert flt["controlValues"]["multiSelect"] is False, title
        assert flt["controlValues"]["enableEmptyFilter"] is True, title
        assert flt["controlValues"][DEFAULT_LATEST] == {"period_grain": "year"}, title


def test_action_list_shows_the_manager_first_and_is_not_cut_at_a_row_limit() -> None:
    chart = next(c for c in CHARTS.values() if c["slice_name"] == "Что сделать сейчас")
    params = chart["params"]
    assert params["all_columns"][:2] == ["manager_name", "action_rank"]
    assert params["order_by_cols"][:2] == ['["manager_name", true]', '["action_rank", true]']
    # every action in the browser (client-side pages; Superset's server-side pages would show raw
    # column names in their «Search by» box), far above the 1 000 rows it used to stop at
    assert not params.get("server_pagination")
    assert params["row_limit"] >= 10000
    assert params["page_length"] == 20  # all rows in the browser, 20 of them drawn at a time
    verbose = {c["column_name"]: c.get("verbose_name") for c in DATASETS[chart["dataset_uuid"]]["columns"]}
    assert verbose["action_rank"] == "Место у менеджера"
    assert verbose["manager_name"] == "Менеджер"


# tables meant to show every row on one page (a few dozen regions / channels at most)
# every row on one page: a region list, a channel list, and the KPI table, where a director compares
# every manager at once (tests/browser/test_rls_ui.py reads each role's whole table)
ONE_PAGE_TABLES = {"КБ по регионам", "Новые клиенты по каналам", "Выполнение KPI по менеджерам"}


def test_tables_draw_one_page_of_rows_at_a_time() -> None:
    """Without page_length Superset's table chart draws every row it was given (pages of 200 rows
    once rows x columns pass 5 000): five tables of 200-1 000 rows made «Менеджер» the slowest
    dashboard to render (bench/dashboards/render_latency.py). Each paged table draws 20 rows (10
    for «Источники данных»); its search box and sorting still cover every row it was given."""
    tables = {c["slice_name"]: c["params"] for c in CHARTS.values() if c["viz_type"] == "table"}
    assert set(tables) >= ONE_PAGE_TABLES
    for name, params in tables.items():
        if name in ONE_PAGE_TABLES:
            assert not params.get("page_length") and not params.get("server_page_length"), name
        else:
            assert 0 < params.get("page_length", 0) <= 20, (name, params.get("page_length"))


def test_kpi_table_shows_fact_and_plan_as_the_marts_unit_labels() -> None:
    chart = next(c for c in CHARTS.values() if c["slice_name"] == "Выполнение KPI по менеджерам")
    assert {"fact_label", "target_label"} <= set(chart["params"]["groupby"])
    assert "fact" not in chart["params"]["metrics"] and "target" not in chart["params"]["metrics"]


def test_the_lost_sales_chart_names_its_unit() -> None:
    chart = next(c for c in CHARTS.values() if c["slice_name"] == "Упущенные продажи по каналам")
    assert "тыс. ₽" in chart["params"]["y_axis_title"]


def test_dashboards_with_a_plan_or_base_say_the_current_period_is_compared_like_for_like() -> None:
    """Issue 16 item 1: where a plan or a base period is compared, the page says that the unfinished
    period is compared over the same elapsed days («с начала года / периода»)."""
    for title, dashboard in DASHBOARDS.items():
        if title in ("Качество данных", "Лояльность"):  # no plan and no base period there
            continue
        assert any("с начала года / периода" in line for line in _notes(dashboard)), title


def test_kpi_table_names_the_span_of_its_period() -> None:
    chart = next(c for c in CHARTS.values() if c["slice_name"] == "Выполнение KPI по менеджерам")
    assert "period_label_ru" in chart["params"]["groupby"]
    verbose = {c["column_name"]: c.get("verbose_name") for c in DATASETS[chart["dataset_uuid"]]["columns"]}
    assert verbose["period_label_ru"] == "Срок периода"
