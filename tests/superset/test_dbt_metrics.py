"""Superset dataset metrics are generated from dbt's semantic layer, and nothing else defines one.

The generator (hc_superset.metrics) reads the MetricFlow YAML; these tests check that
the committed superset_assets/ hold exactly its output, that charts use only dataset metrics
(no ad-hoc SQL), that the SQL means what the dbt metric means (worked numbers, evaluated in
SQLite), and that drift is caught.
"""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from hc_superset import metrics as gen
from hc_superset.assets import dump_yaml, load_yaml_file, read_assets

ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = ROOT / "superset_assets"
MODELS_DIR = ROOT / "dbt_project" / "models"


@pytest.fixture(scope="module")
def generated() -> dict[str, list[dict[str, Any]]]:
    return gen.generate(MODELS_DIR)


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["metric_name"]: m for m in items}


def test_committed_dataset_metrics_are_exactly_the_generated_ones(generated: dict[str, list[dict[str, Any]]]) -> None:
    assert gen.differences(ASSETS_DIR, MODELS_DIR) == [], "run: python -m hc_superset.metrics --write"


def test_every_metric_expression_in_the_assets_comes_from_dbt(generated: dict[str, list[dict[str, Any]]]) -> None:
    problems = []
    for path, cfg in read_assets(ASSETS_DIR).items():
        if not path.startswith("datasets/"):
            continue
        want = _by_name(generated.get(cfg["table_name"], []))
        for metric in cfg.get("metrics") or []:
            source = want.get(metric["metric_name"])
            if source is None or source["expression"] != metric["expression"]:
                problems.append(f"{path}: metric {metric['metric_name']} ({metric['expression']}) is not generated from dbt")
    assert not problems, "\n".join(problems)


def _chart_metric_refs(params: dict[str, Any]) -> list[Any]:
    refs: list[Any] = []
    for key in ("metrics", "percent_metrics"):
        refs += params.get(key) or []
    for key in ("metric", "secondary_metric", "timeseries_limit_metric", "x", "y", "size"):
        if params.get(key):
            refs.append(params[key])
    return refs


def test_charts_use_only_the_datasets_generated_metrics(generated: dict[str, list[dict[str, Any]]]) -> None:
    """An ad-hoc metric in a chart (SQL or aggregate) would be a second definition of a number."""
    files = read_assets(ASSETS_DIR)
    table_by_uuid = {c["uuid"]: c["table_name"] for p, c in files.items() if p.startswith("datasets/")}
    problems = []
    for path, cfg in files.items():
        if not path.startswith("charts/"):
            continue
        names = set(_by_name(generated.get(table_by_uuid[cfg["dataset_uuid"]], [])))
        for ref in _chart_metric_refs(cfg.get("params") or {}):
            if not isinstance(ref, str):
                problems.append(f"{path}: ad-hoc metric {ref!r}; define it in dbt's semantic layer")
            elif ref not in names:
                problems.append(f"{path}: metric {ref!r} is not a generated metric of its dataset")
    assert not problems, "\n".join(problems)


def test_chart_colour_rules_hold_no_kpi_threshold(generated: dict[str, list[dict[str, Any]]]) -> None:
    """Issue 11 item 1: a chart colours by a share the marts compute against dbt's own threshold
    (done_share = rows with kpi_panel.is_done, i.e. fact / plan >= var kpi_done_min_ratio), at its ends
    only (all done = 1, none = 0); a threshold of its own (e.g. fulfilment >= 1) would be a second
    definition of «done»."""
    files = read_assets(ASSETS_DIR)
    table_by_uuid = {c["uuid"]: c["table_name"] for p, c in files.items() if p.startswith("datasets/")}
    problems, rules = [], 0
    for path, cfg in files.items():
        if not path.startswith("charts/"):
            continue
        metrics = _by_name(generated.get(table_by_uuid[cfg["dataset_uuid"]], []))
        for rule in (cfg.get("params") or {}).get("conditional_formatting") or []:
            rules += 1
            metric = metrics.get(rule.get("column"))
            if metric is None or "is_done" not in metric["expression"]:
                problems.append(f"{path}: colours {rule.get('column')!r}, not a share of a dbt flag")
            targets = {rule.get(key) for key in ("targetValue", "targetValueLeft", "targetValueRight")} - {None}
            if not targets <= {0, 1}:
                problems.append(f"{path}: colour threshold {sorted(targets)} on {rule.get('column')!r}; put it in dbt")
    assert rules and not problems, "\n".join(problems) or "no colour rule found"


def test_the_kpis_of_issue_11_are_ratios_of_sums_in_dbt(generated: dict[str, list[dict[str, Any]]]) -> None:
    kpi = _by_name(generated["kpi_panel"])
    base = _by_name(generated["client_base_by_region"])
    acquisition = _by_name(generated["acquisition_channels"])
    assert kpi["fulfilment"]["expression"] == "SUM(fact_value) * 1.0 / NULLIF(SUM(target_value), 0)"
    assert kpi["revenue_fulfilment"]["expression"] == (
        "SUM(CASE WHEN kpi_code = 'sales_plan' THEN fact_value END) * 1.0 / "
        "NULLIF(SUM(CASE WHEN kpi_code = 'sales_plan' THEN target_value END), 0)"
    )
    assert base["attraction_rate"]["expression"] == "SUM(attracted_clients) * 1.0 / NULLIF(SUM(potential_clients), 0)"
    assert acquisition["cac"]["expression"] == "SUM(marketing_spend_rub) * 1.0 / NULLIF(SUM(new_clients), 0)"
    assert acquisition["lead_to_first_shipment"]["expression"] == "SUM(leads_shipped) * 1.0 / NULLIF(SUM(leads_created), 0)"
    # periodicity: per client, every client with a gap weighs once (docs/kpi.md), as a ratio of sums over
    # the client rows, not an AVG measure
    periodicity = _by_name(generated["purchase_periodicity"])
    assert periodicity["mean_gap_days"]["expression"] == "SUM(mean_gap_days) * 1.0 / NULLIF(COUNT(mean_gap_days), 0)"
    assert (kpi["fulfilment"]["verbose_name"], kpi["fulfilment"]["d3format"]) == ("% выполнения", ".0%")
    layer = gen.load_semantic_layer(MODELS_DIR)
    # the MetricFlow «% выполнения KPI» used to be an average of the rows' percentages
    assert all(
        m.get("agg") != "average" for sm in layer.semantic_models.values() for m in sm.get("measures") or []
    ), "an average measure hides its weighting: write it as a ratio of sums"
    assert layer.metrics["kpi_fulfilment"]["type"] == "ratio"


def _evaluate(table: str, columns: str, rows: list[tuple[Any, ...]], expression: str) -> float:
    con = sqlite3.connect(":memory:")
    con.execute(f"create table {table} ({columns})")
    con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
    return con.execute(f"select {expression} from {table}").fetchone()[0]


def test_generated_sql_computes_the_kpis_by_hand(generated: dict[str, list[dict[str, Any]]]) -> None:
    kpi = _by_name(generated["kpi_panel"])
    rows = [  # kpi_code, fact_value, target_value, is_done
        ("sales_plan", 90, 120, 0),
        ("new_clients", 50, 100, 0),
        ("aov_growth", 30, 40, 1),
        ("calls", 5, None, None),  # no plan: not rated
    ]
    cols = "kpi_code text, fact_value real, target_value real, is_done boolean"
    # ratio of sums: (90 + 50 + 30 + 5) / (120 + 100 + 40) = 175 / 260 = 0.673076...
    # (the average of the row ratios would be (0.75 + 0.5 + 0.75) / 3 = 0.6667)
    assert _evaluate("kpi_panel", cols, rows, kpi["fulfilment"]["expression"]) == pytest.approx(175 / 260)
    # sales plan only: 90 / 120 = 0.75
    assert _evaluate("kpi_panel", cols, rows, kpi["revenue_fulfilment"]["expression"]) == pytest.approx(0.75)
    assert _evaluate("kpi_panel", cols, rows, kpi["revenue_fact"]["expression"]) == pytest.approx(90)
    # done share: 1 done of 3 rated rows (the unplanned one has is_done null) = 0.3333
    assert _evaluate("kpi_panel", cols, rows, kpi["done_share"]["expression"]) == pytest.approx(1 / 3)

    base = _by_name(generated["client_base_by_region"])
    cols = "active_clients int, attracted_clients int, potential_clients int, total_outlets int"
    rows = [(10, 5, 20, 100), (20, 0, 30, 50)]
    # coverage: (10 + 5 + 20 + 0) / (100 + 50) = 35 / 150; attraction: (5 + 0) / (20 + 30) = 0.1
    assert _evaluate("t", cols, rows, base["coverage_rate"]["expression"]) == pytest.approx(35 / 150)
    assert _evaluate("t", cols, rows, base["attraction_rate"]["expression"]) == pytest.approx(0.1)

    periodicity = _by_name(generated["purchase_periodicity"])
    cols = "client_id text, mean_gap_days real"
    # the rows of the dbt unit test purchase_periodicity_is_per_client_each_client_weighs_once: a buys on
    # 5 days 1 day apart (mean gap 1), b twice 9 days apart (9), c once (null). The KPI is per client:
    # (1 + 9) / 2 = 5 days; the mean of all five gaps would be (1 + 1 + 1 + 1 + 9) / 5 = 2.6, and counting
    # c as a client without a gap would give 10 / 3
    rows = [("a", 1.0), ("b", 9.0), ("c", None)]
    assert _evaluate("t", cols, rows, periodicity["mean_gap_days"]["expression"]) == pytest.approx(5)

    stability = _by_name(generated["client_stability_summary"])
    cols = "dimension_type text, clients int"
    rows = [("company", 7), ("manager", 4), ("manager", 3), ("region", 7)]
    # company rows only: 7 (all rows would count the same clients three times: 21)
    assert _evaluate("t", cols, rows, stability["company_clients"]["expression"]) == 7


def _toy_layer(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    (models / "sem.yml").write_text(
        textwrap.dedent(
            """
            semantic_models:
              - name: orders
                model: ref('orders_mart')
                dimensions:
                  - {name: order_kind, type: categorical, expr: kind}
                measures:
                  - {name: amount_sum, agg: sum, expr: amount}
                  - {name: order_count, agg: count, expr: "1"}
                  - {name: paid_count, agg: sum_boolean, expr: is_paid}
            metrics:
              - name: amount
                label: Amount
                type: simple
                type_params: {measure: amount_sum}
                config: {meta: {superset: {d3format: ",.0f"}}}
              - name: orders
                label: Orders
                type: simple
                type_params: {measure: order_count}
              - name: retail_orders
                label: Retail orders
                type: simple
                type_params: {measure: order_count}
                filter: "{{ Dimension('order__order_kind') }} = 'retail'"
                config: {meta: {superset: {metric_name: retail}}}
              - name: average_order
                label: Average order
                description: Amount per order.
                type: ratio
                type_params: {numerator: amount, denominator: orders}
                config: {meta: {superset: {d3format: ",.2f"}}}
              - name: paid_share_pct
                label: Paid, %
                type: derived
                type_params:
                  expr: 100 * paid / orders
                  metrics: [{name: paid}, {name: orders}]
                config: {meta: {superset: {}}}
              - name: paid
                label: Paid
                type: simple
                type_params: {measure: paid_count}
              - name: unpaid
                label: Unpaid
                type: derived
                type_params: {expr: orders - paid, metrics: [{name: orders}, {name: paid}]}
              - name: unpaid_share
                label: Unpaid share
                type: ratio
                type_params: {numerator: unpaid, denominator: orders}
                config: {meta: {superset: {}}}
            """
        ),
        encoding="utf-8",
    )
    return models


def test_generator_writes_each_metric_type_as_mf_means_it(tmp_path: Path) -> None:
    out = _by_name(gen.generate(_toy_layer(tmp_path))["orders_mart"])
    assert set(out) == {"amount", "retail", "average_order", "paid_share_pct", "unpaid_share"}  # only config.meta.superset ones
    assert out["amount"] == {"metric_name": "amount", "expression": "SUM(amount)", "verbose_name": "Amount", "d3format": ",.0f"}
    assert out["retail"]["expression"] == "COUNT(CASE WHEN kind = 'retail' THEN 1 END)"
    assert out["average_order"] == {
        "metric_name": "average_order",
        "expression": "SUM(amount) * 1.0 / NULLIF(COUNT(1), 0)",
        "verbose_name": "Average order",
        "description": "Amount per order.",
        "d3format": ",.2f",
    }
    assert out["paid_share_pct"]["expression"] == "100 * (SUM(CASE WHEN is_paid THEN 1 ELSE 0 END)) / (COUNT(1))"
    # 4 orders, amounts 10, 20, 30, 40, two paid, one retail:
    # average order = 100 / 4 = 25; paid share = 100 * 2 / 4 = 50; retail = 1
    rows = [(10, "retail", 1), (20, "wholesale", 1), (30, "wholesale", 0), (40, "wholesale", 0)]
    cols = "amount real, kind text, is_paid boolean"
    assert _evaluate("orders_mart", cols, rows, out["average_order"]["expression"]) == pytest.approx(25)
    assert _evaluate("orders_mart", cols, rows, out["paid_share_pct"]["expression"]) == pytest.approx(50)
    assert _evaluate("orders_mart", cols, rows, out["retail"]["expression"]) == 1
    # unpaid share = (4 orders - 2 paid) / 4 = 0.5 (without the brackets it would be 4 - 2 / 4 = 3.5)
    assert _evaluate("orders_mart", cols, rows, out["unpaid_share"]["expression"]) == pytest.approx(0.5)


def test_a_metric_across_two_datasets_is_refused(tmp_path: Path) -> None:
    models = _toy_layer(tmp_path)
    extra = {
        "semantic_models": [{"name": "visits", "model": "ref('visits_mart')", "measures": [{"name": "visit_count", "agg": "count", "expr": "1"}]}],
        "metrics": [
            {"name": "visits", "label": "Visits", "type": "simple", "type_params": {"measure": "visit_count"}},
            {"name": "orders_per_visit", "label": "Orders per visit", "type": "ratio",
             "type_params": {"numerator": "orders", "denominator": "visits"}, "config": {"meta": {"superset": {}}}},
        ],
    }
    (models / "extra.yml").write_text(yaml.safe_dump(extra), encoding="utf-8")
    with pytest.raises(gen.SemanticLayerError, match="orders_per_visit"):
        gen.generate(models)


def test_drift_in_the_assets_is_caught_and_rewritten(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    kpi_path = assets / "datasets" / "kpi_panel.yaml"
    cfg = load_yaml_file(kpi_path)
    # a hand edit of a formula, and a metric dbt does not know
    for metric in cfg["metrics"]:
        if metric["metric_name"] == "fulfilment":
            metric["expression"] = "AVG(fulfilment_pct) / 100"
    base_path = assets / "datasets" / "client_base_by_region.yaml"
    base = load_yaml_file(base_path)
    base["metrics"].append({"metric_name": "handmade", "expression": "SUM(total_outlets) * 2"})
    kpi_path.write_text(dump_yaml(cfg), encoding="utf-8")
    base_path.write_text(dump_yaml(base), encoding="utf-8")

    assert sorted(gen.differences(assets, MODELS_DIR)) == ["datasets/client_base_by_region.yaml", "datasets/kpi_panel.yaml"]
    assert gen.main(["--assets", str(assets), "--models", str(MODELS_DIR)]) == 1
    assert sorted(p.name for p in gen.write(assets, MODELS_DIR)) == ["client_base_by_region.yaml", "kpi_panel.yaml"]
    assert gen.differences(assets, MODELS_DIR) == []
    assert gen.main(["--assets", str(assets), "--models", str(MODELS_DIR)]) == 0


def test_the_sync_posts_the_generated_metrics_whatever_the_files_say(tmp_path: Path) -> None:
    files = read_assets(ASSETS_DIR)
    stale = {p: ({**c, "metrics": [{"metric_name": "x", "expression": "SUM(1)"}]} if p.startswith("datasets/") else c) for p, c in files.items()}
    applied = gen.apply(stale, gen.generate(MODELS_DIR))
    for path, cfg in applied.items():
        if path.startswith("datasets/"):
            assert all(m["metric_name"] != "x" for m in cfg["metrics"]), path
            assert cfg["metrics"] == files[path].get("metrics", []), path
