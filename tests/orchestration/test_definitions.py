"""The Dagster code location loads, and lineage runs from raw landing to the dashboards."""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.registry import ENTITIES


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.definitions import defs as loaded

    return loaded


def _ancestors(graph: object, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:  # type: ignore[attr-defined]
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_definitions_load(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("happyclient_pipeline")
    assert job is not None
    schedules = {s.name for s in defs.schedules or []}
    assert {"happyclient_daily", "incremental_ingestion_schedule"} <= schedules


def test_one_asset_per_entity_grouped_by_source(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for spec in ENTITIES.values():
        key = dg.AssetKey(["raw", spec.raw_table])
        assert graph.has(key), f"no asset for {spec.name}"
        assert graph.get(key).group_name == f"raw_{spec.source}"
        assert graph.get(key).is_materializable


def test_lineage_from_raw_to_dashboards(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    dashboards = [k for k in graph.get_all_asset_keys() if k.path[0] == "superset"]
    assert dashboards, "no Superset dashboard asset"
    for dashboard in dashboards:
        upstream = _ancestors(graph, dashboard)
        sources = {k.path[1].split("__")[0] for k in upstream if k.path[0] == "raw"}
        assert {"bitrix24", "onec"} <= sources, f"{dashboard.to_user_string()} does not reach the raw tables"
        groups = {graph.get(k).group_name for k in upstream}
        assert {"staging", "marts"} <= groups


def test_dbt_sources_are_assets_we_materialise(defs: dg.Definitions) -> None:
    """Every source a staging model reads is landed by an ingestion asset (raw/...) or written
    by the predictions asset (predictions/...): no dbt source is an external, unmanaged asset.
    The one exception, ingest_state/quarantine, is written by the raw loads themselves: an
    external asset downstream of every raw asset (never raw/quarantine)."""
    from orchestration.dbt import QUARANTINE_KEY

    graph = defs.resolve_asset_graph()
    assert not graph.has(dg.AssetKey(["raw", "quarantine"]))
    assert graph.has(QUARANTINE_KEY) and graph.get(QUARANTINE_KEY).group_name == "ingest_state"
    assert {dg.AssetKey(["raw", spec.raw_table]) for spec in ENTITIES.values()} <= set(graph.get(QUARANTINE_KEY).parent_keys)
    staging = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "staging"]
    assert staging
    for key in staging:
        for parent in graph.get(key).parent_keys:
            if graph.get(parent).group_name == "staging" or parent == QUARANTINE_KEY:
                continue
            assert parent.path[0] in ("raw", "predictions"), f"{key.to_user_string()} reads {parent.to_user_string()}"
            assert graph.get(parent).is_materializable, f"{parent.to_user_string()} is an external source"
            expected_group = (
                "predictions" if parent.path[0] == "predictions" else f"raw_{parent.path[1].split('__')[0]}"
            )
            assert graph.get(parent).group_name == expected_group


def test_dbt_tests_are_asset_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    check_keys = list(graph.asset_check_keys)
    assert any(c.asset_key.path[0] == "raw" and c.name == "has_rows" for c in check_keys)
    assert any(c.asset_key.path[0] != "raw" for c in check_keys), "dbt tests did not become asset checks"


def test_writeback_runs_after_dbt(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    from orchestration.predictions import WRITEBACK_KEY

    upstream = _ancestors(graph, WRITEBACK_KEY)
    assert any(graph.get(k).group_name == "marts" for k in upstream)
    assert any(k.path[0] == "predictions" for k in upstream)
