"""Issue 11 item 3: the stability-code labels exist once, in dbt (client_stability.stability_type_ru,
carried to dim_clients); Python (the write-back, the predictions) reads them from the marts."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["новый", "возвращенный", "потерянный", "растущий", "падающий", "стабильный", "разовый"]
PRODUCT_CODE = ["hc_base", "ingestion", "predictions", "hc_superset", "hc_demo", "orchestration", "happyclient",
                "dbt_project/models", "dbt_project/macros", "dbt_project/seeds"]


def files_holding_the_labels(root: Path) -> dict[str, list[str]]:
    """{file: the stability labels it spells as a quoted string}, over the product's code."""
    found: dict[str, list[str]] = {}
    for top in PRODUCT_CODE:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".py", ".sql", ".csv", ".json") or not path.is_file():
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            spelled = [label for label in LABELS if re.search(rf"""['"]{label}['"]""", text)]
            if spelled:
                found[str(path.relative_to(root))] = spelled
    return found


def test_stability_labels_are_spelled_once() -> None:
    found = files_holding_the_labels(ROOT)
    assert list(found) == ["dbt_project/models/marts/client_development/client_stability.sql"], found


def test_a_second_copy_is_found(tmp_path: Path) -> None:
    (tmp_path / "predictions").mkdir()
    (tmp_path / "predictions" / "labels.py").write_text('STABILITY = {"growing": "растущий"}\n', encoding="utf-8")
    assert files_holding_the_labels(tmp_path) == {"predictions/labels.py": ["растущий"]}
