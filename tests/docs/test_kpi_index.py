"""The KPI index (docs/kpi_index.yml) is true: KPI -> model.column -> test -> chart -> Dagster asset.

No database: the dbt manifest comes from `dbt parse` (orchestration.dbt.ensure_manifest, cached
until a dbt file changes), the charts from superset_assets/, the asset keys from the Dagster
Definitions themselves. Every failure names the KPI id and what to fix in the index (or in the
project, when the index is right and the project lost something).
"""

from __future__ import annotations

import ast
import importlib
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs.kpi_index import (
    DOCS_PATH,
    INDEX_PATH,
    PROJECT_ROOT,
    SECTIONS,
    load_index,
    parse_test,
    render_block,
    rendered_block_in,
)

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
ASSETS = PROJECT_ROOT / "superset_assets"
MARTS_PREFIX = "models/marts/"
KPI_FIELDS = {
    "id",
    "section",
    "name_ru",
    "name_en",
    "model",
    "column",
    "where",
    "metric",
    "vars",
    "python",
    "tests",
    "untested",
    "charts",
    "no_chart",
    "asset",
}
REQUIRED = {"id", "section", "name_ru", "name_en", "model", "column", "vars", "tests", "charts", "asset"}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def index() -> dict[str, Any]:
    return load_index()


@pytest.fixture(scope="module")
def kpis(index: dict[str, Any]) -> list[dict[str, Any]]:
    return index["kpis"]


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    from orchestration.dbt import ensure_manifest

    return json.loads(ensure_manifest().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def marts(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Mart models by name (models under dbt_project/models/marts)."""
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(MARTS_PREFIX)
    }


@pytest.fixture(scope="module")
def dagster_asset_keys() -> set[str]:
    from orchestration.definitions import defs

    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def _yaml_files(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.yaml")):
        yield yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def charts() -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chart in _yaml_files(ASSETS / "charts"):
        by_name[chart["slice_name"]].append(chart)
    return by_name


@pytest.fixture(scope="module")
def datasets() -> dict[str, dict[str, Any]]:
    return {dataset["uuid"]: dataset for dataset in _yaml_files(ASSETS / "datasets")}


def _fail(problems: list[str], what: str) -> None:
    assert not problems, f"{what} ({len(problems)}):\n" + "\n".join(problems)


def _accepted_values(manifest: Manifest, model: dict[str, Any], column: str) -> list[Any] | None:
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if (
            node["resource_type"] == "test"
            and meta.get("name") == "accepted_values"
            and node.get("attached_node") == model["unique_id"]
            and node.get("column_name") == column
        ):
            return list(meta.get("kwargs", {}).get("values") or [])
    return None


def _ancestors(manifest: Manifest, unique_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [unique_id]
    while todo:
        for parent in manifest["parent_map"].get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _expected_columns(unit_test: dict[str, Any]) -> set[str] | None:
    """Columns the unit test's expected rows check (None for an `sql` fixture: cannot tell)."""
    expect = unit_test.get("expect") or {}
    rows = expect.get("rows")
    if expect.get("format", "dict") == "dict" and isinstance(rows, list):
        return {column for row in rows for column in row}
    if expect.get("format") == "csv" and isinstance(rows, str) and rows.strip():
        return {c.strip() for c in rows.strip().splitlines()[0].split(",")}
    return None


def _module_definitions(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level functions, classes and assignments by name."""
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node
    return found


def _pytest_code(node_id: str) -> str | None:
    """The code a pytest test `tests/x.py::test_y` (or `::Class::test_y`) runs within its module:
    the test function plus every module-level function, class or constant it reaches by name.
    None when the test does not exist."""
    file_part, _, rest = node_id.partition("::")
    path = PROJECT_ROOT / file_part
    if not path.is_file() or not rest:
        return None
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    body: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for name in (part.split("[")[0] for part in rest.split("::")):
        found = next(
            (
                n
                for n in body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name
            ),
            None,
        )
        if found is None:
            return None
        body = getattr(found, "body", [])
    if not isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef) or not found.name.startswith("test"):
        return None
    definitions = _module_definitions(tree)
    reached: list[ast.AST] = [found]
    seen = {found.name}
    todo: list[ast.AST] = [found]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Name) and node.id in definitions and node.id not in seen:
                seen.add(node.id)
                reached.append(definitions[node.id])
                todo.append(definitions[node.id])
    return "\n".join(ast.get_source_segment(source, node) or "" for node in reached)


# --- the index itself --------------------------------------------------------------------------


def test_index_entries_are_complete(kpis: list[dict[str, Any]]) -> None:
    problems = []
    ids = [kpi.get("id") for kpi in kpis]
    problems += [f"id {i!r} is used {ids.count(i)} times" for i in sorted(set(ids), key=str) if ids.count(i) > 1]
    targets = [(k.get("model"), k.get("column"), tuple(sorted((k.get("where") or {}).items()))) for k in kpis]
    problems += [
        f"{t} is indexed {targets.count(t)} times" for t in sorted(set(targets), key=str) if targets.count(t) > 1
    ]
    for kpi in kpis:
        name = kpi.get("id")
        if missing := REQUIRED - set(kpi):
            problems.append(f"{name}: missing {sorted(missing)}")
        if unknown := set(kpi) - KPI_FIELDS:
            problems.append(f"{name}: unknown fields {sorted(unknown)}")
        if kpi.get("section") not in SECTIONS:
            problems.append(f"{name}: section {kpi.get('section')!r} is not one of {sorted(SECTIONS)}")
        if not kpi.get("tests") and not kpi.get("untested"):
            problems.append(f"{name}: no test and no `untested` reason")
        if kpi.get("tests") and kpi.get("untested"):
            problems.append(f"{name}: has tests and an `untested` reason; drop the reason")
        if not kpi.get("charts") and not kpi.get("no_chart"):
            problems.append(f"{name}: no chart and no `no_chart` reason")
        if kpi.get("charts") and kpi.get("no_chart"):
            problems.append(f"{name}: has charts and a `no_chart` reason; drop the reason")
        for entry in kpi.get("tests") or []:
            try:
                parse_test(entry)
            except ValueError as error:
                problems.append(f"{name}: {error}")
    _fail(problems, f"{INDEX_PATH.name}: malformed entries")


def test_docs_page_shows_the_current_index(index: dict[str, Any]) -> None:
    text = DOCS_PATH.read_text(encoding="utf-8")
    block = rendered_block_in(text)
    assert block is not None, f"{DOCS_PATH.name} has lost the kpi-index markers"
    assert block == render_block(index), (
        f"{DOCS_PATH.name}'s KPI index table differs from {INDEX_PATH.name}: "
        "run `.venv/bin/python -m tests.docs.kpi_index --write`"
    )


# --- KPI -> model.column -------------------------------------------------------------------------


def test_every_model_column_exists(kpis: list[dict[str, Any]], marts: dict[str, Any], manifest: Manifest) -> None:
    problems = []
    for kpi in kpis:
        model = marts.get(kpi["model"])
        if model is None:
            problems.append(f"{kpi['id']}: {kpi['model']} is not a dbt model under dbt_project/{MARTS_PREFIX}")
            continue
        where = kpi.get("where") or {}
        for column in [kpi["column"], *where]:
            if column not in model["columns"]:
                problems.append(
                    f"{kpi['id']}: {kpi['model']}.{column} is not a documented column of "
                    f"{model['original_file_path']} ({model['patch_path']})"
                )
        for column, value in where.items():
            allowed = _accepted_values(manifest, model, column)
            if allowed is not None and value not in allowed:
                problems.append(f"{kpi['id']}: {kpi['model']}.{column} = {value!r} is not one of {allowed}")
    _fail(problems, "KPIs pointing at no mart column")


def test_a_long_form_mart_has_every_value_indexed(
    kpis: list[dict[str, Any]], marts: dict[str, Any], manifest: Manifest
) -> None:
    """When a mart holds several KPIs in long form (kpi_panel.kpi_code), every accepted value of
    that column is a KPI of the index: a new panel KPI cannot be added without its index row."""
    indexed: dict[tuple[str, str], set[Any]] = defaultdict(set)
    for kpi in kpis:
        for column, value in (kpi.get("where") or {}).items():
            indexed[(kpi["model"], column)].add(value)
    assert indexed, "the index has no long-form KPI (kpi_panel rows name their kpi_code in `where`)"
    problems = []
    for (model_name, column), values in sorted(indexed.items()):
        allowed = _accepted_values(manifest, marts[model_name], column) if model_name in marts else None
        if allowed is None:
            problems.append(f"{model_name}.{column} has no accepted_values test: the index cannot know its KPIs")
            continue
        problems += [f"{model_name}.{column} = {v!r} has no KPI in the index" for v in allowed if v not in values]
    _fail(problems, "long-form KPIs missing from the index")


def test_every_mart_is_classified(index: dict[str, Any], kpis: list[dict[str, Any]], marts: dict[str, Any]) -> None:
    kpi_marts = {kpi["model"] for kpi in kpis}
    other = set(index.get("other_marts") or {})
    problems = [
        f"mart {name} ({marts[name]['original_file_path']}) is neither a KPI mart nor in other_marts"
        for name in sorted(set(marts) - kpi_marts - other)
    ]
    problems += [f"other_marts: {name} holds KPIs of the index" for name in sorted(kpi_marts & other)]
    problems += [f"other_marts: {name} is not a mart of the dbt project" for name in sorted(other - set(marts))]
    problems += [
        f"other_marts: {name} needs a reason" for name, why in (index.get("other_marts") or {}).items() if not why
    ]
    _fail(problems, "marts the index does not classify")


def test_every_column_of_a_kpi_mart_is_classified(
    index: dict[str, Any], kpis: list[dict[str, Any]], marts: dict[str, Any]
) -> None:
    """A KPI mart's documented columns are KPIs (indexed), dimensions or its supporting columns:
    a new column in a KPI mart fails here until it is indexed or classified."""
    dimensions = set(index.get("dimension_columns") or [])
    supporting = {name: set(columns) for name, columns in (index.get("supporting_columns") or {}).items()}
    kpi_columns: dict[str, set[str]] = defaultdict(set)
    for kpi in kpis:
        kpi_columns[kpi["model"]].add(kpi["column"])
    problems = []
    for name in sorted(kpi_columns):
        if name not in marts:
            continue  # reported by test_every_model_column_exists
        documented = set(marts[name]["columns"])
        extra = supporting.get(name, set())
        for column in sorted(documented - kpi_columns[name] - dimensions - extra):
            problems.append(
                f"{name}.{column} is neither a KPI of the index nor in dimension_columns or supporting_columns.{name}"
            )
        for column in sorted(extra - documented):
            problems.append(f"supporting_columns.{name}: {column} is not a documented column of {name}")
        for column in sorted(extra & kpi_columns[name]):
            problems.append(f"supporting_columns.{name}: {column} is a KPI of the index")
    problems += [
        f"supporting_columns: {name} is not a KPI mart of the index"
        for name in sorted(set(supporting) - set(kpi_columns))
    ]
    _fail(problems, "KPI mart columns the index does not classify")


# --- -> tests ------------------------------------------------------------------------------------


def test_every_test_exists_and_checks_the_kpi(
    kpis: list[dict[str, Any]], marts: dict[str, Any], manifest: Manifest
) -> None:
    unit_tests = {u["name"]: u for u in manifest["unit_tests"].values() if u["package_name"] == "happyclient"}
    problems = []
    for kpi in kpis:
        model = marts.get(kpi["model"])
        if model is None:
            continue  # reported by test_every_model_column_exists
        upstream = {model["unique_id"]} | _ancestors(manifest, model["unique_id"])
        for kind, name in map(parse_test, kpi.get("tests") or []):
            if kind == "dbt":
                unit_test = unit_tests.get(name)
                if unit_test is None:
                    problems.append(f"{kpi['id']}: dbt unit test {name!r} does not exist")
                    continue
                tested = f"model.happyclient.{unit_test['model']}"
                if tested not in upstream:
                    problems.append(
                        f"{kpi['id']}: dbt unit test {name} tests {unit_test['model']}, which is neither "
                        f"{kpi['model']} nor upstream of it"
                    )
                columns = _expected_columns(unit_test)
                if columns is not None and kpi["column"] not in columns:
                    problems.append(
                        f"{kpi['id']}: dbt unit test {name} ({unit_test['original_file_path']}) does not check "
                        f"{kpi['column']} in its expected rows"
                    )
                rows = (unit_test.get("expect") or {}).get("rows")
                for column, value in (kpi.get("where") or {}).items():
                    if isinstance(rows, list) and not any(row.get(column) == value for row in rows):
                        problems.append(f"{kpi['id']}: dbt unit test {name} expects no row with {column} = {value!r}")
            else:
                code = _pytest_code(name)
                if code is None:
                    problems.append(f"{kpi['id']}: pytest test {name} does not exist")
                    continue
                mentions = [kpi["model"]] + ([kpi["python"].rsplit(".", 1)[-1]] if kpi.get("python") else [])
                if not any(m in code for m in mentions):
                    problems.append(f"{kpi['id']}: pytest test {name} (and what it calls) mentions none of {mentions}")
                for value in (kpi.get("where") or {}).values():
                    if f'"{value}"' not in code and f"'{value}'" not in code:
                        problems.append(f"{kpi['id']}: pytest test {name} (and what it calls) never names {value!r}")
    _fail(problems, "KPI tests that do not exist or do not check the KPI")


def test_python_functions_exist(kpis: list[dict[str, Any]]) -> None:
    problems = []
    for kpi in kpis:
        if not kpi.get("python"):
            continue
        module_name, _, function = kpi["python"].rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            problems.append(f"{kpi['id']}: cannot import {module_name}: {error}")
            continue
        if not callable(getattr(module, function, None)):
            problems.append(f"{kpi['id']}: {kpi['python']} is not a function")
    _fail(problems, "KPI Python functions that do not exist")


# --- -> chart ------------------------------------------------------------------------------------


def test_every_chart_exists_and_reads_the_model(
    kpis: list[dict[str, Any]], charts: dict[str, list[dict[str, Any]]], datasets: dict[str, dict[str, Any]]
) -> None:
    problems = []
    for kpi in kpis:
        for slice_name in kpi.get("charts") or []:
            found = charts.get(slice_name, [])
            if len(found) != 1:
                problems.append(
                    f"{kpi['id']}: {len(found)} charts named «{slice_name}» in superset_assets/charts (need one)"
                )
                continue
            dataset = datasets.get(found[0]["dataset_uuid"])
            if dataset is None:
                problems.append(f"{kpi['id']}: chart «{slice_name}» reads a dataset missing from superset_assets")
                continue
            reads_model = (dataset.get("schema"), dataset.get("table_name")) == ("marts", kpi["model"]) or (
                kpi["model"] in (dataset.get("sql") or "")
            )
            if not reads_model:
                problems.append(
                    f"{kpi['id']}: chart «{slice_name}» reads {dataset.get('schema')}.{dataset.get('table_name')}, "
                    f"not marts.{kpi['model']}"
                )
    _fail(problems, "KPI charts that do not exist or do not show the KPI's mart")


def test_every_metric_is_the_dbt_metric_its_charts_use(
    kpis: list[dict[str, Any]], charts: dict[str, list[dict[str, Any]]]
) -> None:
    """`metric` names a dbt semantic-layer metric over the KPI's mart, published to Superset, and
    at least one of the KPI's charts uses it (by its Superset metric_name)."""
    from hc_superset.metrics import load_semantic_layer, model_name, semantic_model_of, superset_meta

    layer = load_semantic_layer(DBT_PROJECT / "models")
    problems = []
    for kpi in kpis:
        if not kpi.get("metric"):
            continue
        metric = layer.metrics.get(kpi["metric"])
        if metric is None:
            problems.append(f"{kpi['id']}: metric {kpi['metric']!r} is not in dbt's semantic layer")
            continue
        mart = model_name(layer.semantic_models[semantic_model_of(layer, kpi["metric"])])
        if mart != kpi["model"]:
            problems.append(f"{kpi['id']}: metric {kpi['metric']} aggregates {mart}, not {kpi['model']}")
        meta = superset_meta(metric)
        if meta is None:
            problems.append(f"{kpi['id']}: metric {kpi['metric']} is not published to Superset (config.meta.superset)")
            continue
        name = meta.get("metric_name", kpi["metric"])
        used = [
            c for slice_name in kpi.get("charts") or [] for c in charts.get(slice_name, [])
            if name in _chart_metric_names(c.get("params") or {})
        ]
        if kpi.get("charts") and not used:
            problems.append(f"{kpi['id']}: none of the charts {kpi['charts']} uses metric {name}")
    _fail(problems, "KPI metrics that are not the dbt metric their charts use")


def _chart_metric_names(params: dict[str, Any]) -> set[str]:
    names = {m for m in (params.get("metrics") or []) + (params.get("percent_metrics") or []) if isinstance(m, str)}
    return names | {params[k] for k in ("metric", "secondary_metric", "timeseries_limit_metric") if isinstance(params.get(k), str)}


# --- -> Dagster asset ----------------------------------------------------------------------------


def test_every_asset_key_is_the_models_dagster_asset(
    kpis: list[dict[str, Any]], marts: dict[str, Any], dagster_asset_keys: set[str]
) -> None:
    from orchestration.dbt import translator

    problems = []
    for kpi in kpis:
        if kpi["asset"] not in dagster_asset_keys:
            problems.append(f"{kpi['id']}: asset {kpi['asset']} is not produced by orchestration.definitions")
        model = marts.get(kpi["model"])
        if model is not None:
            expected = translator.get_asset_key(model).to_user_string()
            if kpi["asset"] != expected:
                problems.append(f"{kpi['id']}: {kpi['model']} is the Dagster asset {expected}, not {kpi['asset']}")
    _fail(problems, "KPI asset keys the Dagster definitions do not produce")


# --- thresholds ----------------------------------------------------------------------------------


def test_every_var_is_a_documented_dbt_var(kpis: list[dict[str, Any]]) -> None:
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    declared = set(project.get("vars") or {})
    documented = (PROJECT_ROOT / "docs" / "kpi_variables.md").read_text(encoding="utf-8")
    problems = []
    for kpi in kpis:
        for var in kpi.get("vars") or []:
            if var not in declared:
                problems.append(f"{kpi['id']}: var {var} is not in dbt_project/dbt_project.yml vars")
            if f"`{var}`" not in documented:
                problems.append(f"{kpi['id']}: var {var} is not documented in docs/kpi_variables.md")
    _fail(problems, "KPI vars that are not dbt vars")
