"""Dashboards as code against a fresh Superset: round trip, idempotency, deletions, filter refs."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import psycopg
import yaml

from hc_superset.assets import read_assets
from hc_superset.client import SupersetClient
from hc_superset.sync import ImportReport, export_assets, import_assets
from tests.superset.harness import ASSETS_DIR, RunningSuperset


def _client(superset: RunningSuperset) -> SupersetClient:
    return SupersetClient(superset.url, superset.user, superset.password)


def _uuids(client: SupersetClient, kind: str) -> list[str]:
    return [str(r["uuid"]) for r in client.list_all(kind, ["id", "uuid"])]


def test_export_round_trip_gives_the_committed_files(superset: RunningSuperset, imported: ImportReport, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_assets(superset.url, superset.user, superset.password, out)
    committed = {str(p.relative_to(ASSETS_DIR)): p.read_text(encoding="utf-8") for p in ASSETS_DIR.rglob("*.yaml")}
    exported = {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in out.rglob("*.yaml")}
    assert sorted(exported) == sorted(committed)
    for path, text in committed.items():
        assert exported[path] == text, f"{path} differs after import + export"


def test_export_never_contains_the_warehouse_password(superset: RunningSuperset, imported: ImportReport, warehouse_url: str, tmp_path: Path) -> None:
    from urllib.parse import urlsplit

    password = urlsplit(warehouse_url).password
    export_assets(superset.url, superset.user, superset.password, tmp_path)
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.yaml"))
    assert "{{ WAREHOUSE_URL }}" in text
    if password:
        assert password not in text


def test_reimport_is_idempotent(superset: RunningSuperset, imported: ImportReport, warehouse_url: str) -> None:
    client = _client(superset)
    before = {kind: sorted(_uuids(client, kind)) for kind in ("chart", "dataset", "dashboard", "database")}
    again = import_assets(superset.url, superset.user, superset.password, ASSETS_DIR, warehouse_url)
    after = {kind: sorted(_uuids(client, kind)) for kind in ("chart", "dataset", "dashboard", "database")}
    assert after == before
    assert len(after["chart"]) == len(set(after["chart"])) == again.charts
    assert again.chart_ids == imported.chart_ids  # same rows updated in place, not recreated
    assert again.deleted == {"chart": [], "dataset": [], "dashboard": []}
    for dash_id in again.dashboard_ids.values():
        charts = client.get(f"/api/v1/dashboard/{dash_id}/charts")["result"]
        assert len(charts) == len({c["id"] for c in charts})


def test_chart_removed_from_yaml_is_removed_from_superset(superset: RunningSuperset, imported: ImportReport, warehouse_url: str, tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    files = read_assets(assets)
    victim_path, victim = next((p, c) for p, c in files.items() if p.startswith("charts/") and c["slice_name"] == "Охват рынка")
    (assets / victim_path).unlink()
    for path, cfg in files.items():
        if not path.startswith("dashboards/"):
            continue
        position = cfg["position"]
        node_ids = [k for k, n in position.items() if isinstance(n, dict) and n.get("meta", {}).get("uuid") == victim["uuid"]]
        for node_id in node_ids:
            for node in position.values():
                if isinstance(node, dict) and node_id in node.get("children", []):
                    node["children"].remove(node_id)
            del position[node_id]
        for flt in cfg["metadata"].get("native_filter_configuration", []):
            flt.get("scope", {}).get("excluded", []).count(victim["uuid"]) and flt["scope"]["excluded"].remove(victim["uuid"])
        (assets / path).write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")

    client = _client(superset)
    try:
        report = import_assets(superset.url, superset.user, superset.password, assets, warehouse_url)
        assert report.deleted["chart"] == [victim["uuid"]]
        assert victim["uuid"] not in _uuids(client, "chart")
        for dash_id in report.dashboard_ids.values():
            titles = {c["slice_name"] for c in client.get(f"/api/v1/dashboard/{dash_id}/charts")["result"]}
            assert "Охват рынка" not in titles
    finally:
        restored = import_assets(superset.url, superset.user, superset.password, ASSETS_DIR, warehouse_url)
        # the restored chart has a new id: keep the session's shared report true for the tests
        # that run after this one (the browser tests look charts up by id)
        imported.chart_ids.update(restored.chart_ids)
        imported.dashboard_ids.update(restored.dashboard_ids)
    assert victim["uuid"] in _uuids(client, "chart")
    assert restored.deleted["chart"] == []


def test_native_filters_point_at_the_imported_datasets_and_charts(superset: RunningSuperset, imported: ImportReport, warehouse_url: str) -> None:
    client = _client(superset)
    report = import_assets(superset.url, superset.user, superset.password, ASSETS_DIR, warehouse_url)
    files = read_assets(ASSETS_DIR)
    chart_ids = report.chart_ids
    for cfg in (c for p, c in files.items() if p.startswith("dashboards/")):
        dash = client.get(f"/api/v1/dashboard/{report.dashboard_ids[cfg['dashboard_title']]}")["result"]
        meta = json.loads(dash["json_metadata"])
        on_dashboard = {n["meta"]["uuid"] for n in cfg["position"].values() if isinstance(n, dict) and n.get("type") == "CHART"}
        live = {f["id"]: f for f in meta["native_filter_configuration"]}
        repo_filters = cfg["metadata"]["native_filter_configuration"]
        assert sorted(live) == sorted(f["id"] for f in repo_filters)
        for repo in repo_filters:
            flt = live[repo["id"]]
            assert [t["datasetId"] for t in flt["targets"]] == [report.dataset_ids[t["datasetUuid"]] for t in repo["targets"]]
            excluded = {chart_ids[u] for u in repo["scope"]["excluded"]}
            assert set(flt["scope"]["excluded"]) == excluded
            assert set(flt["chartsInScope"]) == {chart_ids[u] for u in on_dashboard} - excluded, repo["name"]
        assert set(meta["global_chart_configuration"]["chartsInScope"]) == {chart_ids[u] for u in on_dashboard}


def test_period_filter_defaults_to_the_latest_year_in_the_warehouse(superset: RunningSuperset, imported: ImportReport, warehouse_url: str) -> None:
    client = _client(superset)
    dash = client.get(f"/api/v1/dashboard/{imported.dashboard_ids['Панель руководителя']}")["result"]
    flt = next(f for f in json.loads(dash["json_metadata"])["native_filter_configuration"] if f["id"] == "NATIVE_FILTER-period")
    with psycopg.connect(warehouse_url) as conn:
        latest = conn.execute("select max(period_label) from marts.client_base_by_region where period_grain = 'year'").fetchone()[0]
    assert flt["defaultDataMask"]["filterState"]["value"] == [latest]
    assert flt["defaultDataMask"]["extraFormData"]["filters"] == [{"col": "period_label", "op": "IN", "val": [latest]}]


def test_server_init_is_cached(superset: RunningSuperset) -> None:
    started = time.monotonic()
    assert superset.server.init(superset.user, superset.password) is False
    assert time.monotonic() - started < 5
    assert superset.server.is_running()
