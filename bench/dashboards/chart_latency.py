"""Chart-data latency through Superset vs the same SQL straight against Postgres.

For every chart in superset_assets/, builds the chart's query (metrics, columns, filters from
its YAML params), asks Superset for the SQL it generates (result_type=query), then times
``runs`` calls of POST /api/v1/chart/data (force=true, no cache) and ``runs`` executions of that
SQL with psycopg. Prints p50/p95 per chart and the ratios Superset / direct measured in this
same run (no absolute targets).

    .venv/bin/python bench/dashboards/chart_latency.py --superset-url http://127.0.0.1:8088 \
        --user admin --password ... --warehouse-url postgresql://... [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from happyclient.superset.assets import read_assets  # noqa: E402
from happyclient.superset.client import SupersetClient  # noqa: E402


def chart_query(params: dict[str, Any]) -> dict[str, Any]:
    """The chart-data query of a table/bar/pie/big-number chart, from its YAML params."""
    if params.get("query_mode") == "raw":
        columns, metrics = list(params.get("all_columns") or []), []
    else:
        columns = list(params.get("groupby") or [])
        if params.get("x_axis"):
            columns.insert(0, params["x_axis"])
        metrics = list(params.get("metrics") or ([params["metric"]] if params.get("metric") else []))
    filters = [
        {"col": f["subject"], "op": "==", "val": f["comparator"]}
        for f in params.get("adhoc_filters") or []
        if f.get("expressionType") == "SIMPLE" and f.get("operator") == "=="
    ]
    return {"columns": columns, "metrics": metrics, "filters": filters, "row_limit": int(params.get("row_limit") or 1000)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superset-url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--warehouse-url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    client = SupersetClient(args.superset_url, args.user, args.password)
    datasets = {str(d["uuid"]): d["id"] for d in client.list_all("dataset", ["id", "uuid"])}
    files = read_assets(ROOT / "superset_assets")
    print(f"{'chart':45} {'superset p50':>12} {'p95':>8} {'direct p50':>11} {'p95':>8} {'ratio p50':>9} {'ratio p95':>9}")
    ratios: list[float] = []
    with psycopg.connect(args.warehouse_url) as conn:
        for path, cfg in sorted(files.items()):
            if not path.startswith("charts/"):
                continue
            payload = {
                "datasource": {"id": datasets[cfg["dataset_uuid"]], "type": "table"},
                "queries": [chart_query(cfg["params"])],
                "force": True,
                "result_format": "json",
            }
            sql = client.post("/api/v1/chart/data", {**payload, "result_type": "query"})["result"][0]["query"]
            via_superset, direct = [], []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                client.post("/api/v1/chart/data", {**payload, "result_type": "full"})
                via_superset.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                conn.execute(sql).fetchall()
                direct.append(time.perf_counter() - t0)
            s50, s95 = statistics.median(via_superset), percentile(via_superset, 0.95)
            d50, d95 = statistics.median(direct), percentile(direct, 0.95)
            ratios.append(s50 / d50)
            print(f"{cfg['slice_name'][:45]:45} {s50 * 1000:10.1f}ms {s95 * 1000:6.1f}ms {d50 * 1000:9.1f}ms {d95 * 1000:6.1f}ms {s50 / d50:9.1f} {s95 / d95:9.1f}")
    print(f"median ratio superset/direct over {len(ratios)} charts: {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
