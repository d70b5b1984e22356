"""dbt exposures generated from superset_assets/ (true lineage: dashboard -> the marts it reads).

One exposure of type ``dashboard`` per file in ``superset_assets/dashboards/``; it depends on
the dbt model behind every dataset that a chart of the dashboard (its ``position``) or one of
its native filters reads. Nothing is written by hand: add, move or remove a chart in Superset,
export (``happyclient superset export``), then run

    python -m hc_superset.exposures --write

``python -m hc_superset.exposures`` (no flag) exits 1 when
``dbt_project/models/exposures.yml`` differs from what the assets say.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from hc_superset.assets import AssetFormatError, chart_uuids_in_position, read_assets, slugify

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ASSETS_DIR = PROJECT_ROOT / "superset_assets"
DBT_MODELS_DIR = PROJECT_ROOT / "dbt_project" / "models"
EXPOSURES_FILE = DBT_MODELS_DIR / "exposures.yml"
OWNER = {"name": "Happy Client", "email": "happyclient@example.ru"}
HEADER = (
    "# Generated from superset_assets/ by `python -m hc_superset.exposures --write`; do not edit.\n"
    "# One exposure per Superset dashboard, depending on the marts its charts and native filters read.\n"
)


def dbt_model_names(models_dir: Path = DBT_MODELS_DIR) -> set[str]:
    return {p.stem for p in Path(models_dir).rglob("*.sql")}


def build(assets_dir: Path = ASSETS_DIR, models_dir: Path = DBT_MODELS_DIR) -> dict[str, Any]:
    """The exposures.yml document the assets imply."""
    files = read_assets(Path(assets_dir))
    datasets = {cfg["uuid"]: cfg for path, cfg in files.items() if path.startswith("datasets/")}
    charts = {cfg["uuid"]: cfg for path, cfg in files.items() if path.startswith("charts/")}
    models = dbt_model_names(models_dir)

    def model_of(dataset_uuid: str, where: str) -> str:
        dataset = datasets.get(dataset_uuid)
        if dataset is None:
            raise AssetFormatError(f"{where}: dataset {dataset_uuid} is not in datasets/")
        table = dataset.get("table_name")
        if dataset.get("sql") or table not in models:
            raise AssetFormatError(
                f"{where}: dataset {table!r} is not a dbt model (a dataset must be a mart table, not SQL)"
            )
        return str(table)

    exposures = []
    for path, cfg in sorted(files.items()):
        if not path.startswith("dashboards/"):
            continue
        title = cfg["dashboard_title"]
        chart_uuids = chart_uuids_in_position(cfg.get("position") or {})
        read: set[str] = set()
        for chart_uuid in chart_uuids:
            chart = charts.get(chart_uuid)
            if chart is None:
                raise AssetFormatError(f"{path}: position refers to chart {chart_uuid}, which is not in charts/")
            read.add(model_of(chart["dataset_uuid"], f"charts/{chart.get('slice_name')}"))
        for flt in (cfg.get("metadata") or {}).get("native_filter_configuration") or []:
            for target in flt.get("targets") or []:
                if "datasetUuid" in target:
                    read.add(model_of(target["datasetUuid"], f"{path}: native filter {flt.get('name')!r}"))
        chart_names = [charts[u].get("slice_name", u) for u in chart_uuids]
        description = (cfg.get("description") or title).strip()
        description += " Charts: " + ", ".join(f"«{n}»" for n in chart_names) + "." if chart_names else ""
        exposures.append(
            {
                "name": slugify(title),
                "label": title,
                "type": "dashboard",
                "maturity": "medium",
                "description": description,
                "owner": dict(OWNER),
                "depends_on": [f"ref('{m}')" for m in sorted(read)],
            }
        )
    names = [e["name"] for e in exposures]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise AssetFormatError(f"dashboards with the same name after transliteration: {duplicates}")
    return {"version": 2, "exposures": sorted(exposures, key=lambda e: e["name"])}


def render(doc: dict[str, Any]) -> str:
    return HEADER + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hc_superset.exposures", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {EXPOSURES_FILE.relative_to(PROJECT_ROOT)}")
    parser.add_argument("--assets", type=Path, default=ASSETS_DIR)
    parser.add_argument("--models", type=Path, default=DBT_MODELS_DIR, help="the dbt models (to check datasets are models)")
    parser.add_argument("--out", type=Path, default=EXPOSURES_FILE)
    args = parser.parse_args(argv)
    text = render(build(args.assets, args.models))
    if args.write:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
        return 0
    current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    if current != text:
        print(f"{args.out}: differs from superset_assets/ (run with --write)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
