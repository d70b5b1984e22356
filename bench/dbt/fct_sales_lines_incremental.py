"""Benchmark: full build vs incremental run (one new day of 1C documents) of fct_sales_lines.

    .venv/bin/python bench/dbt/fct_sales_lines_incremental.py --lines 1000000 5000000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Per size: the demo generator (hc_demo) writes a data set with about N 1C sales lines
(cached in .data/bench-dbt/), a scratch database gets its 1C and Bitrix24 records through the
real landing code (ingestion.landing.land, COPY), each document landed the day after its date,
catalogs before the history; then times:
  1. full build: dbt run --full-refresh of fct_sales_lines and everything upstream;
  2. incremental: one new day of documents (copies of the last day's documents, new keys, dated
     the next day) landed now, dbt run of fct_sales_lines only (it re-reads only documents
     landed after the fact's newest source_loaded_at);
and prints both wall times and the incremental/full ratio (the baseline is measured in the
same run, on the same machine), plus the ratio of the time spent in the models' SQL (without
dbt's start-up and parsing). Then EXPLAINs the incremental run's compiled select and prints the
scans of the big tables: the new day must be found through the raw `_loaded_at`/`_deleted_at`
indexes, with no sequential scan of the documents. Also times the client marts on top, for
information, and prints the load average (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    DATA_CACHE,
    backdate_history,
    dbt,
    dbt_env,
    demo_data,
    land_demo,
    land_new_day,
    load_average,
    scratch_database,
)

COMPILED_FACT = Path("compiled") / "happyclient" / "models" / "marts" / "core" / "fct_sales_lines.sql"
BIG_TABLE_ROWS = 100_000  # a sequential scan of a table this large is a full scan of the history
CACHE = DATA_CACHE / "bench-dbt"
# what fct_sales_lines and its upstream read (the generic sales-lines file's table stays empty)
LANDED = {"bitrix24__companies", "bitrix24__requisites", "bitrix24__users"}


def plan_scans(conn: psycopg.Connection, select_sql: str) -> list[tuple[str, str, float]]:
    """(node type, relation, estimated rows) of every scan in the plan of `select_sql`."""
    plan = conn.execute("explain (format json, verbose) " + select_sql).fetchone()[0][0]["Plan"]
    scans, stack = [], [plan]
    while stack:
        node = stack.pop()
        if "Relation Name" in node:
            scans.append((node["Node Type"], f'{node.get("Schema", "")}.{node["Relation Name"]}'.lstrip("."),
                          node["Plan Rows"]))
        stack.extend(node.get("Plans", []))
    return sorted(scans, key=lambda s: (s[1], s[0]))


def table_rows(conn: psycopg.Connection, relation: str) -> float:
    schema, _, name = relation.rpartition(".")
    row = conn.execute("select c.reltuples from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
                       " where n.nspname = %s and c.relname = %s", (schema or "public", name)).fetchone()
    return float(row[0]) if row else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 5_000_000],
                        help="sales lines to generate, one run per value (default: 1M and 5M)")
    parser.add_argument("--clients", type=int, default=None,
                        help="demo clients (default: 3 000 per million lines, the demo's own density; one client's "
                             "purchase frequency saturates, so 3 000 clients cannot reach 5M lines)")
    parser.add_argument("--admin-url", default=os.environ.get("HAPPYCLIENT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    args = parser.parse_args()
    for lines in args.lines:
        clients = args.clients or max(300, round(lines * 3000 / 1_000_000))
        run(lines, clients, args.admin_url, args.keep_db)


def run(lines: int, clients: int, admin_url: str, keep_db: bool) -> None:
    with scratch_database(admin_url, "bench_dbt", keep=keep_db) as url:
        target = Path("/tmp") / url.rsplit("/", 1)[1]
        env = dbt_env(url)
        # the generator lands about 7 % under its target, so it is asked for 8 % more
        data = demo_data(CACHE, clients=clients, target_lines=int(lines * 1.08))
        as_of = data.as_of
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            counts = land_demo(conn, data, lambda spec: spec.source == "onec" or spec.raw_table in LANDED)
            # history was landed day by day (each document the day after its date), catalogs
            # before it; the new day is landed now
            backdate_history(conn, as_of)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("vacuum analyze")
        print(f"landed {counts.get('onec__sales_documents', 0)} sales documents and "
              f"{sum(counts.values())} records in all in {time.perf_counter() - started:.0f} s", flush=True)
        vars_full = json.dumps({"as_of_date": as_of.isoformat()})
        dbt(env, target, "seed", "--vars", vars_full)
        full = dbt(env, target, "run", "--select", "+fct_sales_lines", "--full-refresh", "--vars", vars_full)

        new_day = as_of + timedelta(days=1)
        with psycopg.connect(url) as conn:
            last_day, added = land_new_day(conn)
        print(f"new day: {added} documents (copies of {last_day}'s, dated a day later) landed now", flush=True)
        vars_inc = json.dumps({"as_of_date": new_day.isoformat()})
        # the fact does not read as_of_date: the daily run passes the same vars as the full build,
        # as a scheduled run does (new --vars make dbt re-parse the whole project, which would be
        # timed as part of the incremental run)
        incremental = dbt(env, target, "run", "--select", "fct_sales_lines", "--vars", vars_full)
        with psycopg.connect(url) as conn:  # the select the incremental run compiled (watermark inlined)
            scans = [(kind, rel, est, table_rows(conn, rel))
                     for kind, rel, est in plan_scans(conn, (target / COMPILED_FACT).read_text())]
        marts = dbt(env, target, "run", "--select", "+path:models/marts/core", "+path:models/marts/client_development",
                    "--exclude", "+fct_sales_lines", "--vars", vars_inc)
        with psycopg.connect(url) as conn:
            rows = conn.execute("select count(*) from marts.fct_sales_lines").fetchone()[0]
        print(f"--- about {lines} sales lines asked of the demo generator ({clients} clients); "
              f"rows in fct_sales_lines: {rows}")
        print("                                                         wall s   model SQL s")
        print(f"full build (fct_sales_lines + upstream, --full-refresh): {full.wall_s:7.1f}   {full.sql_s:7.1f}")
        print(f"incremental run (one new day, fct_sales_lines):          {incremental.wall_s:7.1f}   "
              f"{incremental.sql_s:7.1f}")
        print(f"incremental / full ratio:                                {incremental.wall_s / full.wall_s:7.3f}   "
              f"{incremental.sql_s / full.sql_s:7.3f}")
        print(f"client marts downstream of the fact (for information):   {marts.wall_s:7.1f}   {marts.sql_s:7.1f}")
        print("incremental select, scans of tables with more than "
              f"{BIG_TABLE_ROWS} rows (plan of the compiled select):")
        for kind, relation, estimate, rows in scans:
            if rows > BIG_TABLE_ROWS:
                flag = "  <-- full scan" if kind == "Seq Scan" else ""
                print(f"  {kind:<20} {relation:<40} est. {estimate:>9.0f} of {rows:>10.0f} rows{flag}")
        print(f"load average (1, 5, 15 min) at the end: {load_average()}")


if __name__ == "__main__":
    main()
