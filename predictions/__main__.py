"""`python -m predictions predict [--as-of YYYY-MM-DD]` and `python -m predictions push [--dry-run]`.

Environment: WAREHOUSE_URL (required here; `happyclient` resolves the embedded warehouse itself),
BITRIX24_WEBHOOK_URL (push), WRITEBACK_ENABLED (push writes only when true; --dry-run previews unless it is false),
BITRIX24_RATE_PER_S / BITRIX24_BURST / BITRIX24_TIMEOUT_S (client limits).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from hc_base.redact import redact


def _warehouse_url() -> str:
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    if not url:
        raise SystemExit(
            "WAREHOUSE_URL is not set: set it to postgresql://user:password@host:port/db, or run `happyclient push`"
        )
    return url


def _predict(args: argparse.Namespace) -> int:
    from .model import PredictionError, run_predictions

    as_of = date.fromisoformat(args.as_of) if args.as_of else None
    try:
        count = run_predictions(_warehouse_url(), as_of)
    except PredictionError as exc:
        print(f"predictions: {exc}", file=sys.stderr)
        return 1
    print(f"predictions: {count} clients written to predictions.client_predictions")
    return 0


def _push(args: argparse.Namespace) -> int:
    from ingestion.bitrix24.auth import WebhookAuth
    from ingestion.bitrix24.client import Bitrix24Client
    from ingestion.config import SourceSettings

    from .writeback import push_to_bitrix24, writeback_enabled_from_env, writeback_switched_off

    if writeback_switched_off():
        print("write-back to Bitrix24 is disabled (WRITEBACK_ENABLED=false): nothing was read or written")
        return 0
    if not args.dry_run and not writeback_enabled_from_env():
        print("write-back to Bitrix24 is disabled: set WRITEBACK_ENABLED=true to write (or use --dry-run to preview)")
        return 0
    sources = SourceSettings.from_env()  # the connector's settings, as `happyclient push` reads them
    webhook = sources.bitrix24_webhook_url
    if not webhook:
        print(
            "BITRIX24_WEBHOOK_URL is not set: the write-back needs an inbound webhook with scopes crm, task",
            file=sys.stderr,
        )
        return 2
    client = Bitrix24Client(
        WebhookAuth(webhook),
        rate_per_s=sources.bitrix24_rate_per_s,
        burst=sources.bitrix24_burst,
        timeout_s=sources.bitrix24_timeout_s,
    )
    report = push_to_bitrix24(
        _warehouse_url(), client, dry_run=args.dry_run, enabled=True, log=lambda m: print(redact(m))
    )
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m predictions", description="Happy Client predictions and Bitrix24 write-back"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    predict = sub.add_parser("predict", help="fit BG/NBD + Gamma-Gamma, write predictions.client_predictions")
    predict.add_argument("--as-of", help="reporting date YYYY-MM-DD (default: the latest sales date)")
    predict.set_defaults(func=_predict)
    push = sub.add_parser("push", help="write fields and tasks to Bitrix24")
    push.add_argument("--dry-run", action="store_true", help="print the diff, write nothing to Bitrix24")
    push.set_defaults(func=_push)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
