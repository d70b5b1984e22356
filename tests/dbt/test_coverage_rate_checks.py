"""coverage_rate = (active + attracted) / total is not capped: a company can have more clients in a
region than the Rosstat reference counts outlets (retail outlets of an older year; a client base
also holds HoReCa, resellers, branches), so coverage > 1 is real data to see, and its ≤ 1 check
must warn, not fail the build; a negative coverage stays an error."""
from __future__ import annotations

from typing import Any

from test_project_structure import manifest  # noqa: F401  (module fixture: dbt parse)


def _coverage_range_tests(manifest: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: F811
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("attached_node") or "").endswith(".client_base_by_region")
        and node.get("column_name") == "coverage_rate"
        and node["test_metadata"]["name"] == "accepted_range"
    ]


def test_coverage_above_one_warns_and_below_zero_fails(manifest: dict[str, Any]) -> None:  # noqa: F811
    by_bound = {}
    for node in _coverage_range_tests(manifest):
        kwargs = node["test_metadata"]["kwargs"]
        by_bound[(kwargs.get("min_value"), kwargs.get("max_value"))] = node["config"]["severity"].lower()
    assert by_bound == {(0, None): "error", (None, 1): "warn"}
