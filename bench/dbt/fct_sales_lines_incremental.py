"""Benchmark: full build vs incremental run (one new day of 1C documents) of fct_sales_lines.

    .venv/bin/python bench/dbt/fct_sales_lines_incremental.py --lines 1000000 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Creates a scratch database, lands catalogs from the dbt-A test dataset plus N generated sales
lines (2 per document, dates over two years, generated in SQL straight into the raw table, landed
a day ago; the raw tables get the landing's `_loaded_at`/`_deleted_at` indexes), then times:
  1. full build: dbt run --full-refresh of fct_sales_lines and everything upstream;
  2. incremental: one new day of documents landed now, dbt run of fct_sales_lines only (it
     re-reads only documents landed after the fact's newest source_loaded_at);
and prints both wall times and the incremental/full ratio (the baseline is measured in the
same run, on the same machine), plus the ratio of the time spent in the models' SQL (without
dbt's start-up and parsing). Then EXPLAINs the incremental run's compiled select and prints the
scans of the raw tables and of the fact: the new day must be found through the raw
`_loaded_at`/`_deleted_at` indexes, with no sequential scan of the documents or of the fact.
Also times the client marts on top, for information, and prints the load average (the machine
may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "dbt"))
from a_raw_dataset import generate, land  # noqa: E402

sys.path.insert(0, str(ROOT))
from ingestion.landing import ensure_raw_table  # noqa: E402

DBT = Path(sys.executable).parent / "dbt"
PROJECT = ROOT / "dbt_project"
COMPILED_FACT = Path("compiled") / "happyclient" / "models" / "marts" / "core" / "fct_sales_lines.sql"
BIG_TABLE_ROWS = 100_000  # a sequential scan of a table this large is a full scan of the history
AS_OF = date(2025, 6, 30)

DOCS_SQL = """
insert into raw.onec__sales_documents (source_key, payload, _source, _load_id, _loaded_at)
select
    doc.ref,
    jsonb_build_object(
        'Ref_Key', doc.ref, 'DataVersion', 'AAAAAQ==', 'DeletionMark', false, 'Posted', true,
        'Number', 'Б-' || doc.n, 'Date', to_char(doc.day, 'YYYY-MM-DD') || 'T10:00:00',
        'Контрагент_Key', cp.source_key, 'Партнер_Key', cp.payload ->> 'Партнер_Key',
        'Менеджер_Key', null, 'Подразделение_Key', null, 'СуммаДокумента', 1200, 'ЦенаВключаетНДС', true,
        'Товары', jsonb_build_array(
            jsonb_build_object('Ref_Key', doc.ref, 'LineNumber', '1', 'Номенклатура_Key', cast(%(product)s as text),
                               'Количество', 1 + doc.n %% 7, 'Цена', 100, 'Сумма', 100 * (1 + doc.n %% 7),
                               'СтавкаНДС', 'НДС20', 'СуммаНДС', round(100 * (1 + doc.n %% 7) / 6.0, 2)),
            jsonb_build_object('Ref_Key', doc.ref, 'LineNumber', '2', 'Номенклатура_Key', cast(%(product)s as text),
                               'Количество', 2, 'Цена', 250, 'Сумма', 500, 'СтавкаНДС', 'НДС20', 'СуммаНДС', 83.33))),
    'onec', 'bench', cast(%(loaded_at)s as timestamptz)
from (
    select
        n,
        'bench-' || cast(%(tag)s as text) || '-' || n as ref,
        cast(%(first_day)s as date) + (n %% %(days)s) as day
    from generate_series(1, %(docs)s) as s (n)
) as doc
inner join (
    select c.source_key, c.payload, row_number() over (order by c.source_key) - 1 as rn
    from raw.onec__counterparties as c
) as cp
    on cp.rn = doc.n %% (select count(*) from raw.onec__counterparties)
"""


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
    plan = conn.execute("explain (format json) " + select_sql).fetchone()[0][0]["Plan"]
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
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--admin-url", default=os.environ.get("HAPPYCLIENT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    args = parser.parse_args()
    for lines in args.lines:
        run(lines, args.clients, args.admin_url, args.keep_db)


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
        dataset = generate(clients, docs_per_client=1)
        with psycopg.connect(url) as conn:
            land(conn, dataset)
            for table in dataset.rows:
                ensure_raw_table(conn, table)
            product = next(k for k, p in dataset.rows["onec__products"] if not p["IsFolder"])
            docs = lines // 2
            conn.execute(DOCS_SQL, {"product": product, "tag": "base", "first_day": AS_OF - timedelta(days=729),
                                    "days": 730, "docs": docs, "clients": clients,
                                    "loaded_at": "-infinity"})
            # history was landed day by day (each document the day after its date), catalogs before
            # it; the new day is landed now
            for table in dataset.rows:
                conn.execute(f"update raw.{table} set _loaded_at = cast(%s as timestamptz) - interval '3 years'",
                             (AS_OF.isoformat(),))
            conn.execute("update raw.onec__sales_documents set _loaded_at = "
                         "cast(substr(payload ->> 'Date', 1, 10) as date) + interval '1 day' "
                         "where _load_id = 'bench'")
            conn.execute("analyze")
        vars_full = json.dumps({"as_of_date": AS_OF.isoformat()})
        dbt(env, target, "seed", "--vars", vars_full)
        full = dbt(env, target, "run", "--select", "+fct_sales_lines", "--full-refresh", "--vars", vars_full)

        new_day = AS_OF + timedelta(days=1)
        with psycopg.connect(url) as conn:
            conn.execute(DOCS_SQL, {"product": product, "tag": "day", "first_day": new_day, "days": 1,
                                    "docs": max(1, docs // 730), "clients": clients,
                                    "loaded_at": "now"})
        vars_inc = json.dumps({"as_of_date": new_day.isoformat()})
        incremental = dbt(env, target, "run", "--select", "fct_sales_lines", "--vars", vars_inc)
        with psycopg.connect(url) as conn:  # the select the incremental run compiled (watermark inlined)
            scans = [(kind, rel, est, table_rows(conn, rel))
                     for kind, rel, est in plan_scans(conn, (target / COMPILED_FACT).read_text())]
        marts = dbt(env, target, "run", "--select", "+path:models/marts/core", "+path:models/marts/client_development",
                    "--exclude", "+fct_sales_lines", "--vars", vars_inc)
        with psycopg.connect(url) as conn:
            rows = conn.execute("select count(*) from marts.fct_sales_lines").fetchone()[0]
        print(f"--- {lines} generated sales lines; rows in fct_sales_lines: {rows}")
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
