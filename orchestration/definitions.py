"""The one Dagster code location: `dagster-webserver -m orchestration.definitions`.

Assets: raw landing per source entity -> dbt models (tests as checks) -> predictions -> dbt
models reading predictions -> Superset dashboards and the Bitrix24 write-back. One job runs
everything (`happyclient_pipeline`), daily; ingestion alone runs every half hour.
"""

from __future__ import annotations

import dagster as dg

from orchestration.dbt import build_dbt_assets, dbt_resource, ingest_state_assets
from orchestration.ingestion import incremental_ingestion_schedule, ingestion_assets
from orchestration.predictions import build_prediction_assets
from orchestration.resources import SupersetResource, WarehouseResource
from orchestration.superset import build_superset_assets

PIPELINE_JOB = "happyclient_pipeline"
DAILY_CRON = "0 5 * * *"

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.all(),
    description="Everything: ingestion, dbt build (models + tests), predictions, dashboards, write-back.",
)

daily_schedule = dg.ScheduleDefinition(
    name="happyclient_daily",
    job=pipeline_job,
    cron_schedule=DAILY_CRON,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def build_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[*ingestion_assets(), *ingest_state_assets(), *build_dbt_assets(), *build_prediction_assets(), build_superset_assets()],
        jobs=[pipeline_job],
        schedules=[daily_schedule, incremental_ingestion_schedule()],
        resources={
            "warehouse": WarehouseResource(url=dg.EnvVar("WAREHOUSE_URL")),
            "dbt": dbt_resource(),
            "superset": SupersetResource(
                base_url=dg.EnvVar("SUPERSET_URL"),
                admin_user=dg.EnvVar("SUPERSET_ADMIN_USER"),
                admin_password=dg.EnvVar("SUPERSET_ADMIN_PASSWORD"),
            ),
        },
    )


defs = build_definitions()
