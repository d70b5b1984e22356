"""Benchmark: the period marts on a long-tailed, sales-only company (the issue-10 case).

    .venv/bin/python bench/dbt/marts_scale.py --clients 24000 --lines 70000 --months 18 \
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres [--project-dir DIR] [--keep]

Writes a generic ERP sales export straight into raw.files__sales_lines (the landing contract's
table; every other raw table is created empty, as for a company that has only this file):
every client buys at least once and the rest of the lines go to a few heavy buyers
(client = clients × u³), so most clients are one-off or rare buyers, over `--months` months
ending on the as-of date; an assortment matrix of 6 items per channel. Then `dbt run` of the
client-development marts and marts.assortment_fulfilment with everything upstream
(--project-dir: another checkout's dbt_project, e.g. the previous commit, to compare), and
prints per-model time (dbt's run_results.json) and row counts, the slowest models first.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "dbt"))
from raw_dataset import create_raw_tables  # noqa: E402

DBT = Path(sys.executable).parent / "dbt"
SELECT = ["+path:models/marts/client_development", "+assortment_fulfilment"]

SALES_SQL = """
insert into raw.files__sales_lines (source_key, payload, _source, _load_id, _loaded_at)
select
    'L' || line.n,
    jsonb_build_object(
        'inn', 'C' || line.client,
        'client_name', 'Клиент ' || line.client,
        'date', to_char(%(first_day)s::date + line.day_offset, 'YYYY-MM-DD'),
        'document_number', 'D' || (line.n / 3),
        'product', 'Товар ' || (line.n %% 200),
        'quantity', 1 + line.n %% 5,
        'amount', round((100 + (line.n::bigint * 7919) %% 5000)::numeric, 2),
        'manager', 'Менеджер ' || (line.client %% 20),
        'region', (array['Москва', 'Санкт-Петербург', 'Новосибирская область'])[1 + line.client %% 3],
        'channel', (array['Опт', 'Розница', 'Сети'])[1 + line.client %% 3]
    ),
    'file:sales_lines.csv', 'bench', now()
from (
    select
        series.n,
        case when series.n <= %(clients)s then series.n
             else 1 + floor(%(clients)s * power(random(), 3))::int end as client,
        floor(random() * %(days)s)::int as day_offset
    from generate_series(1, %(lines)s) as series (n)
) as line
"""

MATRIX_SQL = """
insert into raw.files__assortment_matrix (source_key, payload, _source, _load_id, _loaded_at)
select
    channel || '|' || item,
    jsonb_build_object('channel', channel, 'category', 'Без категории',
                       'sku', case when item = 0 then null else 'Товар ' || item end),
    'file:assortment_matrix.csv', 'bench', now()
from unnest(array['Опт', 'Розница', 'Сети']) as channel
cross join generate_series(0, 5) as item
"""


def with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True)
    parser.add_argument("--clients", type=int, default=24000)
    parser.add_argument("--lines", type=int, default=70000)
    parser.add_argument("--months", type=int, default=18)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2025, 10, 31))
    parser.add_argument("--as-of-run", type=date.fromisoformat, default=None,
                        help="as_of_date of the dbt run (default --as-of, the end of the data); a later date "
                             "reproduces a run whose as_of is after the last data (e.g. today)")
    parser.add_argument("--project-dir", type=Path, default=ROOT / "dbt_project")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds for dbt run")
    parser.add_argument("--test", action="store_true", help="also run the row_count_at_most tests")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (its name is printed)")
    parser.add_argument("--seed", type=float, default=0.42, help="setseed() of the generator: same data every run")
    args = parser.parse_args()

    index = args.as_of.year * 12 + args.as_of.month - args.months  # first month of the history
    first_day = date(index // 12, index % 12 + 1, 1)
    days = (args.as_of - first_day).days + 1
    name = f"bench_marts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_db(args.admin_url, name)
    try:
        started = time.monotonic()
        with psycopg.connect(url) as conn:
            create_raw_tables(conn)
            conn.execute("select setseed(%s)", (args.seed,))
            conn.execute(SALES_SQL, {"first_day": first_day, "clients": args.clients, "days": days,
                                     "lines": args.lines})
            conn.execute(MATRIX_SQL)
            conn.execute("analyze")
            buyers = conn.execute("select count(distinct payload ->> 'inn') from raw.files__sales_lines").fetchone()
        print(f"database {name}: landed {args.lines} lines of {buyers[0]} clients, {first_day} .. {args.as_of}"
              f" in {time.monotonic() - started:.1f} s", flush=True)

        parts = urlsplit(url)
        env = dict(os.environ, HAPPYCLIENT_PG_HOST=parts.hostname or "127.0.0.1",
                   HAPPYCLIENT_PG_PORT=str(parts.port or 5432), HAPPYCLIENT_PG_USER=parts.username or "postgres",
                   HAPPYCLIENT_PG_PASSWORD=parts.password or "", HAPPYCLIENT_PG_DBNAME=name,
                   HAPPYCLIENT_DBT_THREADS="1")
        target = Path(f"/tmp/{name}-target")
        common = ["--profiles-dir", str(args.project_dir), "--project-dir", str(args.project_dir),
                  "--target-path", str(target), "--log-path", str(target / "logs"),
                  "--vars", json.dumps({"as_of_date": (args.as_of_run or args.as_of).isoformat()})]
        subprocess.run([str(DBT), "seed", *common], env=env, cwd=args.project_dir, check=True,
                       capture_output=True, timeout=600)
        started = time.monotonic()
        run = subprocess.run([str(DBT), "run", "--select", *SELECT, *common], env=env, cwd=args.project_dir,
                             capture_output=True, text=True, timeout=args.timeout)
        wall = time.monotonic() - started
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
        rows = {}
        with psycopg.connect(url, autocommit=True) as conn:
            for result in results:
                model = result["unique_id"].rsplit(".", 1)[-1]
                if result["status"] == "success" and result.get("relation_name"):
                    rows[model] = conn.execute(f"select count(*) from {result['relation_name']}").fetchone()[0]
        print(f"dbt run: exit {run.returncode}, {wall:.1f} s wall, {len(results)} models")
        print(f"{'model':40} {'seconds':>9} {'rows':>12}")
        for result in sorted(results, key=lambda r: -r["execution_time"])[:25]:
            model = result["unique_id"].rsplit(".", 1)[-1]
            print(f"{model:40} {result['execution_time']:9.2f} {rows.get(model, ''):>12} {result['status']}")
        if run.returncode != 0:
            print(run.stdout[-3000:])
        if args.test:
            # the data tests of the built models whose parents were all built (row bounds included)
            test = subprocess.run([str(DBT), "test", "--select", *SELECT, "--indirect-selection", "cautious",
                                   "--exclude", "test_type:unit", *common], env=env, cwd=args.project_dir,
                                  capture_output=True, text=True, timeout=args.timeout)
            print("dbt test:", [line for line in test.stdout.splitlines() if "PASS=" in line] or test.stdout[-2000:])
            bounds = [line for line in test.stdout.splitlines() if "row_count_at_most" in line and " of " in line
                      and ("PASS" in line or "FAIL" in line or "ERROR" in line) and "START" not in line]
            print(f"row_count_at_most: {sum('PASS' in line for line in bounds)} passed of {len(bounds)}")
            for line in bounds:
                if "PASS" not in line:
                    print(line)
        return run.returncode
    finally:
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    raise SystemExit(main())
