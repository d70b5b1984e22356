"""One Dagster asset per source entity of `ingestion.registry.ENTITIES`.

Asset keys are `["raw", "<source>__<entity>"]`, the same keys the dbt translator gives the dbt
sources, so lineage runs raw -> staging -> marts. Assets are grouped per source, retried on
transient failures, and each carries two checks: the raw table has rows, and it was loaded
recently. "Recently" is the dbt source's `freshness.warn_after` (the sources' yml files): the one
freshness rule of the project, evaluated by this check after every load.
"""

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from hc_base.redact import redact
from orchestration.resources import WarehouseResource

INGEST_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
INCREMENTAL_CRON = "*/30 * * * *"


def raw_asset_key(raw_table: str) -> dg.AssetKey:
    """`raw.bitrix24__deals` or `bitrix24__deals` -> AssetKey(["raw", "bitrix24__deals"])."""
    name = raw_table.split(".", 1)[1] if raw_table.startswith("raw.") else raw_table
    return dg.AssetKey(["raw", name])


def load_metadata(result: Any) -> dict[str, Any]:
    """Dagster metadata from an `ingestion.run.LoadResult` (numbers and short texts only, redacted)."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        values: Mapping[str, Any] = dataclasses.asdict(result)
    elif isinstance(result, Mapping):
        values = result
    else:
        values = {k: v for k, v in vars(result).items() if not k.startswith("_")} if hasattr(result, "__dict__") else {}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, bool) or value is None:
            out[key] = str(value)
        elif isinstance(value, int | float):
            out[key] = value
        elif isinstance(value, str | datetime):
            out[key] = redact(value)[:500]
    return out


def source_freshness(manifest_path: Path) -> dict[str, timedelta]:
    """{raw table: max age} from the `freshness.warn_after` of the dbt sources in schema raw."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    out: dict[str, timedelta] = {}
    for source in manifest.get("sources", {}).values():
        if source.get("schema") != "raw":
            continue
        warn = (source.get("freshness") or {}).get("warn_after") or {}
        if warn.get("count") and warn.get("period"):
            out[source["name"]] = timedelta(**{f"{warn['period']}s": warn["count"]})
    return out


def freshness_ok(last_loaded: datetime | None, now: datetime, max_age: timedelta) -> bool:
    """True when the newest `_loaded_at` is within `max_age` of `now`."""
    return last_loaded is not None and now - last_loaded <= max_age


def missing_configuration(source: str, settings: Any) -> str | None:
    """What must be set for `source` to be loaded, or None when it is configured."""
    if source == "bitrix24" and not settings.bitrix24_configured:
        return "set BITRIX24_WEBHOOK_URL (or the BITRIX24_* OAuth variables)"
    if source == "onec" and not settings.onec_configured:
        return "set ONEC_ODATA_URL, ONEC_USER and ONEC_PASSWORD"
    if source == "files" and settings.files_dir is None:
        return "set FILES_DIR to the directory with the user files"
    return None


def _ensure_raw_table(url: str, raw_table: str) -> None:
    from ingestion.run import ensure_raw_tables

    ensure_raw_tables(url, [raw_table])


def _entities() -> Mapping[str, Any]:
    try:
        from ingestion.registry import ENTITIES
    except ImportError as exc:
        raise ImportError(
            "orchestration needs ingestion.registry.ENTITIES (the list of source entities); "
            f"it could not be imported: {exc}"
        ) from exc
    return ENTITIES


def _table_stats(url: str, raw_table: str) -> tuple[int, datetime | None]:
    import psycopg
    from psycopg import sql

    key = raw_asset_key(raw_table)
    from hc_base.warehouse_url import is_clickhouse_url

    if is_clickhouse_url(url):
        from hc_base.clickhouse import client

        with client(url) as handle:
            [(live, total, last)] = handle.query(
                f"select countIf(_deleted_at is null), count(), max(_loaded_at) from raw.{key.path[-1]}").result_rows
        if not total:  # max() of no rows is 1970, not NULL
            return int(live), None
        return int(live), last if last.tzinfo is not None else last.replace(tzinfo=UTC)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            sql.SQL("select count(*) filter (where _deleted_at is null), max(_loaded_at) from {}.{}").format(
                sql.Identifier("raw"), sql.Identifier(key.path[-1])
            )
        ).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def build_ingestion_asset(spec: Any, max_age: timedelta | None = None) -> dg.AssetsDefinition:
    """The asset landing one source entity (`spec` is an `ingestion.registry.EntitySpec`);
    `max_age` is its dbt source freshness (None: not declared, no loaded_recently check)."""
    key = raw_asset_key(spec.raw_table)
    entity_name: str = spec.name
    source: str = spec.source

    @dg.asset(
        key=key,
        group_name=f"raw_{source}",
        description=f"{source} entity «{entity_name}» landed into {'.'.join(key.path)} (jsonb payload).",
        retry_policy=INGEST_RETRY,
        op_tags={"happyclient/source": source, "happyclient/layer": "raw"},
        tags={"source": source},
        kinds={"python", "postgres"},
        check_specs=[
            dg.AssetCheckSpec("has_rows", asset=key, description="the raw table holds at least one live row"),
            *(
                [
                    dg.AssetCheckSpec(
                        "loaded_recently",
                        asset=key,
                        description=f"the newest row was loaded within {max_age} (dbt source freshness warn_after)",
                    )
                ]
                if max_age is not None
                else []
            ),
        ],
    )
    def _ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from ingestion.config import SourceSettings
        from ingestion.run import ingest

        full_refresh = context.run.tags.get("happyclient/full_refresh", "false") == "true"
        log = context.log
        settings = SourceSettings.from_env()
        missing = missing_configuration(source, settings)
        if missing:
            # not an error: a company may have no 1C, or no files. The table is created empty so
            # dbt can build, the checks below fail (WARN) and the metadata says what to set.
            log.warning(f"{entity_name}: source {source} is not configured ({missing}); landing nothing")
            _ensure_raw_table(warehouse.url, spec.raw_table)
            metadata: dict[str, Any] = {"status": f"not configured: {missing}"}
        else:
            result = ingest(
                entity_name,
                warehouse_url=warehouse.url,
                settings=settings,
                full_refresh=full_refresh,
                log=lambda message: log.info(redact(message)),
            )
            metadata = {"status": "loaded", **load_metadata(result)}
        rows, last_loaded = _table_stats(warehouse.url, spec.raw_table)
        now = datetime.now(UTC)
        return dg.MaterializeResult(
            metadata={**metadata, "live_rows": rows},
            check_results=[
                dg.AssetCheckResult(
                    check_name="has_rows",
                    passed=rows > 0,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"live_rows": rows},
                ),
                *(
                    [
                        dg.AssetCheckResult(
                            check_name="loaded_recently",
                            passed=freshness_ok(last_loaded, now, max_age),
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"last_loaded_at": str(last_loaded), "max_age": str(max_age)},
                        )
                    ]
                    if max_age is not None
                    else []
                ),
            ],
        )

    return _ingest


def ingestion_assets() -> list[dg.AssetsDefinition]:
    from orchestration.dbt import ensure_manifest

    max_ages = source_freshness(ensure_manifest())
    return [
        build_ingestion_asset(spec, max_ages.get(raw_asset_key(spec.raw_table).path[-1]))
        for spec in _entities().values()
    ]


def ingestion_groups(entities: Mapping[str, Any] | None = None) -> Sequence[str]:
    return sorted({f"raw_{spec.source}" for spec in (entities or _entities()).values()})


def incremental_ingestion_schedule() -> dg.ScheduleDefinition:
    """Every half hour: incremental loads of every source entity (no dbt)."""
    selection = dg.AssetSelection.groups(*ingestion_groups())
    job = dg.define_asset_job("incremental_ingestion", selection=selection, tags={"happyclient/full_refresh": "false"})
    return dg.ScheduleDefinition(
        name="incremental_ingestion_schedule",
        job=job,
        cron_schedule=INCREMENTAL_CRON,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
