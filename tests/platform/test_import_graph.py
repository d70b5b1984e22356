"""Imports point one way (issue 11, item 3): hc_base at the bottom, the connectors on it, the CLI
on top, no package cycles. `python -m tests.platform.import_graph` prints the same graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.platform import import_graph as ig


def test_every_shipped_package_has_a_layer() -> None:
    assert set(ig.packages()) == set(ig.ALLOWED)


def test_no_package_cycle_and_no_import_against_the_layers() -> None:
    graph = ig.package_graph(ig.packages())
    assert ig.cycles(graph) == []
    assert ig.violations(graph) == []
    # the base imports nothing of ours; the connectors only the base
    assert set(graph["hc_base"]) == set()
    assert set(graph["ingestion"]) <= {"hc_base"}
    assert set(graph["predictions"]) <= {"hc_base"}


def test_the_checker_sees_cycles_and_upward_imports() -> None:
    graph = {
        "hc_base": {"ingestion": {"hc_base.x -> ingestion.y"}},
        "ingestion": {"hc_base": {"ingestion.y -> hc_base.x"}, "hc_demo": {"ingestion.z -> hc_demo.inn"}},
        "hc_demo": {"ingestion": {"hc_demo.inn -> ingestion.inn"}},
        "orchestration": {"happyclient": {"orchestration.p -> happyclient.pipeline"}},
        "predictions.__main__": {"ingestion": {"predictions.__main__ -> ingestion.run"}},
        "happyclient": {"predictions.__main__": {"happyclient.cli -> predictions.__main__"}},
    }
    assert ig.cycles(graph) == [["hc_base", "ingestion", "hc_base"], ["hc_demo", "ingestion", "hc_demo"]]
    problems = ig.violations(graph)
    assert any(p.startswith("hc_base must not import ingestion") for p in problems)
    assert any(p.startswith("ingestion must not import hc_demo") for p in problems)
    assert any(p.startswith("orchestration must not import happyclient") for p in problems)
    assert any(p.startswith("happyclient imports the entry point predictions.__main__") for p in problems)
    # an entry point may import a connector below the CLI; hc_demo may import ingestion
    assert not any(p.startswith(("predictions.__main__", "hc_demo ")) for p in problems)
    assert len(problems) == 4


def test_imports_inside_functions_and_relative_ones_count(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from . import sibling\nfrom ..config import X\nimport hc_base.redact\n"
        "def f():\n    from happyclient.cli import main\n",
        encoding="utf-8",
    )
    found = set(ig._imported_modules(source, "ingestion.files.mod"))
    assert found == {"ingestion.files", "ingestion.config", "hc_base.redact", "happyclient.cli"}


def test_the_command_prints_the_graph() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.platform.import_graph"], cwd=ig.ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hc_base                  -> (nothing of ours)" in proc.stdout
    assert "cycles: none" in proc.stdout
