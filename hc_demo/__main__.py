"""`python -m hc_demo --out DIR [--clients N] [--seed S] [--target-lines N]`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hc_demo.generator import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hc_demo", description="Write the Happy Client demo data set."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory (created)")
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 10, 31), help="YYYY-MM-DD")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--lines-per-doc", type=float, default=4.0)
    parser.add_argument("--target-lines", type=int, default=None, help="approximate number of sales lines")
    parser.add_argument("--long-tail", type=float, default=0.0, help="share of one-off and rare buyers (0 to <1)")
    args = parser.parse_args(argv)

    def progress(stage: str, done: int, total: int) -> None:
        print(f"{stage}: {done}/{total}", file=sys.stderr, flush=True)

    manifest = generate(
        args.out,
        seed=args.seed,
        clients=args.clients,
        as_of=args.as_of,
        years=args.years,
        lines_per_doc=args.lines_per_doc,
        target_lines=args.target_lines,
        long_tail=args.long_tail,
        progress=progress,
    )
    for key in sorted(manifest.counts):
        print(f"{key}\t{manifest.counts[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
