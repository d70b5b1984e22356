"""The Superset dashboards as assets downstream of the marts they read.

One asset per dbt exposure of type dashboard (`superset/<exposure name>`), all produced by one
sync step that imports `superset_assets/` through Superset's REST API.
"""

from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.dbt import exposures, mart_keys
from orchestration.resources import SupersetResource, WarehouseResource

ASSETS_DIR = Path(__file__).resolve().parent.parent / "superset_assets"
SUPERSET_GROUP = "superset"


def dashboard_specs(exposure_list: list[dict[str, Any]], marts: list[dg.AssetKey]) -> list[dg.AssetSpec]:
    """One spec per dashboard exposure; without exposures, one `superset/dashboards` asset that
    depends on every mart."""
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([SUPERSET_GROUP, e["name"]]),
            deps=e["deps"],
            description=f"Superset dashboard «{e['label']}»",
            group_name=SUPERSET_GROUP,
            kinds={"superset"},
        )
        for e in exposure_list
        if e.get("type") == "dashboard"
    ]
    if specs:
        return specs
    return [
        dg.AssetSpec(
            key=dg.AssetKey([SUPERSET_GROUP, "dashboards"]),
            deps=marts,
            description="Superset dashboards (superset_assets/)",
            group_name=SUPERSET_GROUP,
            kinds={"superset"},
        )
    ]


def build_superset_assets() -> dg.AssetsDefinition:
    specs = dashboard_specs(exposures(), mart_keys())

    @dg.multi_asset(specs=specs, name="superset_sync", op_tags={"happyclient/layer": "superset"})
    def superset_sync(context: AssetExecutionContext, superset: SupersetResource, warehouse: WarehouseResource) -> Any:
        try:
            from hc_superset.sync import import_assets
        except ImportError as exc:
            raise RuntimeError(f"hc_superset.sync.import_assets is not available: {exc}") from exc
        report = import_assets(
            superset.base_url, superset.admin_user, superset.admin_password, ASSETS_DIR, warehouse.url
        )
        context.log.info(f"Superset sync: {report}")
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata={"superset_url": superset.base_url})

    return superset_sync
