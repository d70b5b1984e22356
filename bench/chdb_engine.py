"""bench/scale's second engine: the same generated data on ClickHouse in process (chDB).

Per size, after the Postgres build of bench/scale: the demo's 1C and Bitrix24 JSONL files are
landed into a fresh chDB directory through the product's ClickHouse landing
(`ingestion.clickhouse_landing`: versions in ReplacingMergeTree tables, one commit row per load,
each entity's file streamed in chunks of CHUNK records under one load id); the user files are
the rows `ingest_source("files")` landed on Postgres in the same run, copied one load per table
and `_source` (the ClickHouse files ingestion is not what is measured here). Then `dbt build`
runs on chDB through the TEST-ONLY adapter shim `tests/clickhouse/chdb_dbt.py` (released
dbt-clickhouse has no chDB driver; the shim swaps its HTTP client for clickhouse-connect's chDB
client), in the pipeline's two steps around the predictions: the predictions step itself is not
ported to ClickHouse, so the rows Postgres' `run_predictions` wrote in this run are copied in
between (not timed). One dbt thread: one process opens a chDB directory, and ClickHouse spreads
each query over the cores itself.

What it reports per size (bench/scale prints it): landing and dbt seconds, per-model seconds and
rows, the data tests' total, the chDB directory's size and the peak memory (max RSS) of the dbt
process; compared with Postgres: row counts of every table model and the headline totals of
HEADLINES.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg

from bench.common import DbtRun, dbt, demo_file, disk_usage, load_average, say
from happyclient.demo import DemoData
from hc_base.warehouse_url import dbt_env as warehouse_dbt_env
from ingestion import clickhouse_landing as ch
from ingestion.registry import ENTITIES

ROOT = Path(__file__).resolve().parents[1]
SHIM = ROOT / "tests" / "clickhouse" / "chdb_dbt.py"
CHUNK = 200_000  # records per insert while landing a file (memory stays flat at any size)
NOT_ON_CLICKHOUSE = "tag:not_on_clickhouse"  # unit tests whose SQL fixture only Postgres parses

# headline totals, one SQL text valid on both engines: (name, select)
HEADLINES = [
    ("fct_sales_lines", "select count(*), count(distinct client_id), sum(revenue), sum(quantity) from marts.fct_sales_lines"),
    ("client_period_revenue", "select count(*), count(distinct client_id), sum(revenue) from marts.client_period_revenue"),
    ("abc_xyz_clients A/B/C", "select sum(case when abc_class = 'A' then 1 else 0 end), sum(case when abc_class = 'B' then 1"
                              " else 0 end), sum(case when abc_class = 'C' then 1 else 0 end), sum(revenue_t12)"
                              " from marts.abc_xyz_clients"),
    ("client_stability", "select count(*), count(distinct client_id), sum(revenue_period) from marts.client_stability"),
    ("kpi_panel", "select count(*), sum(fact_value), sum(target_value) from marts.kpi_panel"),
    ("funnel_conversion", "select count(*), sum(cohort_deals_created), sum(period_deals_entered) from marts.funnel_conversion"),
]
TOLERANCE = 1e-6  # relative, for sums (ClickHouse's Decimal division keeps 6 decimals)


@dataclass
class EngineRun:
    """One engine's build of one size."""

    landing_s: float = 0.0
    dbt_s: list[float] = field(default_factory=list)  # the two dbt steps
    models: dict[str, tuple[float, str]] = field(default_factory=dict)  # relation -> (seconds, status)
    rows: dict[str, int] = field(default_factory=dict)  # relation -> count(*) of a table model
    tests_s: float = 0.0
    failed: list[str] = field(default_factory=list)
    headlines: dict[str, list[float | None]] = field(default_factory=dict)
    disk_bytes: int = 0
    peak_rss_bytes: int = 0
    loads: list[str] = field(default_factory=list)

    @property
    def dbt_total(self) -> float:
        return sum(self.dbt_s)

    @property
    def build(self) -> float:
        return self.landing_s + self.dbt_total


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else float(str(value))


def postgres_headlines(url: str) -> dict[str, list[float | None]]:
    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for name, sql in HEADLINES:
            out[name] = [_number(v) for v in conn.execute(sql).fetchone()]
    return out


def same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def _chunks(rows: Iterator[tuple[str, str, None]]) -> Iterator[list[tuple[str, str, None]]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def land_chunked(client: Any, raw_table: str, records: Iterator[tuple[str, str, None]], *, source: str,
                 entity: str) -> int:
    """One load through clickhouse_landing (logged, one commit row), the records written in
    chunks of CHUNK under its one load id, so a 10M-line file never sits in memory."""
    load_id = ch.new_load_id(source, entity)
    started = datetime.now(UTC)
    ch.log_load(client, load_id, source, entity, status="running", started_at=started)
    ch.discard_uncommitted(client, raw_table)
    written = sum(ch.land(client, raw_table, chunk, source=source, load_id=load_id) for chunk in _chunks(records))
    ch.commit_load(client, load_id)
    ch.log_load(client, load_id, source, entity, status="success", started_at=started, rows_landed=written)
    return written


def land(path: Path, data: DemoData, pg_url: str) -> dict[str, int]:
    """The 1C and Bitrix24 files of `data` and the user-file rows Postgres holds, into chDB."""
    from predictions.model import CLICKHOUSE_DDL

    client = ch.connect(f"chdb://{path}")
    counts: dict[str, int] = {}
    try:
        ch.ensure_schema(client)
        for ddl in CLICKHOUSE_DDL:
            client.command(ddl)
        for spec in ENTITIES.values():
            file = demo_file(data, spec)
            if spec.source == "files" or not file.exists():
                continue
            started = time.monotonic()

            def records(file: Path = file, id_field: str = spec.id_field) -> Iterator[tuple[str, str, None]]:
                with file.open(encoding="utf-8") as lines:
                    for line in lines:
                        yield str(json.loads(line)[id_field]), line.rstrip("\n"), None

            counts[spec.raw_table] = land_chunked(client, spec.raw_table, records(), source=spec.source,
                                                  entity=spec.entity)
            say(f"    chDB raw.{spec.raw_table}: {counts[spec.raw_table]} rows in {time.monotonic() - started:.1f} s")
        with psycopg.connect(pg_url) as conn:
            for spec in ENTITIES.values():
                if spec.source != "files":
                    continue
                sources = [s for (s,) in conn.execute(f"select distinct _source from raw.{spec.raw_table}")]
                for source in sources:
                    cursor = conn.cursor(name=f"copy_{spec.raw_table}")  # server-side: streamed
                    cursor.execute(f"select source_key, payload::text, null from raw.{spec.raw_table}"
                                   " where _source = %s", (source,))
                    written = land_chunked(client, spec.raw_table, iter(cursor), source=source, entity=spec.entity)
                    cursor.close()
                    counts[spec.raw_table] = counts.get(spec.raw_table, 0) + written
            # the rows the files' loads refused, as they are on Postgres (dq_quarantine_summary reads them)
            refused = [list(row) for row in conn.execute(
                "select load_id, source, file, row_number, field, value, reason, payload::text"
                " from ingest_state.quarantine order by id")]
            counts["quarantine"] = ch.quarantine_rows(client, refused)
        say(f"    chDB user files: {sum(n for t, n in counts.items() if t.startswith('files__'))} rows, "
            f"{counts['quarantine']} quarantined rows")
    finally:
        client.close()
    return counts


def copy_predictions(path: Path, pg_url: str, as_of: date) -> int:
    """The predictions Postgres computed in this run, into chDB's predictions.client_predictions."""
    columns = ["client_id", "as_of", "first_purchase_date", "last_purchase_date", "frequency", "recency", "t",
               "monetary_avg", "p_alive", "expected_purchases_90d", "expected_purchases_365d",
               "expected_order_value", "clv_12m", "churn_risk", "churn_risk_label", "computed_at"]
    with psycopg.connect(pg_url) as conn:
        exists = conn.execute("select to_regclass('predictions.client_predictions')").fetchone()[0]
        rows = [list(r) for r in conn.execute(
            f"select {', '.join(columns)} from predictions.client_predictions where as_of = %s", (as_of,))] if exists else []
    client = ch.connect(f"chdb://{path}")
    try:
        if rows:
            client.insert("predictions.client_predictions", rows, column_names=columns)
    finally:
        client.close()
    return len(rows)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB


def build(path: Path, target: Path, data: DemoData, pg_url: str, kinds: dict[str, tuple[str, str]],
          after_predictions: str) -> EngineRun:
    """Land, dbt (two steps, predictions copied between), then per-model rows and headline totals."""
    run = EngineRun()
    shutil.rmtree(path, ignore_errors=True)
    say(f"  chDB: landing into {path} ...")
    started = time.perf_counter()
    land(path, data, pg_url)
    run.landing_s = time.perf_counter() - started
    run.loads.append(load_average())
    say(f"  chDB landing: {run.landing_s:.0f} s; load {run.loads[-1]}")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **warehouse_dbt_env(f"chdb://{path}"),
           "HAPPYCLIENT_DBT_THREADS": "1"}
    variables = json.dumps({"as_of_date": data.as_of.isoformat()})
    executable = [sys.executable, str(SHIM)]
    say("  chDB: dbt build (before the predictions) --full-refresh ...")
    first = dbt(env, target, "build", "--exclude", after_predictions, NOT_ON_CLICKHOUSE, "--vars", variables,
                "--full-refresh", progress=True, check=False, executable=executable)
    run.loads.append(load_average())
    say(f"    {first.wall_s:.0f} s ({len(first.results)} nodes, {len(first.failed())} failed); load {run.loads[-1]}")
    copied = copy_predictions(path, pg_url, data.as_of)
    say(f"  chDB: {copied} predictions copied from Postgres (not timed)")
    second = dbt(env, target, "build", "--select", after_predictions, "--exclude", NOT_ON_CLICKHOUSE, "--vars",
                 variables, "--full-refresh", progress=True, check=False, executable=executable)
    run.loads.append(load_average())
    say(f"  chDB: dbt build (after the predictions): {second.wall_s:.0f} s; load {run.loads[-1]}")
    run.dbt_s = [first.wall_s, second.wall_s]
    run.peak_rss_bytes = _peak_rss()
    _collect(run, [first, second], kinds)
    client = ch.connect(f"chdb://{path}")
    try:
        for relation, (_seconds, status) in run.models.items():
            kind = next((k for k, rel in kinds.values() if rel == relation), None)
            if status == "success" and kind in ("table", "incremental"):
                run.rows[relation] = int(client.query(f"select count() from {relation}").result_rows[0][0])
        for name, sql in HEADLINES:
            try:
                run.headlines[name] = [_number(v) for v in client.query(sql).result_rows[0]]
            except Exception as exc:  # a mart that failed to build: say so in the comparison
                run.headlines[name] = []
                say(f"    headline {name} failed on chDB: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        client.close()
    run.disk_bytes = disk_usage(path)
    return run


def _collect(run: EngineRun, runs: list[DbtRun], kinds: dict[str, tuple[str, str]]) -> None:
    for r in (result for dbt_run in runs for result in dbt_run.results):
        uid = r["unique_id"]
        if r["status"] in ("error", "fail", "runtime error"):
            run.failed.append(f'{uid}: {" ".join((r.get("message") or "").split())[:200]}')
        if uid.startswith(("test.", "unit_test.")):
            run.tests_s += r["execution_time"]
        if uid in kinds:
            run.models[kinds[uid][1]] = (r["execution_time"], r["status"])


def memory_note() -> str:
    """Total and available memory (what a 10M run has to fit in)."""
    try:
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        return f"memory total {int(info['MemTotal'].split()[0]) / 1e6:.1f} GB, available {int(info['MemAvailable'].split()[0]) / 1e6:.1f} GB"
    except (OSError, KeyError, ValueError):
        return "memory: unknown"
