"""What the benchmarks share: demo data cached per size, scratch databases, landing the demo's
1C and Bitrix24 files with the real landing code, one new day of documents, dbt runs with
their run_results, the load average.

The benchmarks are scripts (`.venv/bin/python bench/<name>/<script>.py`); each puts the project
root on sys.path and imports this module as `bench.common`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from happyclient.demo import DemoData, cached_demo_data  # noqa: E402
from ingestion import landing  # noqa: E402
from ingestion.registry import ENTITIES, EntitySpec  # noqa: E402

DBT = Path(sys.executable).parent / "dbt"
PROJECT = ROOT / "dbt_project"
DATA_CACHE = ROOT / ".data"


def load_average() -> str:
    """The 1/5/15-minute load averages, as "1.2, 0.9, 0.7" (the machine may be shared)."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def say(message: str) -> None:
    print(message, flush=True)


# ---- demo data, generated once per size ------------------------------------------------------


def demo_data(
    cache_dir: Path, *, clients: int, target_lines: int, seed: int = 42, long_tail: float = 0.0
) -> DemoData:
    """The demo generator's data set for these parameters, generated once into `cache_dir`
    (a `.partial` directory renamed when complete, so an interrupted run regenerates)."""
    from hc_demo.generator import generate

    name = f"data-seed{seed}-clients{clients}-lines{target_lines}" + (f"-tail{long_tail:g}" if long_tail else "")
    path = cache_dir / name
    cached = cached_demo_data(path)
    if cached is not None:
        say(f"demo data: cached {path}")
        return cached
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.monotonic()
    say(f"demo data: generating {clients} clients, ~{target_lines} sales lines (long tail {long_tail:g}) into {path} ...")
    last = [started]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 15 or done == total:
            last[0] = now
            say(f"  {stage}: {done}/{total} ({now - started:.0f} s)")

    manifest = generate(partial, seed=seed, clients=clients, target_lines=target_lines, long_tail=long_tail,
                        progress=progress)
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    say(f"  {manifest.counts['onec/sales_lines']} 1C sales lines in {time.monotonic() - started:.0f} s, "
        f"{disk_usage(path) / 1e9:.2f} GB on disk")
    return DemoData(path, manifest.as_of, seed, clients)


def sales_lines(data: DemoData) -> int:
    """1C sales lines the generator wrote (from its manifest)."""
    return int(json.loads((data.path / "manifest.json").read_text(encoding="utf-8"))["counts"]["onec/sales_lines"])


def disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---- scratch databases -------------------------------------------------------------------------


def with_db(url: str, name: str) -> str:
    """`url` with its database replaced by `name`."""
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


@contextlib.contextmanager
def scratch_database(admin_url: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """Create a database `<prefix>_<random>` on the server of `admin_url`, yield its URL, drop it
    afterwards (unless `keep`)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_db(admin_url, name)
    try:
        yield url
    finally:
        if keep:
            say(f"kept the scratch database {name}")
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')


# ---- landing ------------------------------------------------------------------------------------


def demo_file(data: DemoData, spec: EntitySpec) -> Path:
    """The demo generator's JSONL file of a 1C or Bitrix24 entity."""
    return data.path / spec.source / f"{spec.method if spec.source == 'onec' else spec.entity}.jsonl"


def land_demo(conn: psycopg.Connection, data: DemoData, wanted: Callable[[EntitySpec], bool],
              *, verbose: bool = False) -> dict[str, int]:
    """Land the demo's 1C and Bitrix24 JSONL files of the `wanted` entities into raw.* with the
    landing code (`ingestion.landing.land`: COPY, one transaction per entity, logged in
    ingest_state.loads like a real load). Returns rows landed per raw table."""
    landing.ensure_schema(conn)
    conn.commit()
    counts = {}
    for spec in ENTITIES.values():
        path = demo_file(data, spec)
        if spec.source == "files" or not wanted(spec) or not path.exists():
            continue
        started = time.monotonic()

        def records(path: Path = path, id_field: str = spec.id_field) -> Iterator[landing.Record]:
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    yield str(json.loads(line)[id_field]), line.rstrip("\n"), None

        load_id = landing.new_load_id(spec.source, spec.entity)
        landing.log_load_start(conn, load_id, spec.source, spec.entity)
        counts[spec.raw_table] = landing.land(conn, spec.raw_table, records(), source=spec.source, load_id=load_id)
        landing.log_load_end(conn, load_id, status="success", rows_landed=counts[spec.raw_table])
        conn.commit()
        if verbose:
            say(f"  raw.{spec.raw_table}: {counts[spec.raw_table]} rows in {time.monotonic() - started:.1f} s")
    return counts


def backdate_history(conn: psycopg.Connection, as_of: date) -> None:
    """Make the landed history look landed over time, as a daily schedule would have: every raw
    row 4 years before `as_of`, each 1C document the day after its date; commits. (Landed in one
    go, the whole history would be newer than the facts' look-back window, and the first
    incremental run would re-read all of it.)"""
    tables = [t for (t,) in conn.execute("select tablename from pg_tables where schemaname = 'raw'")]
    for table in tables:
        conn.execute(f'update raw."{table}" set _loaded_at = cast(%s as timestamptz) - interval \'4 years\'',
                     (as_of.isoformat(),))
    for table in ("onec__sales_documents", "onec__returns"):
        if table in tables:
            conn.execute(f"update raw.{table} set _loaded_at = "
                         "cast(substr(payload ->> 'Date', 1, 10) as date) + interval '1 day'")
    conn.commit()


# a new day: copies of the last day's 1C sales documents, new keys, dated the next day, landed now
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


def land_new_day(conn: psycopg.Connection) -> tuple[str, int]:
    """Land one new day of sales documents (see NEW_DAY_SQL) and commit; returns (the copied
    day, documents added)."""
    last_day = conn.execute("select max(substr(payload ->> 'Date', 1, 10)) from raw.onec__sales_documents"
                            " where _load_id <> 'bench-day'").fetchone()[0]
    added = conn.execute(NEW_DAY_SQL, {"last_day": last_day}).rowcount
    conn.commit()
    return last_day, added


# ---- dbt -------------------------------------------------------------------------------------------


@dataclass
class DbtRun:
    wall_s: float
    returncode: int
    results: list[dict[str, Any]] = field(default_factory=list)  # run_results.json "results"
    output: str = ""

    @property
    def sql_s(self) -> float:
        """Seconds spent in the nodes (models, tests, seeds), without dbt's start-up and parsing."""
        return sum(r["execution_time"] for r in self.results)

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] in ("error", "fail", "runtime error")]


_NODE_LINE = re.compile(r"\b(\d+) of (\d+) (START|OK|ERROR|PASS|FAIL|WARN|SKIP)\b(.*?)(?:\[.*? in ([\d.]+)s\])?\s*$")


_KINDS = ("model", "test", "seed", "snapshot", "unit_test", "relation")


def node_name(rest: str) -> str:
    """The node's name in the rest of a dbt progress line after its status word: "sql table model
    marts.x ..... [RUN]" -> "marts.x", "137 not_null_x ..... [FAIL 137 in 0.1s]" -> "not_null_x"."""
    words = [w for w in re.sub(r"\[.*?\]", " ", rest).split() if w.strip(".")]
    if words and words[0].isdigit():  # "FAIL 137 not_null_x": the number of failing rows first
        words = words[1:]
    for i in range(len(words) - 1):
        if words[i] in _KINDS:
            return words[i + 1].rstrip(".")
    return words[0].rstrip(".") if words else "?"


def dbt(env: dict[str, str], target: Path, *args: str, progress: bool = False, slow_s: float = 20.0,
        check: bool = True, executable: list[str] | None = None) -> DbtRun:
    """Run dbt with its own target path; returns wall time (including dbt's start-up and parse)
    and the run's results. `progress`: print nodes slower than `slow_s` as they finish and a
    status line every 60 s with what is running. `check`: exit on failure. `executable`: the
    command that is dbt (default the virtualenv's `dbt`; bench/scale's chDB engine passes the
    test shim tests/clickhouse/chdb_dbt.py)."""
    command = [*(executable or [str(DBT)]), *args, "--profiles-dir", str(PROJECT), "--project-dir", str(PROJECT),
               "--target-path", str(target), "--log-path", str(target / "logs")]
    (target / "run_results.json").unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    assert proc.stdout is not None
    output: list[str] = []
    running: dict[str, float] = {}
    done = [0, 0]
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(60):
            now = time.perf_counter()
            slowest = sorted(running.items(), key=lambda kv: kv[1])[:3]
            say(f"    ... {now - start:.0f} s, {done[0]}/{done[1] or '?'} nodes done; running: "
                + (", ".join(f"{name} ({now - t:.0f} s)" for name, t in slowest) or "-") + f"; load {load_average()}")

    beat = threading.Thread(target=heartbeat, daemon=True)
    if progress:
        beat.start()
    for line in proc.stdout:
        output.append(line)
        match = _NODE_LINE.search(line)
        if not match:
            continue
        index, total, status, rest, seconds = match.groups()
        name = node_name(rest)
        done[1] = int(total)
        if status == "START":
            running[name] = time.perf_counter()
            continue
        running.pop(name, None)
        done[0] += 1
        if progress and (status in ("ERROR", "FAIL") or (seconds and float(seconds) >= slow_s)):
            say(f"    {status} {name} in {seconds or '?'} s")
    proc.wait()
    stop.set()
    elapsed = time.perf_counter() - start
    text = "".join(output)
    results_path = target / "run_results.json"
    results = json.loads(results_path.read_text())["results"] if results_path.exists() else []
    if check and proc.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{text[-4000:]}")
    return DbtRun(elapsed, proc.returncode, results, text)


def dbt_env(url: str, **extra: str) -> dict[str, str]:
    """The environment dbt runs with against the database of `url`."""
    from hc_base.warehouse_url import dbt_env as warehouse_dbt_env

    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **warehouse_dbt_env(url), **extra}
