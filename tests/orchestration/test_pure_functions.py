"""Small pure functions of the orchestration modules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ingestion.config import SourceSettings
from orchestration.dbt import model_group, source_asset_key
from orchestration.ingestion import (
    freshness_ok,
    load_metadata,
    missing_configuration,
    raw_asset_key,
    source_freshness,
)
from orchestration.superset import dashboard_specs


def test_raw_asset_key() -> None:
    assert raw_asset_key("raw.bitrix24__deals") == dg.AssetKey(["raw", "bitrix24__deals"])
    assert raw_asset_key("onec__returns") == dg.AssetKey(["raw", "onec__returns"])


def test_source_asset_key_is_the_sources_meta_not_a_name_rule() -> None:
    # the key comes from meta.dagster.asset_key (config.meta in newer manifests), whatever the names
    deals = {"source_name": "bitrix24", "name": "bitrix24__deals", "meta": {"dagster": {"asset_key": ["raw", "bitrix24__deals"]}}}
    assert source_asset_key(deals) == raw_asset_key("bitrix24__deals")
    quarantine = {"source_name": "ingest_state", "name": "quarantine",
                  "config": {"meta": {"dagster": {"asset_key": ["ingest_state", "quarantine"]}}}}
    assert source_asset_key(quarantine) == dg.AssetKey(["ingest_state", "quarantine"])
    with pytest.raises(ValueError, match="meta.dagster.asset_key"):
        source_asset_key({"source_name": "bitrix24", "name": "bitrix24__new_table", "meta": {}})


def test_model_group_is_top_folder() -> None:
    assert model_group(["happyclient", "staging", "bitrix24", "stg_bitrix24__deals"]) == "staging"
    assert model_group(["happyclient", "marts", "client_base_by_region"]) == "marts"
    assert model_group(["happyclient", "top_level_model"]) == "dbt"


def test_freshness() -> None:
    now = datetime(2026, 10, 31, 12, tzinfo=UTC)
    assert freshness_ok(now - timedelta(hours=25), now, timedelta(hours=26))
    assert not freshness_ok(now - timedelta(hours=27), now, timedelta(hours=26))
    assert not freshness_ok(None, now, timedelta(hours=26))


def test_source_freshness_is_the_dbt_sources_warn_after(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "sources": {
                    "source.happyclient.bitrix24.bitrix24__deals": {
                        "schema": "raw",
                        "name": "bitrix24__deals",
                        "freshness": {"warn_after": {"count": 26, "period": "hour"}},
                    },
                    "source.happyclient.onec.onec__returns": {
                        "schema": "raw",
                        "name": "onec__returns",
                        "freshness": {"warn_after": {"count": 2, "period": "day"}},
                    },
                    "source.happyclient.predictions.client_predictions": {  # not a raw table
                        "schema": "predictions",
                        "name": "client_predictions",
                        "freshness": {"warn_after": {"count": 48, "period": "hour"}},
                    },
                    "source.happyclient.files.files__plans": {"schema": "raw", "name": "files__plans", "freshness": None},
                }
            }
        ),
        encoding="utf-8",
    )
    assert source_freshness(manifest) == {"bitrix24__deals": timedelta(hours=26), "onec__returns": timedelta(days=2)}


def test_every_raw_asset_checks_the_freshness_its_dbt_source_declares() -> None:
    from orchestration.dbt import ensure_manifest
    from orchestration.ingestion import ingestion_assets

    # the sources' yml files: bitrix24 warn_after 26 hours, 1C 2 days
    max_ages = source_freshness(ensure_manifest())
    assert max_ages["bitrix24__deals"] == timedelta(hours=26)
    assert max_ages["onec__returns"] == timedelta(days=2)
    checks = {(spec.asset_key.path[-1], spec.name): spec for asset in ingestion_assets() for spec in asset.check_specs}
    assert "within 1 day, 2:00:00" in (checks["bitrix24__deals", "loaded_recently"].description or "")
    assert "within 2 days, 0:00:00" in (checks["onec__returns", "loaded_recently"].description or "")


def test_load_metadata_keeps_numbers_and_redacts_text() -> None:
    @dataclass
    class Result:
        entity: str
        rows_landed: int
        cursor: dict | None
        note: str

    meta = load_metadata(Result("bitrix24.deals", 12, {"x": 1}, "from https://p.bitrix24.ru/rest/1/abcdefsecret/"))
    assert meta["rows_landed"] == 12
    assert "cursor" not in meta
    assert "abcdefsecret" not in meta["note"]


def test_missing_configuration_names_the_variable(tmp_path: Path) -> None:
    empty = SourceSettings.from_env({})
    assert "BITRIX24_WEBHOOK_URL" in (missing_configuration("bitrix24", empty) or "")
    assert "ONEC_ODATA_URL" in (missing_configuration("onec", empty) or "")
    assert "FILES_DIR" in (missing_configuration("files", empty) or "")
    full = SourceSettings.from_env(
        {
            "BITRIX24_WEBHOOK_URL": "https://p/rest/1/secret123/",
            "ONEC_ODATA_URL": "http://h/odata",
            "FILES_DIR": str(tmp_path),
        }
    )
    assert all(missing_configuration(s, full) is None for s in ("bitrix24", "onec", "files"))


def test_dashboard_specs_from_exposures() -> None:
    mart = dg.AssetKey(["client_base_by_region"])
    specs = dashboard_specs(
        [
            {"name": "executive_panel", "label": "Панель руководителя", "type": "dashboard", "deps": [mart]},
            {"name": "a_notebook", "label": "x", "type": "notebook", "deps": [mart]},
        ],
        [mart, dg.AssetKey(["other_mart"])],
    )
    assert [s.key for s in specs] == [dg.AssetKey(["superset", "executive_panel"])]
    assert [d.asset_key for d in specs[0].deps] == [mart]


def test_dashboard_specs_without_exposures_depend_on_all_marts() -> None:
    marts = [dg.AssetKey(["a"]), dg.AssetKey(["b"])]
    (spec,) = dashboard_specs([], marts)
    assert spec.key == dg.AssetKey(["superset", "dashboards"])
    assert {d.asset_key for d in spec.deps} == set(marts)
