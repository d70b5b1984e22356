"""The benchmark scripts are not run by the suite (they take minutes to hours), so a name they
import that a refactoring removed shows only when someone measures: `bench/scale --engines
postgres,chdb` died that way at its chDB landing (`PREDICTIONS_DDL`, gone from
tests/clickhouse/chdb_run.py). Every `from <module> import <name>` in bench/, including those
inside functions, must resolve against the project's modules."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("bench", "happyclient", "hc_base", "hc_demo", "hc_superset", "ingestion", "orchestration",
                    "predictions", "tests")


def _bench_files() -> list[Path]:
    files = []
    for path in sorted((ROOT / "bench").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if path.suffix == ".py" or (not path.suffix and path.read_bytes().startswith(b"#!/usr/bin/env python")):
            files.append(path)
    return files


def _project_imports(path: Path) -> list[tuple[int, str, str]]:
    imports = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                and node.module.split(".")[0] in PROJECT_PACKAGES):
            imports.extend((node.lineno, node.module, alias.name) for alias in node.names)
    return imports


def test_the_bench_scripts_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in _bench_files()}
    assert {"bench/scale", "bench/ingest", "bench/chdb_engine.py", "bench/common.py"} <= names


@pytest.mark.parametrize("path", _bench_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_project_name_a_bench_script_imports_exists(path: Path) -> None:
    missing = []
    for line, module, name in _project_imports(path):
        imported = importlib.import_module(module)
        if name != "*" and not hasattr(imported, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{path.relative_to(ROOT)}:{line}: from {module} import {name}")
    assert not missing, "\n".join(missing)
