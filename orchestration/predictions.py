"""Predictions (BG/NBD, Gamma-Gamma) and the write-back of results to Bitrix24.

The predictions asset runs after the marts it reads and before the dbt models that read the
`predictions` source. The write-back asset depends on those models, so it only runs when the
dbt build (models and their tests) succeeded: a failed dbt step skips everything downstream.
WRITEBACK_ENABLED=false (the default) makes the write-back a dry run, and without Bitrix24
configured the write-back is skipped (one line says so). Write-back errors fail the step.
"""

import json
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from hc_base.redact import redact
from orchestration import SKIPPED_METADATA
from orchestration.dbt import PREDICTIONS_SOURCE, ensure_manifest, translator
from orchestration.resources import WarehouseResource

PREDICTIONS_GROUP = "predictions"
WRITEBACK_KEY = dg.AssetKey(["bitrix24_writeback", "pushed"])
# marts the model fits on; any that exist in the manifest become dependencies
PREDICTION_INPUTS = ("fct_sales_lines", "dim_clients")
NO_BITRIX24 = (
    "Bitrix24 is not configured (BITRIX24_WEBHOOK_URL or the BITRIX24_* OAuth settings) and WRITEBACK_ENABLED "
    "is not true: nothing to write back to"
)


def _manifest(path: Path | None = None) -> dict[str, Any]:
    return json.loads((path or ensure_manifest()).read_text(encoding="utf-8"))


def prediction_keys(manifest: dict[str, Any]) -> list[dg.AssetKey]:
    keys = [
        translator.get_asset_key(s)
        for s in manifest.get("sources", {}).values()
        if s["source_name"] == PREDICTIONS_SOURCE
    ]
    return sorted(keys, key=lambda k: k.to_user_string()) or [dg.AssetKey([PREDICTIONS_GROUP, "client_predictions"])]


def prediction_input_keys(manifest: dict[str, Any]) -> list[dg.AssetKey]:
    return [
        translator.get_asset_key(n)
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"] in PREDICTION_INPUTS
    ]


def writeback_input_keys(manifest: dict[str, Any]) -> list[dg.AssetKey]:
    """Models that read the predictions source (the action lists), else the predictions."""
    source_ids = {uid for uid, s in manifest.get("sources", {}).items() if s["source_name"] == PREDICTIONS_SOURCE}
    readers = [
        translator.get_asset_key(n)
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and source_ids & set(n.get("depends_on", {}).get("nodes", []))
    ]
    return readers or prediction_keys(manifest)


def _has_sales(url: str) -> bool:
    """Whether the sales fact holds any line (it is empty when neither 1C nor a sales file is connected)."""
    from hc_base.clickhouse import warehouse
    from predictions.model import SALES_TABLE

    with warehouse(url) as conn:
        return conn.execute(f"select count(*) > 0 from (select 1 from {SALES_TABLE} limit 1) as s").fetchone()[0] in (1, True)


def _ensure_prediction_tables(url: str) -> None:
    """The (empty) prediction tables, so the dbt models reading them build."""
    from predictions.model import ensure_tables

    ensure_tables(url)


def build_prediction_assets() -> list[dg.AssetsDefinition]:
    manifest = _manifest()
    specs = [
        dg.AssetSpec(
            key=key,
            deps=prediction_input_keys(manifest),
            group_name=PREDICTIONS_GROUP,
            kinds={"python", "postgres"},
            description="BG/NBD + Gamma-Gamma output per client (schema predictions)",
        )
        for key in prediction_keys(manifest)
    ]

    @dg.multi_asset(specs=specs, name="client_predictions", op_tags={"happyclient/layer": "predictions"})
    def client_predictions(context: AssetExecutionContext, warehouse: WarehouseResource) -> Any:
        from hc_base.settings import Settings

        try:
            from predictions.model import run_predictions
        except ImportError as exc:
            raise RuntimeError(f"predictions.model.run_predictions is not available: {exc}") from exc
        as_of = Settings.from_env().as_of
        if not _has_sales(warehouse.url):
            # a company without sales data (Bitrix24 only): the predictions are empty, not failed
            _ensure_prediction_tables(warehouse.url)
            context.log.info("predictions skipped: no sales lines (connect 1C or put a sales_lines file in FILES_DIR)")
            rows = 0
        else:
            rows = run_predictions(warehouse.url, as_of)
        context.log.info(f"predictions written for {rows} clients")
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata={"clients": int(rows)})

    @dg.asset(
        key=WRITEBACK_KEY,
        deps=writeback_input_keys(manifest),
        group_name="bitrix24_writeback",
        kinds={"python", "bitrix24"},
        description="Fields and tasks pushed back to Bitrix24 (dry run unless WRITEBACK_ENABLED=true)",
        op_tags={"happyclient/layer": "writeback"},
    )
    def bitrix24_writeback(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from hc_base.settings import Settings

        try:
            from ingestion.config import SourceSettings
            from ingestion.run import bitrix24_client
            from predictions.writeback import push_to_bitrix24
        except ImportError as exc:
            raise RuntimeError(f"predictions.writeback.push_to_bitrix24 is not available: {exc}") from exc
        settings = Settings.from_env()
        sources = SourceSettings.from_env()
        dry_run = not settings.writeback_enabled
        if dry_run and not sources.bitrix24_configured:
            # a company without Bitrix24: nothing to write to, and nothing was asked to be written
            context.log.info(f"write-back skipped: {NO_BITRIX24}")
            return dg.MaterializeResult(metadata={SKIPPED_METADATA: NO_BITRIX24})
        client = bitrix24_client(sources, warehouse.url)
        report = push_to_bitrix24(
            warehouse.url, client, dry_run=dry_run, log=lambda message: context.log.info(redact(message))
        )
        context.log.info(redact(f"write-back ({'dry run' if dry_run else 'live'}): {report.summary()}"))
        if not report.ok:
            # errors fail the step (and the run): a write-back that did not happen is not a success
            raise dg.Failure(
                description=report.failure(),
                metadata={"dry_run": str(dry_run), "errors": len(report.errors)},
            )
        return dg.MaterializeResult(metadata={"dry_run": str(dry_run), "report": redact(report)[:2000]})

    return [client_predictions, bitrix24_writeback]
