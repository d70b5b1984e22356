"""`python -m ingestion <entity|source> [--full-refresh]`: load into WAREHOUSE_URL with a progress bar."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from hc_base.redact import install_log_redaction, redact

from .config import ConfigError, SourceSettings
from .registry import ENTITIES, SOURCES
from .run import IngestError, LoadResult, ingest, ingest_source


class ProgressBar:
    """A one-line progress display on stderr: rows read, rate, and a bar when the total is known."""

    def __init__(self, stream: TextIO | None = None, min_interval_s: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.dirty = False
        self.min_interval_s = min_interval_s
        self.label = ""
        self._started = time.monotonic()
        self._last = 0.0

    def start(self, label: str) -> None:
        self.label = label
        self._started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last < self.min_interval_s and (total is None or done < total):
            return
        self._last = now
        rate = done / max(now - self._started, 1e-6)
        if total:
            filled = int(30 * min(done, total) / total)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"\r{self.label} [{bar}] {done}/{total} rows {rate:,.0f} rows/s"
        else:
            text = f"\r{self.label} {done:,} rows {rate:,.0f} rows/s"
        self.stream.write(text)
        self.stream.flush()
        self.dirty = True

    def finish(self) -> None:
        if self.dirty:
            self.stream.write("\n")
            self.stream.flush()
        self.dirty = False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion",
        description="Load one entity (e.g. bitrix24.deals) or a whole source (bitrix24, onec, files) into raw.*",
    )
    parser.add_argument("target", help=f"entity or source: {', '.join(SOURCES)}, {', '.join(sorted(ENTITIES))}")
    parser.add_argument("--full-refresh", action="store_true", help="ignore stored cursors and read everything")
    parser.add_argument("--file", action="append", type=Path, default=None, metavar="PATH",
                        help="with a file kind (files.sales_lines): load this file as that kind, whatever its name "
                             "(repeatable)")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    warehouse_url = os.environ.get("WAREHOUSE_URL") or os.environ.get("HAPPYCLIENT_TEST_PG_URL")
    if not warehouse_url:
        print("WAREHOUSE_URL is not set (postgresql://user:pass@host:port/db)", file=sys.stderr)
        return 2
    try:
        settings = SourceSettings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    bar = ProgressBar()

    def log(message: str) -> None:
        bar.finish()  # end the progress line before a message
        print(redact(message), file=sys.stderr)

    results: list[LoadResult] = []
    if args.file and not args.target.startswith("files."):
        print("--file goes with a file kind, e.g. files.sales_lines", file=sys.stderr)
        return 2
    try:
        if args.target in SOURCES:
            bar.start(args.target)
            results = ingest_source(args.target, warehouse_url=warehouse_url, settings=settings,
                                    full_refresh=args.full_refresh, progress=bar, log=log)
        elif args.target in ENTITIES:
            bar.start(args.target)
            results = [ingest(args.target, warehouse_url=warehouse_url, settings=settings,
                              full_refresh=args.full_refresh, progress=bar, log=log, files=args.file,
                              require_files=True)]
        else:
            print(f"unknown entity or source {args.target!r}; known: {', '.join([*SOURCES, *sorted(ENTITIES)])}",
                  file=sys.stderr)
            return 2
    except (IngestError, ConfigError) as exc:
        bar.finish()
        print(redact(exc), file=sys.stderr)
        return 1
    except Exception as exc:
        bar.finish()
        print(redact(f"load failed: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return 1
    bar.finish()
    for r in results:
        read = "" if r.rows_read is None else f"\tread={r.rows_read}\trejected_rows={r.rows_rejected}\terrors={r.errors}"
        print(f"{r.entity}\tlanded={r.rows_landed}\tquarantined={r.rows_quarantined}\tdeleted={r.rows_deleted}{read}"
              + ("\tskipped=unchanged" if r.skipped else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
