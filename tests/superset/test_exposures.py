"""dbt exposures are generated from superset_assets/ (hc_superset.exposures)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from hc_superset import exposures as gen
from hc_superset.assets import dump_yaml, load_yaml_file

ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = ROOT / "superset_assets"
MODELS_DIR = ROOT / "dbt_project" / "models"


def _deps(doc: dict, name: str) -> list[str]:
    return next(e["depends_on"] for e in doc["exposures"] if e["name"] == name)


def test_committed_exposures_are_the_generated_ones() -> None:
    committed = (MODELS_DIR / "exposures.yml").read_text(encoding="utf-8")
    assert committed == gen.render(gen.build(ASSETS_DIR, MODELS_DIR)), "run: python -m hc_superset.exposures --write"


def test_executive_panel_depends_on_what_its_charts_read() -> None:
    # issue 11: 4 of its 7 charts read client_base_by_region, the rest kpi_panel; it listed five
    # models it does not chart (kpi_components, deals_detail, sales_detail, dim_managers, dim_departments)
    doc = gen.build(ASSETS_DIR, MODELS_DIR)
    assert _deps(doc, "panel_rukovoditelya") == ["ref('client_base_by_region')", "ref('kpi_panel')"]


def test_exposures_follow_charts_added_and_removed(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    dash_path = assets / "dashboards" / "loyalnost.yaml"
    dash = load_yaml_file(dash_path)
    assert _deps(gen.build(assets, MODELS_DIR), "loyalnost") == ["ref('nps_by_department')"]
    # put the chart «Периодичность закупок» (purchase_periodicity) on «Лояльность»
    chart = load_yaml_file(assets / "charts" / "periodichnost_zakupok.yaml")
    grid = next(k for k, n in dash["position"].items() if isinstance(n, dict) and n.get("type") == "GRID")
    dash["position"]["CHART-extra"] = {"type": "CHART", "id": "CHART-extra", "children": [], "meta": {"uuid": chart["uuid"]}}
    dash["position"][grid]["children"].append("CHART-extra")
    dash_path.write_text(dump_yaml(dash), encoding="utf-8")
    assert _deps(gen.build(assets, MODELS_DIR), "loyalnost") == ["ref('nps_by_department')", "ref('purchase_periodicity')"]
    # a new dashboard appears as a new exposure; a removed one disappears
    new = {**dash, "dashboard_title": "Новая панель", "uuid": "00000000-0000-4000-8000-000000000001", "slug": "new"}
    (assets / "dashboards" / "new.yaml").write_text(dump_yaml(new), encoding="utf-8")
    dash_path.unlink()
    names = [e["name"] for e in gen.build(assets, MODELS_DIR)["exposures"]]
    assert "novaya_panel" in names and "loyalnost" not in names
    # the command reports the drift and rewrites the file
    out = tmp_path / "models" / "exposures.yml"
    out.parent.mkdir()
    assert gen.main(["--assets", str(assets), "--out", str(out)]) == 1
    assert gen.main(["--assets", str(assets), "--out", str(out), "--write"]) == 0
    assert gen.main(["--assets", str(assets), "--out", str(out)]) == 0
    assert {e["name"] for e in yaml.safe_load(out.read_text(encoding="utf-8"))["exposures"]} == set(names)


def test_a_dataset_that_is_not_a_dbt_model_is_refused(tmp_path: Path) -> None:
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, assets)
    path = assets / "datasets" / "kpi_panel.yaml"
    cfg = load_yaml_file(path)
    cfg["table_name"] = "some_table_nobody_builds"
    path.write_text(dump_yaml(cfg), encoding="utf-8")
    try:
        gen.build(assets, MODELS_DIR)
    except gen.AssetFormatError as exc:
        assert "some_table_nobody_builds" in str(exc)
    else:
        raise AssertionError("a dataset outside dbt must not vanish from the lineage silently")
