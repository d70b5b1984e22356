"""The import graph of Happy Client's top-level packages, read from the source with `ast`.

    python -m tests.platform.import_graph

prints every package, the layer it sits in and what it imports of ours; it exits 1 when an
import goes against the layers or two packages import each other (tests/platform/test_import_graph.py
runs the same check). Every `import` counts, also the ones inside functions.

Layers, bottom to top (a package may import only from layers below it):

    hc_base                          redaction, settings, where the warehouse is
    ingestion, predictions,          the connectors and the models: only hc_base
    hc_superset
    hc_demo                          demo data generator and fake servers: ingestion, hc_base
    orchestration                    Dagster: ingestion, predictions, hc_superset, hc_base
    happyclient                      the CLI, on top: anything

A package's `__main__` module (`python -m predictions push`) is an entry point, not library code:
nothing imports it, so it cannot close a cycle; it may import its own package and any package below
the CLI (`predictions.__main__` builds the Bitrix24 client of `ingestion` for the write-back).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# what each package may import (besides itself); a package missing here fails the check
ALLOWED: dict[str, frozenset[str]] = {
    "hc_base": frozenset(),
    "ingestion": frozenset({"hc_base"}),
    "predictions": frozenset({"hc_base"}),
    "hc_superset": frozenset({"hc_base"}),
    "hc_demo": frozenset({"ingestion", "hc_base"}),
    "orchestration": frozenset({"ingestion", "predictions", "hc_superset", "hc_base"}),
    "happyclient": frozenset({"hc_demo", "orchestration", "ingestion", "predictions", "hc_superset", "hc_base"}),
}
CLI = "happyclient"
ENTRY_POINT = "__main__"


def packages() -> list[str]:
    """The top-level packages pyproject.toml ships (`[tool.setuptools.packages.find] include`)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    names = sorted({p.rstrip("*").rstrip(".") for p in patterns})
    missing = [n for n in names if not (ROOT / n / "__init__.py").is_file()]
    if missing:
        raise SystemExit(f"pyproject.toml lists packages that do not exist: {missing}")
    return names


def _imported_modules(path: Path, module: str) -> Iterator[str]:
    """Absolute names of the modules `path` imports (relative imports resolved against `module`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def module_imports(names: list[str]) -> dict[str, set[str]]:
    """{module: {imported module of ours}} for every module of the packages `names`."""
    ours = set(names)
    result: dict[str, set[str]] = {}
    for package in names:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            module = ".".join(parts)
            found = result.setdefault(module, set())
            for imported in _imported_modules(path, module):
                if imported.split(".")[0] in ours:
                    found.add(imported)
    return result


def _node(module: str) -> str:
    """The graph node of a module: its top-level package, or `<package>.__main__` for entry points."""
    parts = module.split(".")
    return module if parts[-1] == ENTRY_POINT else parts[0]


def package_graph(names: list[str]) -> dict[str, dict[str, set[str]]]:
    """{node: {imported package: {importing module -> imported module, ...}}}, self-imports left out."""
    graph: dict[str, dict[str, set[str]]] = {}
    for module, imports in module_imports(names).items():
        node = _node(module)
        edges = graph.setdefault(node, {})
        for imported in imports:
            target = _node(imported)
            if target != node:
                edges.setdefault(target, set()).add(f"{module} -> {imported}")
    return graph


def cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search (each reported once, from its smallest node)."""
    found: set[tuple[str, ...]] = set()

    def visit(start: str, node: str, path: list[str]) -> None:
        for target in graph.get(node, {}):
            if target == start:
                found.add(tuple(path))
            elif target not in path and target > start:
                visit(start, target, [*path, target])

    for start in sorted(graph):
        visit(start, start, [start])
    return [[*c, c[0]] for c in sorted(found)]


def violations(graph: dict[str, dict[str, set[str]]]) -> list[str]:
    """Imports that go up or sideways, or into an entry point, each with the modules that make it."""
    problems: list[str] = []
    for node, edges in sorted(graph.items()):
        package = node.split(".")[0]
        if package not in ALLOWED:
            problems.append(f"{node}: not placed in a layer (add it to ALLOWED in tests/platform/import_graph.py)")
            continue
        if node.endswith("." + ENTRY_POINT):
            allowed = ALLOWED[package] | {p for p in ALLOWED if p != CLI} | {package}
        else:
            allowed = ALLOWED[package]
        for target, why in sorted(edges.items()):
            if target.endswith("." + ENTRY_POINT):
                problems.append(f"{node} imports the entry point {target}: " + "; ".join(sorted(why)))
            elif target not in allowed:
                problems.append(f"{node} must not import {target}: " + "; ".join(sorted(why)))
    return problems


def report() -> tuple[str, bool]:
    names = packages()
    graph = package_graph(names)
    lines = ["Import graph of the top-level packages (node -> the packages it imports):", ""]
    for node in sorted(graph, key=lambda n: (len(ALLOWED.get(n.split(".")[0], ())), n)):
        targets = sorted(graph[node])
        lines.append(f"  {node:24} -> {', '.join(targets) if targets else '(nothing of ours)'}")
    bad = [" -> ".join(c) for c in cycles(graph)]
    problems = violations(graph)
    lines.append("")
    lines.append("cycles: " + ("; ".join(bad) if bad else "none"))
    lines.append("imports against the layers: " + (str(len(problems)) if problems else "none"))
    lines.extend(f"  {p}" for p in problems)
    return "\n".join(lines), not bad and not problems


def main() -> int:
    text, ok = report()
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
