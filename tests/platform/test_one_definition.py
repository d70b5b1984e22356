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


def imported_modules(root: Path, packages: list[str]) -> dict[str, set[str]]:
    """{top-level module imported: the product files importing it} (every import, also inside functions)."""
    import ast

    found: dict[str, set[str]] = {}
    for top in packages:
        for path in sorted((root / top).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(root)))
    return found


def test_small_debts_stay_paid() -> None:
    """Issue 11 item 6: `lifetimes` is a test dependency only, `rich` is gone, Rison is `prison`."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert not [d for d in project["dependencies"] if re.match(r"(?:lifetimes|rich)\b", d)], project["dependencies"]
    assert any(d.startswith("lifetimes") for d in project["optional-dependencies"]["test"])
    assert any(d.startswith("prison") for d in project["dependencies"])
    imports = imported_modules(ROOT, PRODUCT_CODE[:7])
    assert "lifetimes" not in imports and "rich" not in imports, {k: imports.get(k) for k in ("lifetimes", "rich")}
    assert "prison" in imports
    hand_written = [
        str(path.relative_to(ROOT))
        for top in PRODUCT_CODE[:7]
        for path in (ROOT / top).rglob("*.py")
        if re.search(r"def _?(?:rison|to_rison)\w*\(", path.read_text(encoding="utf-8"))
    ]
    assert not hand_written, hand_written
