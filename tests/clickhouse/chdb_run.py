"""Test helper run as a subprocess (one process at a time may open a chDB directory, and the pytest
process keeps none open): land the shared raw test dataset into a chDB directory through the
product's ClickHouse landing (ingestion/clickhouse_landing.py), or run queries there.

    python tests/clickhouse/chdb_run.py land <dir>              # tests/dbt's raw dataset (1C, Bitrix24, files)
    python tests/clickhouse/chdb_run.py query <dir> <sql> ...   # JSON: one list of rows per query, with column names
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "dbt")]

def dataset():
    from raw_dataset import generate
    from raw_dataset_bitrix24 import add_bitrix24_and_files

    return add_bitrix24_and_files(generate(40))


def land(path: str) -> None:
    from raw_dataset import RAW_TABLES

    from ingestion import clickhouse_landing as ch

    ds = dataset()
    client = ch.connect(f"chdb://{path}")
    ch.ensure_schema(client, RAW_TABLES)
    # the predictions step's output table, created empty so its source and tests exist (as tests/dbt does)
    from predictions.model import CLICKHOUSE_DDL

    for ddl in CLICKHOUSE_DDL:
        client.command(ddl)
    for table in RAW_TABLES:
        rows = ds.rows.get(table, [])
        if not rows:
            continue
        prefix = table.split("__", 1)[0]
        source = f"file:{table}.csv" if prefix == "files" else prefix  # as tests/dbt/raw_dataset.land
        ch.run_load(client, table, [(key, payload, None) for key, payload in rows], source=source, entity=table)
    client.close()


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def query(path: str, queries: list[str]) -> None:
    from ingestion import clickhouse_landing as ch

    client = ch.connect(f"chdb://{path}")
    out = []
    for sql in queries:
        result = client.query(sql)
        out.append({"columns": list(result.column_names),
                    "rows": [[_plain(v) for v in row] for row in result.result_rows]})
    client.close()
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    command, directory, *rest = sys.argv[1:]
    if command == "land":
        land(directory)
    elif command == "query":
        query(directory, rest)
    else:
        raise SystemExit(f"unknown command {command!r}")
