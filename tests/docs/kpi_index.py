"""The KPI index (docs/kpi_index.yml): load it, render it as the table of docs/kpi.md.

    .venv/bin/python -m tests.docs.kpi_index           # print the rendered table
    .venv/bin/python -m tests.docs.kpi_index --write   # put it into docs/kpi.md between the markers

tests/docs/test_kpi_index.py checks the index against the dbt project, the Superset assets and
the Dagster definitions, and that docs/kpi.md shows the table rendered from the current index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INDEX_PATH = PROJECT_ROOT / "docs" / "kpi_index.yml"
DOCS_PATH = PROJECT_ROOT / "docs" / "kpi.md"
START_MARKER = (
    "<!-- kpi-index:start (generated from docs/kpi_index.yml by `python -m tests.docs.kpi_index --write`) -->"
)
END_MARKER = "<!-- kpi-index:end -->"
SECTIONS = {
    1: "Привлечение клиентов",
    2: "Развитие клиентов",
    3: "Уровень удовлетворенности",
    4: "Интегральная панель показателей",
    5: "Прогноз и предписание",
}


def load_index(path: Path = INDEX_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def parse_test(entry: str) -> tuple[str, str]:
    """`"dbt: name"` -> ("dbt", "name"); `"pytest: tests/x.py::test_y"` -> ("pytest", "tests/x.py::test_y")."""
    kind, sep, name = entry.partition(":")
    if not sep or kind.strip() not in ("dbt", "pytest") or not name.strip():
        raise ValueError(f"test entry {entry!r} is not 'dbt: <unit test>' or 'pytest: <file>::<test>'")
    return kind.strip(), name.strip()


def target(kpi: dict[str, Any]) -> str:
    where = kpi.get("where") or {}
    condition = "".join(f" [{column} = {value}]" for column, value in where.items())
    return f"{kpi['model']}.{kpi['column']}{condition}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_table(index: dict[str, Any]) -> str:
    lines = [
        "| § | KPI | model.column | dbt vars | tested by | chart | Dagster asset |",
        "|---|---|---|---|---|---|---|",
    ]
    for kpi in index["kpis"]:
        tests = [f"`{name}` ({kind})" for kind, name in map(parse_test, kpi.get("tests") or [])]
        tests_cell = "<br>".join(tests) if tests else f"— ({kpi['untested']})"
        charts = kpi.get("charts") or []
        charts_cell = "<br>".join(f"«{c}»" for c in charts) if charts else f"— ({kpi['no_chart']})"
        variables = ", ".join(f"`{v}`" for v in kpi.get("vars") or []) or "—"
        python = f"<br>Python: `{kpi['python']}`" if kpi.get("python") else ""
        python += f"<br>metric: `{kpi['metric']}`" if kpi.get("metric") else ""
        lines.append(
            "| "
            + " | ".join(
                _cell(part)
                for part in (
                    str(kpi["section"]),
                    f"**{kpi['name_ru']}** — {kpi['name_en']}",
                    f"`{target(kpi)}`{python}",
                    variables,
                    tests_cell,
                    charts_cell,
                    f"`{kpi['asset']}`",
                )
            )
            + " |"
        )
    return "\n".join(lines)


def render_block(index: dict[str, Any]) -> str:
    return f"{START_MARKER}\n{render_table(index)}\n{END_MARKER}"


def rendered_block_in(text: str) -> str | None:
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END_MARKER)]


def write_docs(index: dict[str, Any], path: Path = DOCS_PATH) -> bool:
    """Replace the table between the markers; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    current = rendered_block_in(text)
    if current is None:
        raise SystemExit(f"{path}: markers {START_MARKER!r} ... {END_MARKER!r} not found")
    new = text.replace(current, render_block(index))
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/kpi.md between the markers")
    args = parser.parse_args(argv)
    index = load_index()
    if args.write:
        changed = write_docs(index)
        print(f"{DOCS_PATH.relative_to(PROJECT_ROOT)}: {'updated' if changed else 'already up to date'}")
    else:
        print(render_table(index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
