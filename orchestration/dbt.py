"""dbt models as Dagster assets, dbt tests as asset checks.

Every dbt source table names the Dagster asset that writes it in `meta.dagster.asset_key`
(`raw/<table>` from `orchestration.ingestion`, `predictions/<table>` from
`orchestration.predictions`, `ingest_state/quarantine` written alongside the loads), which is how
dagster-dbt's own translator keys sources; a source without it is an error, not a guessed key.
Models are grouped by their top-level dbt folder (staging, intermediate, marts), which is also
their schema.
Models that read the `predictions` source run in a second dbt step after the predictions asset,
so the op graph has no cycle.
"""

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from hc_base.redact import redact
from orchestration.resources import WarehouseResource, patched_environ

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# our own target dir, so that a developer's `dbt run` in dbt_project/target does not race us
DBT_TARGET = Path("target") / "dagster"
PREDICTIONS_SOURCE = "predictions"
AFTER_PREDICTIONS = f"source:{PREDICTIONS_SOURCE}+"
NOT_ON_CLICKHOUSE = "tag:not_on_clickhouse"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=DBT_TARGET)


def source_asset_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
    """dbt source -> the key of the Dagster asset that writes that table (its meta.dagster.asset_key)."""
    meta = (dbt_resource_props.get("config") or {}).get("meta") or dbt_resource_props.get("meta") or {}
    key = (meta.get("dagster") or {}).get("asset_key")
    if not key:
        raise ValueError(
            f"dbt source {dbt_resource_props.get('source_name')}.{dbt_resource_props.get('name')} has no "
            "meta.dagster.asset_key: name the Dagster asset that writes it in the source's YAML"
        )
    return dg.AssetKey(list(key))


QUARANTINE_KEY = dg.AssetKey(["ingest_state", "quarantine"])


def ingest_state_assets() -> list[dg.AssetSpec]:
    """`ingest_state.quarantine`: the rows the raw loads refuse, written by those loads in the same
    transaction as their rows (no step of its own), so an external asset downstream of every raw
    asset; dbt reads it as the source keyed `ingest_state/quarantine`."""
    from ingestion.registry import ENTITIES

    return [
        dg.AssetSpec(
            QUARANTINE_KEY,
            deps=[dg.AssetKey(["raw", spec.raw_table]) for spec in ENTITIES.values()],
            group_name="ingest_state",
            description="Rows the loaders refused (ingest_state.quarantine), written by the raw loads.",
            kinds={"postgres"},
        )
    ]


def model_group(fqn: list[str]) -> str:
    """`['happyclient', 'staging', 'bitrix24', 'stg_x']` -> `staging` (the top dbt folder)."""
    return fqn[1] if len(fqn) > 2 else "dbt"


class HappyClientTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return source_asset_key(dbt_resource_props)
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "seed":
            return "seeds"
        return model_group(list(dbt_resource_props.get("fqn", [])))


translator = HappyClientTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def _newest_source_mtime(project_dir: Path) -> float:
    newest = (project_dir / "dbt_project.yml").stat().st_mtime
    for folder in ("models", "macros", "seeds", "tests", "snapshots", "analyses"):
        base = project_dir / folder
        if base.is_dir():
            for path in base.rglob("*"):
                if path.suffix in (".sql", ".yml", ".yaml", ".csv", ".md"):
                    newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Run `dbt parse` when manifest.json is missing or older than the dbt project files.

    Several processes (the webserver, a CLI run, tests) may load the definitions at once: the
    parse runs under a file lock into a private target dir and the manifest is swapped in
    atomically, so nobody reads a half-written file.

    Why not `DbtProject.prepare_if_dev()`: it parses only under `dagster dev`
    (DAGSTER_IS_DEV_CLI), while `happyclient pipeline`/`demo` run the job in process and the tests
    load the definitions directly, so a fresh clone would have no manifest; and its `prepare()`
    re-parses on every call (no staleness check), writes manifest.json in place (a process
    reading it meanwhile can see half a file) and waits at most 60 s for its lock."""
    import fcntl
    import os
    import shutil

    manifest = project.manifest_path
    project_dir = Path(project.project_dir)
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.parent / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir):
            return manifest
        private = project_dir / "target" / f"dagster-parse-{os.getpid()}"
        dbt = Path(sys.executable).with_name("dbt")
        proc = subprocess.run(
            [str(dbt), "parse", "--quiet", "--target-path", str(private)],
            cwd=project_dir,
            capture_output=True,
            text=True,
            env={**_parse_env(), "DBT_PROFILES_DIR": str(project.profiles_dir)},
            check=False,
        )
        try:
            if proc.returncode != 0 or not (private / "manifest.json").exists():
                raise RuntimeError(
                    f"`dbt parse` failed in {project_dir} (exit {proc.returncode}); fix the dbt project: "
                    f"{redact((proc.stdout + proc.stderr).strip())[-3000:]}"
                )
            os.replace(private / "manifest.json", manifest)
        finally:
            shutil.rmtree(private, ignore_errors=True)
    return manifest


def _parse_env() -> dict[str, str]:
    import os

    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


class DbtRunConfig(dg.Config):
    """Run config of the dbt steps (Dagster launchpad): `compare` (CURRENT:BASE, as
    `happyclient pipeline --compare`) and `vars` (dbt vars, as `--var`) win over the
    environment (HAPPYCLIENT_COMPARE, HAPPYCLIENT_DBT_VARS)."""

    compare: str = ""
    vars: dict[str, str] = {}  # values read as YAML, as --var KEY=VALUE


def dbt_vars(config: DbtRunConfig | None = None) -> dict[str, Any]:
    """dbt vars for a run, read at run time: the hc_* vars of the company's mapping file
    (ingestion.mapping; none without a file: the demo's), then HAPPYCLIENT_DBT_VARS, as_of_date
    from HAPPYCLIENT_AS_OF, compare_periods from HAPPYCLIENT_COMPARE; then the run config's."""
    from hc_base.settings import Settings, parse_compare, parse_var_option
    from ingestion.mapping import dbt_vars_in_force

    settings = Settings.from_env()
    if config is not None:
        if config.compare.strip():
            settings.compare = parse_compare(config.compare)
        for key, value in config.vars.items():
            settings.dbt_vars.update([parse_var_option(f"{key}={value}")])
    return {**dbt_vars_in_force(), **settings.run_dbt_vars()}


def manifest_has_predictions_source(manifest_path: Path) -> bool:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return any(s.get("source_name") == PREDICTIONS_SOURCE for s in manifest.get("sources", {}).values())


def _build(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource,
           config: DbtRunConfig | None = None) -> Iterator[Any]:
    args = ["build"]
    variables = dbt_vars(config)
    if variables:
        args += ["--vars", json.dumps(variables, default=str, ensure_ascii=False)]
    if warehouse.is_clickhouse:
        # the unit tests whose SQL fixture only Postgres parses (each says why in its yml)
        args += ["--exclude", NOT_ON_CLICKHOUSE]
    with patched_environ(warehouse.dbt_env()):
        yield from dbt.cli(args, context=context).stream()


def build_dbt_assets() -> list[dg.AssetsDefinition]:
    manifest = ensure_manifest()
    has_predictions = manifest_has_predictions_source(manifest)

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name="dbt_models",
        exclude=AFTER_PREDICTIONS if has_predictions else None,
        op_tags={"happyclient/layer": "dbt"},
    )
    def dbt_models(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtRunConfig
    ) -> Iterator[Any]:
        yield from _build(context, dbt, warehouse, config)

    if not has_predictions:
        return [dbt_models]

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name="dbt_models_after_predictions",
        select=AFTER_PREDICTIONS,
        op_tags={"happyclient/layer": "dbt"},
    )
    def dbt_models_after_predictions(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtRunConfig
    ) -> Iterator[Any]:
        yield from _build(context, dbt, warehouse, config)

    return [dbt_models, dbt_models_after_predictions]


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def exposures(manifest_path: Path | None = None) -> list[dict[str, Any]]:
    """The dbt exposures (dashboards) with the asset keys of the models they read."""
    manifest = json.loads((manifest_path or ensure_manifest()).read_text(encoding="utf-8"))
    out = []
    for exposure in manifest.get("exposures", {}).values():
        keys = []
        for unique_id in exposure.get("depends_on", {}).get("nodes", []):
            node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)
            if node is not None:
                keys.append(translator.get_asset_key(node))
        out.append(
            {
                "name": exposure["name"],
                "label": exposure.get("label") or exposure["name"],
                "type": exposure.get("type"),
                "deps": keys,
            }
        )
    return out


def mart_keys(manifest_path: Path | None = None) -> list[dg.AssetKey]:
    manifest = json.loads((manifest_path or ensure_manifest()).read_text(encoding="utf-8"))
    return [
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and model_group(node["fqn"]) == "marts"
    ]
