"""Benchmark: full build vs incremental run (one new day of 1C documents) of fct_sales_lines.

    .venv/bin/python bench/dbt/fct_sales_lines_incremental.py --lines 1000000 5000000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Per size: the demo generator (ingestion/demo) writes a data set with about N 1C sales lines
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
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from ingestion.demo.generator import generate  # noqa: E402
from ingestion.landing import ensure_schema, land  # noqa: E402
from ingestion.registry import ENTITIES  # noqa: E402

DBT = Path(sys.executable).parent / "dbt"
PROJECT = ROOT / "dbt_project"
COMPILED_FACT = Path("compiled") / "happyclient" / "models" / "marts" / "core" / "fct_sales_lines.sql"
BIG_TABLE_ROWS = 100_000  # a sequential scan of a table this large is a full scan of the history
CACHE = ROOT / ".data" / "bench-dbt"
# what fct_sales_lines and its upstream read (the generic sales-lines file's table stays empty)
LANDED = {"bitrix24__companies", "bitrix24__requisites", "bitrix24__users"}

NEW_DAY_SQL = """
insert into raw.onec__sales_documents (source_key, payload, _source, _load_id, _loaded_at)
select
    'bench-day-' || doc.source_key,
    jsonb_set(
        jsonb_set(doc.payload, '{Ref_Key}', to_jsonb('bench-day-' || doc.source_key)),
        '{Date}', to_jsonb(to_char(cast(doc.payload ->> 'Date' as timestamp) + interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS'))
    ),
    doc._source, 'bench-day', now()
from raw.onec__sales_documents as doc
where substr(doc.payload ->> 'Date', 1, 10) = %(last_day)s
"""


def demo_data(lines: int, clients: int) -> tuple[Path, date]:
    """A demo data set with about `lines` 1C sales lines (the generator lands about 7 % under its
    target, so it is asked for 8 % more), generated once per size."""
    path = CACHE / f"clients{clients}-lines{lines}"
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        print(f"demo generator: {clients} clients, ~{lines} sales lines into {path} ...", flush=True)
        generate(path, clients=clients, target_lines=int(lines * 1.08))
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return path, date.fromisoformat(json.loads(manifest_path.read_text())["as_of"])


def land_demo(conn: psycopg.Connection, data: Path) -> dict[str, int]:
    """Land the demo's 1C and Bitrix24 JSONL files into raw.* with the landing code (COPY)."""
    ensure_schema(conn)
    counts = {}
    for spec in ENTITIES.values():
        if not (spec.source == "onec" or spec.raw_table in LANDED):
            continue
        path = data / spec.source / f"{spec.method if spec.source == 'onec' else spec.entity}.jsonl"
        if not path.exists():
            continue

        def records(path: Path = path, id_field: str = spec.id_field):
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    yield str(json.loads(line)[id_field]), line.rstrip("\n"), None

        counts[spec.raw_table] = land(conn, spec.raw_table, records(), source=spec.source, load_id="bench")
        conn.commit()
    return counts


def dbt(env: dict[str, str], target: Path, *args: str) -> tuple[float, float]:
    """Run dbt; return (wall seconds including dbt start-up and parsing, seconds spent in the models' SQL)."""
    start = time.perf_counter()
    result = subprocess.run([str(DBT), *args, "--profiles-dir", str(PROJECT), "--project-dir", str(PROJECT),
                             "--target-path", str(target), "--log-path", str(target / "logs")],
                            cwd=PROJECT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    run_results = json.loads((target / "run_results.json").read_text())
    return elapsed, sum(r["execution_time"] for r in run_results["results"])


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
    name = f"bench_dbt_a_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    parts = urlsplit(admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, "", ""))
    target = Path("/tmp") / name
    env = dict(os.environ, HAPPYCLIENT_PG_HOST=parts.hostname or "127.0.0.1", HAPPYCLIENT_PG_PORT=str(parts.port or 5432),
               HAPPYCLIENT_PG_USER=parts.username or "postgres", HAPPYCLIENT_PG_PASSWORD=parts.password or "",
               HAPPYCLIENT_PG_DBNAME=name)
    try:
        data, as_of = demo_data(lines, clients)
        started = time.perf_counter()
        with psycopg.connect(url) as conn:
            counts = land_demo(conn, data)
            # history was landed day by day (each document the day after its date), catalogs
            # before it; the new day is landed now
            for table in counts:
                conn.execute(f"update raw.{table} set _loaded_at = cast(%s as timestamptz) - interval '4 years'",
                             (as_of.isoformat(),))
            for table in ("onec__sales_documents", "onec__returns"):
                conn.execute(f"update raw.{table} set _loaded_at = "
                             "cast(substr(payload ->> 'Date', 1, 10) as date) + interval '1 day'")
            conn.commit()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("vacuum analyze")
        print(f"landed {counts.get('onec__sales_documents', 0)} sales documents and "
              f"{sum(counts.values())} records in all in {time.perf_counter() - started:.0f} s", flush=True)
        vars_full = json.dumps({"as_of_date": as_of.isoformat()})
        dbt(env, target, "seed", "--vars", vars_full)
        full = dbt(env, target, "run", "--select", "+fct_sales_lines", "--full-refresh", "--vars", vars_full)

        new_day = as_of + timedelta(days=1)
        with psycopg.connect(url) as conn:
            last_day = conn.execute("select max(substr(payload ->> 'Date', 1, 10)) from raw.onec__sales_documents"
                                    " where _load_id = 'bench'").fetchone()[0]
            added = conn.execute(NEW_DAY_SQL, {"last_day": last_day}).rowcount
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
        print(f"full build (fct_sales_lines + upstream, --full-refresh): {full[0]:7.1f}   {full[1]:7.1f}")
        print(f"incremental run (one new day, fct_sales_lines):          {incremental[0]:7.1f}   {incremental[1]:7.1f}")
        print(f"incremental / full ratio:                                {incremental[0] / full[0]:7.3f}   "
              f"{incremental[1] / full[1]:7.3f}")
        print(f"client marts downstream of the fact (for information):   {marts[0]:7.1f}   {marts[1]:7.1f}")
        print("incremental select, scans of tables with more than "
              f"{BIG_TABLE_ROWS} rows (plan of the compiled select):")
        for kind, relation, estimate, rows in scans:
            if rows > BIG_TABLE_ROWS:
                flag = "  <-- full scan" if kind == "Seq Scan" else ""
                print(f"  {kind:<20} {relation:<40} est. {estimate:>9.0f} of {rows:>10.0f} rows{flag}")
        print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        if not keep_db:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
