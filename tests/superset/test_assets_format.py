"""The committed superset_assets/: complete, cross-referenced, no password, in normal form."""
from __future__ import annotations

from pathlib import Path

import pytest

from happyclient.superset.assets import (
    WAREHOUSE_PLACEHOLDER,
    AssetFormatError,
    dump_yaml,
    normalize_chart,
    normalize_dashboard,
    normalize_dataset,
    read_assets,
)
from happyclient.superset.sync import _validate_refs, warehouse_sqlalchemy_uri
from tests.superset.harness import ASSETS_DIR


def test_committed_yaml_has_no_password_or_instance_url() -> None:
    files = read_assets(ASSETS_DIR)
    databases = {p: c for p, c in files.items() if p.startswith("databases/")}
    assert databases, "superset_assets/databases/ is empty"
    for path, cfg in databases.items():
        assert cfg["sqlalchemy_uri"] == WAREHOUSE_PLACEHOLDER, path
        assert "password" not in cfg, path
    for path in ASSETS_DIR.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "postgresql" not in text, f"{path} holds a connection string"
        assert "XXXXXXXXXX" not in text, f"{path} holds a masked password"


def test_committed_yaml_is_in_normal_form() -> None:
    """What export_assets would write for these files is exactly what is committed."""
    for path, cfg in read_assets(ASSETS_DIR).items():
        kind = path.split("/", 1)[0]
        norm = {"datasets": normalize_dataset, "charts": normalize_chart}.get(kind)
        if kind == "dashboards":
            expected = normalize_dashboard(cfg, {})
        elif norm is not None:
            expected = norm(cfg)
        else:
            continue
        assert dump_yaml(expected) == (ASSETS_DIR / path).read_text(encoding="utf-8"), path


def test_cross_references_resolve() -> None:
    _validate_refs(read_assets(ASSETS_DIR))


def test_first_dashboard_is_the_executive_panel_with_region_table_and_coverage() -> None:
    files = read_assets(ASSETS_DIR)
    dashboards = {c["dashboard_title"]: c for p, c in files.items() if p.startswith("dashboards/")}
    charts = {c["uuid"]: c for p, c in files.items() if p.startswith("charts/")}
    datasets = {c["uuid"]: c for p, c in files.items() if p.startswith("datasets/")}
    panel = dashboards["Панель руководителя"]
    on_panel = [n["meta"]["uuid"] for n in panel["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"]
    tables = {datasets[charts[u]["dataset_uuid"]]["table_name"] for u in on_panel}
    assert "client_base_by_region" in tables
    names = {charts[u]["slice_name"] for u in on_panel}
    assert {"КБ по регионам", "% охвата по регионам"} <= names


def test_dangling_reference_names_the_file(tmp_path: Path) -> None:
    files = read_assets(ASSETS_DIR)
    chart_path = next(p for p in files if p.startswith("charts/"))
    files[chart_path] = {**files[chart_path], "dataset_uuid": "00000000-0000-0000-0000-000000000000"}
    with pytest.raises(AssetFormatError, match=chart_path):
        _validate_refs(files)


def test_warehouse_uri_masks_password_and_returns_it_separately() -> None:
    uri, password = warehouse_sqlalchemy_uri("postgresql://hc:p%40ss-word@db.local:5433/happyclient")
    assert uri == "postgresql+psycopg2://hc:XXXXXXXXXX@db.local:5433/happyclient"
    assert password == "p@ss-word"
    uri, password = warehouse_sqlalchemy_uri("postgresql://postgres@127.0.0.1:5432/wh")
    assert (uri, password) == ("postgresql+psycopg2://postgres@127.0.0.1:5432/wh", None)
    with pytest.raises(ValueError, match="mysql"):
        warehouse_sqlalchemy_uri("mysql://u:p@h/db")


def test_normalize_dashboard_turns_chart_ids_into_uuids() -> None:
    exported = {
        "dashboard_title": "D",
        "uuid": "d-1",
        "version": "1.0.0",
        "css": None,
        "position": {"CHART-1": {"type": "CHART", "id": "CHART-1", "meta": {"chartId": 17, "uuid": "c-17"}}},
        "metadata": {
            "chart_configuration": {"17": {"id": 17}},
            "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}, "chartsInScope": [17]},
            "native_filter_configuration": [
                {
                    "id": "F1",
                    "chartsInScope": [17, 18],
                    "scope": {"rootPath": ["ROOT_ID"], "excluded": [18]},
                    "targets": [{"datasetId": 5, "datasetUuid": "ds-5", "column": {"name": "region"}}],
                }
            ],
        },
    }
    out = normalize_dashboard(exported, {17: "c-17", 18: "c-18"})
    assert "css" not in out
    assert out["position"]["CHART-1"]["meta"] == {"uuid": "c-17"}
    assert "chart_configuration" not in out["metadata"]
    assert out["metadata"]["global_chart_configuration"] == {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}}
    flt = out["metadata"]["native_filter_configuration"][0]
    assert flt["scope"]["excluded"] == ["c-18"]
    assert "chartsInScope" not in flt
    assert flt["targets"] == [{"datasetUuid": "ds-5", "column": {"name": "region"}}]
    with pytest.raises(AssetFormatError, match="chart id 99"):
        normalize_dashboard({**exported, "metadata": {"native_filter_configuration": [{"scope": {"excluded": [99]}}]}}, {})
