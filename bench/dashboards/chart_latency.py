"""Chart-data latency per dashboard and chart: through Superset's API vs the same SQL straight
against Postgres, measured in the same run.

For every dashboard in superset_assets/ and every chart on it, builds the query the dashboard
sends when it opens: the chart's metrics, columns and filters from its YAML params plus the
default values of the dashboard's native filters in scope of the chart (read back from
Superset, so the «Период» default is the latest period, as users see it). Asks Superset for
the SQL it generates (result_type=query), then times ``--runs`` calls of
POST /api/v1/chart/data (force=true, no cache) and ``--runs`` executions of that SQL with
psycopg, interleaved. Prints p50/p95 per dashboard/chart and the ratio Superset / direct.
Target: every chart's p95 through Superset under 1 s (exit code 1 when a chart misses it).

Against a running Superset with the assets imported and a built warehouse:

    .venv/bin/python bench/dashboards/chart_latency.py --superset-url http://127.0.0.1:8088 \\
        --user admin --password ... --warehouse-url postgresql://... [--runs 20]

Or build everything first (``--build``): demo data with about ``--target-lines`` 1C sales lines
(cached in .data/bench-dashboards/), a scratch warehouse database on the PostgreSQL server of
``--admin-url`` (default HAPPYCLIENT_TEST_PG_URL) filled by the real pipeline (fake Bitrix24 and
1C, ingestion, dbt build with tests, predictions), a scratch Superset with the assets imported;
everything is removed afterwards unless ``--keep``:

    .venv/bin/python bench/dashboards/chart_latency.py --build --target-lines 1080000 \\
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

(the generator lands about 7 % under its target: 1 080 000 gives just over 1 000 000 sales
lines; the run prints the exact row count of marts.fct_sales_lines it measured at).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import demo_data, scratch_database  # noqa: E402
from hc_base.redact import redact, register_secret  # noqa: E402
from hc_superset.assets import chart_uuids_in_position, read_assets  # noqa: E402
from hc_superset.client import SupersetClient  # noqa: E402

TARGET_P95_S = 1.0
CACHE_DIR = ROOT / ".data" / "bench-dashboards"


def chart_query(params: dict[str, Any]) -> dict[str, Any]:
    """The chart-data query of a table/bar/pie/funnel/big-number chart, from its YAML params."""
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
    # raw mode: metrics null (as the table chart's own buildQuery sends); [] would mean "group by the columns"
    query: dict[str, Any] = {"columns": columns, "metrics": None if params.get("query_mode") == "raw" else metrics,
                             "filters": filters, "row_limit": int(params.get("row_limit") or 1000)}
    order = [json.loads(o) for o in params.get("order_by_cols") or []]
    if order:
        query["orderby"] = [[col, asc] for col, asc in order]
    return query


def default_filters(json_metadata: dict[str, Any], chart_id: int) -> list[dict[str, Any]]:
    """The filters the dashboard's native-filter defaults put on one chart when it opens."""
    out = []
    for flt in json_metadata.get("native_filter_configuration") or []:
        if chart_id not in (flt.get("chartsInScope") or []):
            continue
        for f in ((flt.get("defaultDataMask") or {}).get("extraFormData") or {}).get("filters") or []:
            out.append({"col": f["col"], "op": f["op"], "val": f["val"]})
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered) - 1e-9) - 1)]


@dataclass
class ChartTiming:
    dashboard: str
    chart: str
    rows: int
    superset: list[float]
    direct: list[float]

    @property
    def s50(self) -> float:
        return statistics.median(self.superset)

    @property
    def s95(self) -> float:
        return percentile(self.superset, 0.95)

    @property
    def d50(self) -> float:
        return statistics.median(self.direct)

    @property
    def d95(self) -> float:
        return percentile(self.direct, 0.95)


def measure(superset_url: str, user: str, password: str, warehouse_url: str, runs: int) -> list[ChartTiming]:
    client = SupersetClient(superset_url, user, password)
    datasets = {str(d["uuid"]): d["id"] for d in client.list_all("dataset", ["id", "uuid"])}
    charts_live = {str(c["uuid"]): c["id"] for c in client.list_all("chart", ["id", "uuid"])}
    dashboards_live = {str(d["uuid"]): d["id"] for d in client.list_all("dashboard", ["id", "uuid"])}
    files = read_assets(ROOT / "superset_assets")
    charts = {c["uuid"]: c for p, c in files.items() if p.startswith("charts/")}
    timings: list[ChartTiming] = []
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        for path, dash in sorted(files.items()):
            if not path.startswith("dashboards/"):
                continue
            live = client.get(f"/api/v1/dashboard/{dashboards_live[dash['uuid']]}")["result"]
            meta = json.loads(live.get("json_metadata") or "{}")
            for chart_uuid in chart_uuids_in_position(dash["position"]):
                cfg = charts[chart_uuid]
                query = chart_query(cfg["params"])
                query["filters"] += default_filters(meta, charts_live[chart_uuid])
                payload = {
                    "datasource": {"id": datasets[cfg["dataset_uuid"]], "type": "table"},
                    "queries": [query],
                    "force": True,
                    "result_format": "json",
                }
                sql = client.post("/api/v1/chart/data", {**payload, "result_type": "query"})["result"][0]["query"]
                rows = client.post("/api/v1/chart/data", {**payload, "result_type": "full"})["result"][0]["rowcount"]
                conn.execute(sql).fetchall()  # warm-up, as the Superset call above
                via_superset, direct = [], []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    client.post("/api/v1/chart/data", {**payload, "result_type": "full"})
                    via_superset.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    conn.execute(sql).fetchall()
                    direct.append(time.perf_counter() - t0)
                timings.append(ChartTiming(dash["dashboard_title"], cfg["slice_name"], rows, via_superset, direct))
    return timings


def report(timings: list[ChartTiming], runs: int) -> list[ChartTiming]:
    """Print the table per dashboard/chart; returns the charts whose Superset p95 misses the target."""
    print(f"\n{runs} runs per chart, times in ms; ratio = Superset / direct Postgres, measured in this run")
    head = (
        f"{'dashboard':28} {'chart':34} {'rows':>5} {'superset p50':>12} {'p95':>7}"
        f" {'direct p50':>10} {'p95':>7} {'ratio p50':>9} {'p95':>6}"
    )
    print(head)
    print("-" * len(head))
    for t in timings:
        print(
            f"{t.dashboard[:28]:28} {t.chart[:34]:34} {t.rows:5d} {t.s50 * 1000:12.1f} {t.s95 * 1000:7.1f}"
            f" {t.d50 * 1000:10.1f} {t.d95 * 1000:7.1f} {t.s50 / t.d50:9.1f} {t.s95 / t.d95:6.1f}"
        )
    print("-" * len(head))
    dashboards: dict[str, list[ChartTiming]] = {}
    for t in timings:
        dashboards.setdefault(t.dashboard, []).append(t)
    for name, ts in dashboards.items():
        via = [x for t in ts for x in t.superset]
        direct = [x for t in ts for x in t.direct]
        print(
            f"{name[:28]:28} {'(all its charts)':34} {'':5} {statistics.median(via) * 1000:12.1f}"
            f" {percentile(via, 0.95) * 1000:7.1f} {statistics.median(direct) * 1000:10.1f}"
            f" {percentile(direct, 0.95) * 1000:7.1f} {statistics.median(via) / statistics.median(direct):9.1f}"
            f" {percentile(via, 0.95) / percentile(direct, 0.95):6.1f}"
        )
    ratios = [t.s50 / t.d50 for t in timings]
    worst = max(timings, key=lambda t: t.s95)
    missed = [t for t in timings if t.s95 >= TARGET_P95_S]
    print(f"\nmedian ratio Superset/direct over {len(timings)} charts: {statistics.median(ratios):.1f}x (p50 ratios)")
    print(f"slowest chart p95 through Superset: {worst.s95 * 1000:.1f} ms ({worst.dashboard} / {worst.chart})")
    if missed:
        print(f"TARGET MISSED: p95 >= {TARGET_P95_S:.0f} s for " + ", ".join(f"{t.dashboard} / {t.chart}" for t in missed))
    else:
        print(f"target met: every chart's p95 through Superset < {TARGET_P95_S:.0f} s")
    return missed


# ---- --build: a scratch warehouse at the requested size, a scratch Superset ----------------------


SCRATCH_SERVER_PIDS: dict[str, int] = {}  # url -> gunicorn master's pid of each scratch Superset running


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch_superset(
    warehouse_url: str, *, assets_dir: Path = ROOT / "superset_assets", workers: int | None = None,
    access_log: Path | None = None,
) -> Iterator[tuple[str, str, str]]:
    """Yield (superset_url, user, password) of a scratch Superset with the assets of `assets_dir`
    imported over `warehouse_url`; stopped and removed afterwards. `workers`: gunicorn workers
    (default: the product's); `access_log`: gunicorn writes
    every request there with its duration in microseconds (`%(D)s`)."""
    from happyclient.console import Console
    from hc_superset.server import SupersetServer
    from hc_superset.sync import import_assets

    work = Path(tempfile.mkdtemp(prefix="hc-bench-superset-"))
    password = secrets.token_urlsafe(16)
    register_secret(password)
    env = {}
    if access_log is not None:
        env["GUNICORN_CMD_ARGS"] = f"--access-logfile {access_log} --access-logformat '%(t)s %(r)s %(s)s %(D)s'"
    server = SupersetServer(work / "superset", port=_free_port(), env=env,
                            **({"workers": workers} if workers else {}))
    try:
        with Console().step(f"Superset (scratch instance, {server.workers} worker(s)) and the dashboards of {assets_dir}"):
            server.init("admin", password)
            server.start()
            import_assets(server.url, "admin", password, assets_dir, warehouse_url)
        pid = server._read_pid()
        if pid is not None:
            SCRATCH_SERVER_PIDS[server.url] = pid
        yield server.url, "admin", password
    finally:
        SCRATCH_SERVER_PIDS.pop(server.url, None)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def built_warehouse(
    admin_url: str, target_lines: int, clients: int, seed: int, keep: bool, long_tail: float = 0.0
) -> Iterator[str]:
    """Yield the URL of a scratch warehouse filled by the real pipeline over demo data."""
    from happyclient.demo import source_env, start_fakes, stop_fakes
    from happyclient.pipeline import run_pipeline
    from happyclient.warehouse import ensure_schemas
    from hc_base.settings import Settings

    data = demo_data(CACHE_DIR, clients=clients, target_lines=target_lines, seed=seed, long_tail=long_tail)
    with scratch_database(admin_url, "hcbench_dash", keep=keep) as warehouse_url:
        work = Path(tempfile.mkdtemp(prefix="hc-bench-dashboards-"))
        settings = Settings(data_dir=work / "state", superset_admin_password="unused")
        try:
            ensure_schemas(warehouse_url)
            endpoints = start_fakes(settings, data)
            env = {
                "WAREHOUSE_URL": warehouse_url,
                "DAGSTER_HOME": str(work / "dagster"),
                **source_env(endpoints, data),
                "HAPPYCLIENT_AS_OF": data.as_of.isoformat(),
                "WRITEBACK_ENABLED": "false",
            }
            started = time.monotonic()
            print(f"pipeline into database {warehouse_url.rsplit('/', 1)[1]} (ingestion, dbt build with tests, "
                  "predictions) ...", flush=True)
            result = run_pipeline(env, exclude_groups=("superset",))
            stop_fakes(settings)
            if not result.success:
                raise SystemExit(redact(f"the pipeline failed: {result.errors}"))
            print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
            yield warehouse_url
        finally:
            stop_fakes(settings)
            shutil.rmtree(work, ignore_errors=True)


def add_environment_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say which Superset and warehouse to measure, or what to build."""
    parser.add_argument("--superset-url", help="a running Superset with the assets imported")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default=os.environ.get("SUPERSET_ADMIN_PASSWORD"), help="default: $SUPERSET_ADMIN_PASSWORD")
    parser.add_argument("--warehouse-url", help="a built warehouse; without --superset-url a scratch Superset is "
                                                "started over it (e.g. a database kept by bench/scale --keep-db)")
    parser.add_argument("--build", action="store_true", help="build a scratch warehouse and Superset first (see above)")
    parser.add_argument("--target-lines", type=int, default=1_080_000, help="--build: approximate 1C sales lines to generate")
    parser.add_argument("--clients", type=int, default=3000, help="--build: demo clients")
    parser.add_argument("--long-tail", type=float, default=0.0, help="--build: share of one-off and rare buyers")
    parser.add_argument("--seed", type=int, default=42, help="--build: demo seed")
    parser.add_argument("--admin-url", default=os.environ.get("HAPPYCLIENT_TEST_PG_URL"), help="--build: PostgreSQL admin URL")
    parser.add_argument("--keep", action="store_true", help="--build: keep the scratch warehouse database")


@contextlib.contextmanager
def environment(
    parser: argparse.ArgumentParser, args: argparse.Namespace, **scratch: Any
) -> Iterator[tuple[str, str, str, str]]:
    """Yield (superset_url, user, password, warehouse_url) as the options ask (`scratch`: more
    arguments of scratch_superset when one is started)."""
    with contextlib.ExitStack() as stack:
        if args.build:
            if not args.admin_url:
                parser.error("--build needs --admin-url (or HAPPYCLIENT_TEST_PG_URL)")
            warehouse_url = stack.enter_context(built_warehouse(
                args.admin_url, args.target_lines, args.clients, args.seed, args.keep, args.long_tail))
        elif args.warehouse_url:
            warehouse_url = args.warehouse_url
        else:
            parser.error("give --warehouse-url (and --superset-url with --password), or --build")
        if args.superset_url and not args.build:
            if not args.password:
                parser.error("--superset-url needs --password (or SUPERSET_ADMIN_PASSWORD)")
            url, user, password = args.superset_url, args.user, args.password
        else:
            url, user, password = stack.enter_context(scratch_superset(warehouse_url, **scratch))
        register_secret(password)
        yield url, user, password, warehouse_url


def warehouse_size(warehouse_url: str) -> dict[str, int]:
    with psycopg.connect(warehouse_url) as conn:
        return {
            "marts.fct_sales_lines": conn.execute("select count(*) from marts.fct_sales_lines").fetchone()[0],
            "sale lines": conn.execute("select count(*) from marts.fct_sales_lines where line_kind = 'sale'").fetchone()[0],
            "clients": conn.execute("select count(*) from marts.dim_clients").fetchone()[0],
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_environment_arguments(parser)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with environment(parser, args) as (url, user, password, warehouse_url):
        size = warehouse_size(warehouse_url)
        print("warehouse: " + ", ".join(f"{k} {v:,}".replace(",", " ") for k, v in size.items()), flush=True)
        timings = measure(url, user, password, warehouse_url, args.runs)
    missed = report(timings, args.runs)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
