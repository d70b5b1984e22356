"""The committed superset_assets/: complete, cross-referenced, no password, in normal form."""
from __future__ import annotations

from pathlib import Path

import pytest

from hc_superset.assets import (
    WAREHOUSE_PLACEHOLDER,
    AssetFormatError,
    DashboardTab,
    dashboard_tabs,
    dump_yaml,
    normalize_chart,
    normalize_dashboard,
    normalize_dataset,
    read_assets,
)
from hc_superset.sync import _validate_refs, warehouse_sqlalchemy_uri
from tests.superset.harness import ASSETS_DIR


def test_committed_yaml_has_no_password_or_instance_url() -> None:
    files = read_assets(ASSETS_DIR)
    databases = {p: c for p, c in files.items() if p.startswith("databases/")}
    assert databases, "superset_assets/databases/ is empty"
    for path, cfg in databases.items():
        assert cfg["sqlalchemy_uri"] == WAREHOUSE_PLACEHOLDER, path
        assert "password" not in cfg, path
    for path in ASSETS_DIR.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "postgresql" not in text, f"{path} holds a connection string"
        assert "XXXXXXXXXX" not in text, f"{path} holds a masked password"


def test_committed_yaml_is_in_normal_form() -> None:
    """What export_assets would write for these files is exactly what is committed."""
    for path, cfg in read_assets(ASSETS_DIR).items():
        kind = path.split("/", 1)[0]
        norm = {"datasets": normalize_dataset, "charts": normalize_chart}.get(kind)
        if kind == "dashboards":
            expected = normalize_dashboard(cfg, {})
        elif norm is not None:
            expected = norm(cfg)
        else:
            continue
        assert dump_yaml(expected) == (ASSETS_DIR / path).read_text(encoding="utf-8"), path


def test_cross_references_resolve() -> None:
    _validate_refs(read_assets(ASSETS_DIR))


def test_first_dashboard_is_the_executive_panel_with_region_table_and_coverage() -> None:
    files = read_assets(ASSETS_DIR)
    dashboards = {c["dashboard_title"]: c for p, c in files.items() if p.startswith("dashboards/")}
    charts = {c["uuid"]: c for p, c in files.items() if p.startswith("charts/")}
    datasets = {c["uuid"]: c for p, c in files.items() if p.startswith("datasets/")}
    panel = dashboards["Панель руководителя"]
    on_panel = [n["meta"]["uuid"] for n in panel["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
    tables = {datasets[charts[u]["dataset_uuid"]]["table_name"] for u in on_panel}
    assert "client_base_by_region" in tables
    names = {charts[u]["slice_name"] for u in on_panel}
    assert {"КБ по регионам", "% охвата по регионам"} <= names


def test_dangling_reference_names_the_file(tmp_path: Path) -> None:
    files = read_assets(ASSETS_DIR)
    chart_path = next(p for p in files if p.startswith("charts/"))
    files[chart_path] = {**files[chart_path], "dataset_uuid": "00000000-0000-0000-0000-000000000000"}
    with pytest.raises(AssetFormatError, match=chart_path):
        _validate_refs(files)


def test_warehouse_uri_masks_password_and_returns_it_separately() -> None:
    uri, password = warehouse_sqlalchemy_uri("postgresql://hc:p%40ss-word@db.local:5433/happyclient")
    assert uri == "postgresql+psycopg2://hc:XXXXXXXXXX@db.local:5433/happyclient"
    assert password == "p@ss-word"
    uri, password = warehouse_sqlalchemy_uri("postgresql://postgres@127.0.0.1:5432/wh")
    assert (uri, password) == ("postgresql+psycopg2://postgres@127.0.0.1:5432/wh", None)
    with pytest.raises(ValueError, match="mysql"):
        warehouse_sqlalchemy_uri("mysql://u:p@h/db")


def test_normalize_dashboard_turns_chart_ids_into_uuids() -> None:
    exported = {
        "dashboard_title": "D",
        "uuid": "d-1",
        "version": "1.0.0",
        "css": None,
        "position": {"CHART-1": {"type": "CHART", "id": "CHART-1", "meta": {"chartId": 17, "uuid": "c-17"}}},
        "metadata": {
            "chart_configuration": {"17": {"id": 17}},
            "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}, "chartsInScope": [17]},
            "native_filter_configuration": [
                {
                    "id": "F1",
                    "chartsInScope": [17, 18],
                    "scope": {"rootPath": ["ROOT_ID"], "excluded": [18]},
                    "targets": [{"datasetId": 5, "datasetUuid": "ds-5", "column": {"name": "region"}}],
                }
            ],
        },
    }
    out = normalize_dashboard(exported, {17: "c-17", 18: "c-18"})
    assert "css" not in out
    assert out["position"]["CHART-1"]["meta"] == {"uuid": "c-17"}
    assert "chart_configuration" not in out["metadata"]
    assert out["metadata"]["global_chart_configuration"] == {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}}
    flt = out["metadata"]["native_filter_configuration"][0]
    assert flt["scope"]["excluded"] == ["c-18"]
    assert "chartsInScope" not in flt
    assert flt["targets"] == [{"datasetUuid": "ds-5", "column": {"name": "region"}}]
    with pytest.raises(AssetFormatError, match="chart id 99"):
        normalize_dashboard({**exported, "metadata": {"native_filter_configuration": [{"scope": {"excluded": [99]}}]}}, {})


# ---- native filters: every dimension a dashboard's datasets carry, scoped to exactly those charts

# dashboard filter dimension -> the dataset column it filters (the same name in every mart)
FILTER_DIMENSIONS = {
    "period": "period_label",
    "region": "region",
    "department": "department_name",
    "manager": "manager_name",
    "channel": "channel",
    "segment": "segment",
}


def _dashboards_charts_columns() -> list[tuple[str, dict, dict[str, set[str]]]]:
    """(title, dashboard, {chart uuid: its dataset's columns}) for every committed dashboard."""
    files = read_assets(ASSETS_DIR)
    columns = {c["uuid"]: {col["column_name"] for col in c["columns"]} for p, c in files.items() if p.startswith("datasets/")}
    chart_columns = {c["uuid"]: columns[c["dataset_uuid"]] for p, c in files.items() if p.startswith("charts/")}
    out = []
    for path, cfg in sorted(files.items()):
        if path.startswith("dashboards/"):
            on_dashboard = [n["meta"]["uuid"] for n in cfg["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
            out.append((cfg["dashboard_title"], cfg, {u: chart_columns[u] for u in on_dashboard}))
    return out


def test_each_dashboard_has_a_native_filter_for_every_dimension_its_datasets_carry() -> None:
    missing = []
    for title, dashboard, charts in _dashboards_charts_columns():
        filtered = {t["column"]["name"] for f in dashboard["metadata"].get("native_filter_configuration") or [] for t in f["targets"]}
        for dimension, column in FILTER_DIMENSIONS.items():
            if any(column in cols for cols in charts.values()) and column not in filtered:
                missing.append(f"«{title}»: no native filter for {dimension} ({column})")
    assert not missing, "\n".join(missing)


def test_native_filters_are_scoped_to_exactly_the_charts_whose_dataset_has_the_column() -> None:
    wrong = []
    for title, dashboard, charts in _dashboards_charts_columns():
        for flt in dashboard["metadata"].get("native_filter_configuration") or []:
            column = flt["targets"][0]["column"]["name"]
            in_scope = set(charts) - set(flt["scope"]["excluded"])
            having = {u for u, cols in charts.items() if column in cols}
            if in_scope != having:
                wrong.append(f"«{title}» filter {flt['name']!r} ({column}): in scope {sorted(in_scope)}, should be {sorted(having)}")
            assert flt["scope"]["rootPath"] == ["ROOT_ID"], (title, flt["name"])
    assert not wrong, "\n".join(wrong)


def test_the_new_channel_and_segment_filters_are_where_the_marts_carry_them() -> None:
    """Spot check of the two filters added last: by title, which dashboards filter by channel and segment."""
    by_title = {title: {f["id"] for f in d["metadata"].get("native_filter_configuration") or []} for title, d, _ in _dashboards_charts_columns()}
    for title in ("Менеджер", "Развитие клиентов", "Качество данных"):
        assert {"NATIVE_FILTER-channel", "NATIVE_FILTER-segment"} <= by_title[title], title
    assert {"NATIVE_FILTER-period", "NATIVE_FILTER-region", "NATIVE_FILTER-department", "NATIVE_FILTER-manager"} <= by_title["Менеджер"]
    assert "NATIVE_FILTER-department" in by_title["Лояльность"]


def test_cross_filters_are_on_everywhere() -> None:
    for title, dashboard, _ in _dashboards_charts_columns():
        assert dashboard["metadata"].get("cross_filters_enabled") is True, title


# ---- money: rubles through the D3 locale's currency (D3_FORMAT in superset_config), never «RUB»

MONEY_FORMAT = "$,.0f"


def test_money_metrics_and_columns_use_the_ruble_locale_format() -> None:
    files = read_assets(ASSETS_DIR)
    datasets = {c["uuid"]: c for p, c in files.items() if p.startswith("datasets/")}
    problems = []
    for path, cfg in files.items():
        if path.startswith("datasets/"):
            for metric in cfg["metrics"]:
                if "currency" in metric:
                    problems.append(f"{path}: metric {metric['metric_name']} sets currency {metric['currency']} (renders «RUB»)")
                label = f"{metric.get('verbose_name', '')} {metric['expression']}".lower()
                money = any(w in label for w in ("выручка", "затраты", "cac", "revenue", "spend_rub"))
                if money and "thousand" not in label and metric.get("d3format") != MONEY_FORMAT:
                    problems.append(f"{path}: money metric {metric['metric_name']} has d3format {metric.get('d3format')!r}")
        if path.startswith("charts/"):
            params = cfg["params"]
            if "currency_format" in params:
                problems.append(f"{path}: currency_format {params['currency_format']} (renders «RUB»)")
            if params.get("query_mode") == "raw":
                verbose = {c["column_name"]: c.get("verbose_name", "") for c in datasets[cfg["dataset_uuid"]]["columns"]}
                for column in params.get("all_columns") or []:
                    if "руб" in verbose.get(column, "").lower() or "выручка" in verbose.get(column, "").lower():
                        fmt = ((params.get("column_config") or {}).get(column) or {}).get("d3NumberFormat")
                        if fmt != MONEY_FORMAT:
                            problems.append(f"{path}: money column {column} shown with {fmt!r}")
    assert not problems, "\n".join(problems)
    revenue = next(c for p, c in files.items() if p.startswith("charts/") and c["slice_name"] == "Выручка")
    assert revenue["params"]["y_axis_format"] == MONEY_FORMAT


def test_superset_config_formats_rubles_with_space_separated_thousands() -> None:
    """The D3 locale that turns "$,.0f" into «1 234 567 ₽» (checked in the real browser by tests/browser)."""
    import ast

    tree = ast.parse((ASSETS_DIR.parent / "superset" / "superset_config.py").read_text(encoding="utf-8"))
    d3 = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "D3_FORMAT")
    assert d3["decimal"] == ","
    assert d3["thousands"] in {" ", "\u00a0", "\u202f"}
    assert d3["currency"][0] == "" and d3["currency"][1].strip() == "₽" and d3["currency"][1][0] in {" ", "\u00a0", "\u202f"}


def test_file_names_are_what_an_export_writes() -> None:
    """An export names each file after its title (slugify); a renamed chart must be renamed on disk
    too, or the export round trip (tests/superset/test_sync.py) finds a different file set."""
    import yaml as _yaml

    from hc_superset.assets import slugify

    wrong = []
    for kind, key in (("charts", "slice_name"), ("dashboards", "dashboard_title"), ("datasets", "table_name")):
        for path in sorted((ASSETS_DIR / kind).glob("*.yaml")):
            want = slugify(_yaml.safe_load(path.read_text(encoding="utf-8"))[key]) + ".yaml"
            if path.name != want:
                wrong.append(f"{kind}/{path.name} -> {want}")
    assert not wrong, wrong


def _node(node_id: str, kind: str, children: list[str] = (), **meta: object) -> tuple[str, dict]:
    return node_id, {"id": node_id, "type": kind, "children": list(children), "meta": dict(meta)}


def test_dashboard_tabs_lists_each_tab_with_its_charts_in_layout_order() -> None:
    """Hand-made layout: a chart above the tabs belongs to the first tab (it renders with it); a
    nested tab's charts count with their outer tab; a dashboard without tabs is one tab."""
    position = dict([
        _node("ROOT_ID", "ROOT", ["GRID_ID"]),
        _node("GRID_ID", "GRID", ["ROW-top", "TABS-main"]),
        _node("ROW-top", "ROW", ["CHART-a"]),
        _node("CHART-a", "CHART", uuid="a"),
        _node("TABS-main", "TABS", ["TAB-2", "TAB-1"]),  # display order is the TABS node's, not the ids'
        _node("TAB-1", "TAB", ["ROW-1"], text="Вторая"),
        _node("ROW-1", "ROW", ["CHART-c", "CHART-b"]),
        _node("CHART-b", "CHART", uuid="b"),
        _node("CHART-c", "CHART", uuid="c"),
        _node("TAB-2", "TAB", ["TABS-inner"], text="Первая"),
        _node("TABS-inner", "TABS", ["TAB-in"]),
        _node("TAB-in", "TAB", ["ROW-in"], text="Внутри"),
        _node("ROW-in", "ROW", ["CHART-d"]),
        _node("CHART-d", "CHART", uuid="d"),
    ])
    assert dashboard_tabs(position) == [
        DashboardTab("TAB-2", "Первая", ("a", "d")),
        DashboardTab("TAB-1", "Вторая", ("c", "b")),
    ]
    del position["TABS-main"], position["TAB-1"], position["TAB-2"], position["TABS-inner"], position["TAB-in"]
    position["GRID_ID"]["children"] = ["ROW-top", "ROW-1", "ROW-in"]
    assert dashboard_tabs(position) == [DashboardTab(None, "", ("a", "c", "b", "d"))]


# A reader waits for every chart of the tab they open: Superset's page (~1.6 s on 2 cores) plus its
# charts, each a query and a render (README: «Dashboards in about 3 s: tabs»). Big numbers are one
# number each; anything else (a table, a plot) counts in full.
MAX_CHARTS_PER_TAB = 2
MAX_BIG_NUMBERS_PER_TAB = 4


def test_every_tab_holds_few_enough_charts_to_open_quickly() -> None:
    files = read_assets(ASSETS_DIR)
    charts = {c["uuid"]: c for p, c in files.items() if p.startswith("charts/")}
    crowded = []
    for path, dash in files.items():
        if not path.startswith("dashboards/"):
            continue
        for tab in dashboard_tabs(dash["position"]):
            big = [u for u in tab.chart_uuids if charts[u]["viz_type"].startswith("big_number")]
            other = [u for u in tab.chart_uuids if u not in big]
            if len(other) > MAX_CHARTS_PER_TAB or len(big) > MAX_BIG_NUMBERS_PER_TAB or (big and other):
                crowded.append(f"«{dash['dashboard_title']}» {tab.title or '(no tabs)'}: {len(big)} big numbers, {len(other)} other charts")
    assert not crowded, "tabs that wait on too many charts:\n" + "\n".join(crowded)
