"""Project structure checks over dbt's manifest, in the spirit of dbt_project_evaluator.

`dbt parse` writes target/manifest.json (no database needed); each test walks the models and
lists every violation with the model's file, so a failure says exactly what to fix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from import_ctes import misplaced_reads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
DBT = PROJECT_ROOT / ".venv" / "bin" / "dbt"
PACKAGE = "happyclient"
STAGING_NAME = re.compile(r"^stg_[a-z0-9]+(?:_[a-z0-9]+)*__[a-z0-9_]+$")
LAYER_ORDER = {"staging": 0, "intermediate": 1, "marts": 2, "semantic": 3}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    target = tmp_path_factory.mktemp("dbt_structure")
    env = dict(os.environ)
    env.setdefault("HAPPYCLIENT_PG_DBNAME", "structure_check")
    result = subprocess.run(
        [
            str(DBT),
            "parse",
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(target / "target"),
            "--log-path",
            str(target / "logs"),
        ],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"dbt parse failed:\n{result.stdout[-3000:]}"
    return json.loads((target / "target" / "manifest.json").read_text(encoding="utf-8"))


def models(manifest: Manifest) -> list[dict[str, Any]]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["package_name"] == PACKAGE]


def layer(node: dict[str, Any]) -> str:
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 else "root"


def report(violations: list[str]) -> str:
    return "\n".join(sorted(violations))


def test_models_are_named_for_their_layer(manifest: Manifest) -> None:
    violations = []
    for node in models(manifest):
        name, where, path = node["name"], layer(node), node["original_file_path"]
        if where == "staging" and not STAGING_NAME.match(name):
            violations.append(f"{path}: staging models are named stg_<source>__<entity>")
        elif where == "intermediate" and not name.startswith("int_"):
            violations.append(f"{path}: intermediate models start with int_")
        elif where in ("marts", "semantic") and name.startswith(("stg_", "int_")):
            violations.append(f"{path}: marts are named in plain words (fct_, dim_ or business names), not stg_/int_")
        elif where not in LAYER_ORDER:
            violations.append(f"{path}: models live under staging/, intermediate/, marts/ or semantic/")
    assert not violations, report(violations)


def test_staging_reads_exactly_one_source_and_no_models(manifest: Manifest) -> None:
    violations = []
    for node in models(manifest):
        if layer(node) != "staging":
            continue
        parents = node["depends_on"]["nodes"]
        sources = [p for p in parents if p.startswith("source.")]
        refs = [p for p in parents if p.startswith("model.")]
        if len(sources) != 1 or refs:
            violations.append(
                f"{node['original_file_path']}: reads {len(sources)} sources and models {refs}; expected one source"
            )
    assert not violations, report(violations)


def test_sources_are_read_only_in_staging(manifest: Manifest) -> None:
    """No exception: even dq_source_freshness (load times and row counts of every raw table) reads
    them through staging (loaded_at, source_modified_at, is_deleted of each raw row)."""
    violations = [
        f"{node['original_file_path']}: source() outside staging"
        for node in models(manifest)
        if layer(node) != "staging"
        and any(p.startswith("source.") for p in node["depends_on"]["nodes"])
    ]
    assert not violations, report(violations)


def test_no_model_reads_a_later_layer(manifest: Manifest) -> None:
    nodes = manifest["nodes"]
    violations = []
    for node in models(manifest):
        for parent_id in node["depends_on"]["nodes"]:
            parent = nodes.get(parent_id)
            if (
                parent
                and parent["resource_type"] == "model"
                and LAYER_ORDER.get(layer(parent), 9) > LAYER_ORDER.get(layer(node), 9)
            ):
                violations.append(
                    f"{node['original_file_path']}: reads {parent['name']} of the later layer {layer(parent)}"
                )
    assert not violations, report(violations)


def test_every_model_and_column_is_described(manifest: Manifest) -> None:
    violations = []
    for node in models(manifest):
        path = node["original_file_path"]
        if not node["description"].strip():
            violations.append(f"{path}: model has no description")
        if not node["columns"]:
            violations.append(f"{path}: no columns documented in its _<folder>__models.yml")
        for column in node["columns"].values():
            if not column["description"].strip():
                violations.append(f"{path}: column {column['name']} has no description")
    assert not violations, report(violations)


def test_every_column_has_a_russian_label(manifest: Manifest) -> None:
    violations = []
    for node in models(manifest):
        for column in node["columns"].values():
            meta = {**column.get("meta", {}), **column.get("config", {}).get("meta", {})}
            if not str(meta.get("label_ru", "")).strip():
                violations.append(f"{node['original_file_path']}: column {column['name']} has no meta.label_ru")
    assert not violations, report(violations)


KEY_ELSEWHERE = "primary_key_tested_on"


def column_tests(manifest: Manifest) -> tuple[dict[tuple[str, str], set[str]], set[str]]:
    """(model id, column) -> names of the generic tests on that column; ids of models with a
    model-level unique_combination test (composite key)."""
    tests_by_column: dict[tuple[str, str], set[str]] = {}
    composite_keys: set[str] = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("attached_node"):
            continue
        test_name = (node.get("test_metadata") or {}).get("name", "")
        if test_name == "unique_combination":
            composite_keys.add(node["attached_node"])
        elif node.get("column_name"):
            tests_by_column.setdefault((node["attached_node"], node["column_name"]), set()).add(test_name)
    return tests_by_column, composite_keys


def test_every_model_has_a_tested_primary_key(manifest: Manifest) -> None:
    """A column with unique + not_null, or a model-level unique_combination test (composite key).
    The one exemption: a view over every raw line (a test on it parses them all again) whose
    config.meta.primary_key_tested_on names the table that materialises its rows and tests the
    key there (checked by test_a_key_tested_elsewhere_is_tested_on_a_table_reading_the_view)."""
    tests_by_column, composite_keys = column_tests(manifest)
    violations = []
    for node in models(manifest):
        has_key = node["unique_id"] in composite_keys or any(
            {"unique", "not_null"} <= names
            for (model_id, _), names in tests_by_column.items()
            if model_id == node["unique_id"]
        )
        if not has_key and node["config"].get("meta", {}).get(KEY_ELSEWHERE):
            continue
        if not has_key:
            violations.append(
                f"{node['original_file_path']}: no primary-key test (unique + not_null column, or unique_combination)"
            )
    assert not violations, report(violations)


def test_a_key_tested_elsewhere_is_tested_on_a_table_reading_the_view(manifest: Manifest) -> None:
    """Issue 10: the exemption of test_every_model_has_a_tested_primary_key cannot rot. A model
    with config.meta.primary_key_tested_on {column, model, model_column} is a view that has
    `column`, and `model` is a table (or incremental) that reads the view itself (not through
    another model, which could filter it) and tests unique + not_null on its `model_column`. The exemption is for the
    line views only (dbt_project/models/staging/onec/_onec__models.yml says why)."""
    nodes = {node["name"]: node for node in models(manifest)}
    tests_by_column, _ = column_tests(manifest)
    exempt = {name: node for name, node in nodes.items() if node["config"].get("meta", {}).get(KEY_ELSEWHERE)}
    assert set(exempt) == {"stg_onec__sales_lines", "stg_onec__return_lines", "int_sales_lines_unioned"}, (
        f"views whose key is tested elsewhere: {sorted(exempt)}; a new one is a decision (issue 10), not a default"
    )
    violations = []
    for name, node in exempt.items():
        spec = node["config"]["meta"][KEY_ELSEWHERE]
        path = node["original_file_path"]
        if not isinstance(spec, dict) or set(spec) != {"column", "model", "model_column"}:
            violations.append(f"{path}: {name}: {KEY_ELSEWHERE} must be {{column, model, model_column}}, got {spec}")
            continue
        if node["config"]["materialized"] != "view":
            violations.append(f"{path}: {name} is a {node['config']['materialized']}: test its key on itself")
        if spec["column"] not in node["columns"]:
            violations.append(f"{path}: {name} has no column {spec['column']}")
        table = nodes.get(spec["model"])
        if table is None:
            violations.append(f"{path}: {name}: no model {spec['model']}")
            continue
        if table["config"]["materialized"] not in ("table", "incremental"):
            violations.append(f"{path}: {spec['model']} is a {table['config']['materialized']}, not a table")
        if node["unique_id"] not in table["depends_on"]["nodes"]:
            violations.append(f"{path}: {spec['model']} does not read {name}")
        if not {"unique", "not_null"} <= tests_by_column.get((table["unique_id"], spec["model_column"]), set()):
            violations.append(f"{path}: {spec['model']}.{spec['model_column']} is not tested unique and not_null")
    assert not violations, report(violations)


def test_sources_declare_freshness(manifest: Manifest) -> None:
    violations = []
    for source in manifest["sources"].values():
        if (
            source["package_name"] != PACKAGE
            or source["source_name"] == "ingest_state"
            or source["source_name"] == "predictions"
        ):
            continue
        if source.get("loaded_at_field") != "_loaded_at" or not (source.get("freshness") or {}).get(
            "warn_after", {}
        ).get("count"):
            violations.append(
                f"{source['original_file_path']}: {source['name']} needs loaded_at_field _loaded_at and freshness"
            )
    assert not violations, report(violations)


def test_every_mart_states_and_tests_its_row_bound(manifest: Manifest) -> None:
    """Issue 10: a mart's size follows the data, never clients x periods. Each mart says its
    bound in words ("Rows ≤ ...") and a row_count_at_most test checks it on every build."""
    bounded = {
        node["attached_node"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node.get("attached_node")
        and (node.get("test_metadata") or {}).get("name") == "row_count_at_most"
    }
    violations = []
    for node in models(manifest):
        if layer(node) != "marts" or node["config"].get("materialized") == "ephemeral":
            continue
        path = node["original_file_path"]
        if "Rows ≤" not in node.get("description", ""):
            violations.append(f"{path}: the description states no row bound ('Rows ≤ ...')")
        if node["unique_id"] not in bounded:
            violations.append(f"{path}: no row_count_at_most test checks the bound")
    assert not violations, report(violations)


def test_superset_metrics_are_read_from_what_dbt_parses(manifest: Manifest) -> None:
    """hc_superset.metrics reads the semantic layer's YAML; dbt's parse (which also runs
    MetricFlow's validation) must see the same metrics, types, labels, inputs and Superset meta."""
    from hc_superset.metrics import load_semantic_layer, model_name, superset_meta

    layer = load_semantic_layer(DBT_PROJECT / "models")
    parsed = {m["name"]: m for m in manifest["metrics"].values() if m["package_name"] == PACKAGE}
    assert set(parsed) == set(layer.metrics)
    violations = []
    for name, metric in parsed.items():
        ours = layer.metrics[name]
        meta = {**metric.get("meta", {}), **metric.get("config", {}).get("meta", {})}
        if (metric["type"], metric["label"], meta.get("superset")) != (ours["type"], ours["label"], superset_meta(ours)):
            violations.append(f"{name}: dbt parsed {metric['type']}/{metric['label']}/{meta.get('superset')}")
        if metric["type"] == "ratio":
            for side in ("numerator", "denominator"):
                spec = ours["type_params"][side]
                if metric["type_params"][side]["name"] != (spec if isinstance(spec, str) else spec["name"]):
                    violations.append(f"{name}: {side} differs")
    semantic = {s["name"]: s for s in manifest["semantic_models"].values() if s["package_name"] == PACKAGE}
    assert set(semantic) == set(layer.semantic_models)
    for name, sm in semantic.items():
        if sm["node_relation"]["alias"] != model_name(layer.semantic_models[name]):
            violations.append(f"{name}: reads {sm['node_relation']['alias']}")
    assert not violations, report(violations)


# Macros that read models themselves, all run by incremental facts' pre-hooks (before the model's
# select, to collect the keys to rebuild and delete their rows; their index plans are benchmarked,
# README «Benchmarks»). The models declare what they read with `-- depends_on:` lines. Any other
# macro takes the names of the model's import CTEs as arguments.
PRE_HOOK_MACROS_READING_MODELS = {
    "bitrix24_owner_lookups",  # -> fact_keys_to_rebuild
    "changed_deal_ids",  # -> fact_keys_to_rebuild
    "fact_keys_to_rebuild",  # -> delete_changed_fact_rows, pre-hook of fct_deals, fct_leads, ...
    "delete_changed_sales_documents",  # pre-hook of fct_sales_lines
}


def test_models_read_other_models_only_in_import_ctes(manifest: Manifest) -> None:
    """Issue 11 item 4: every ref()/source() of every model is in an import CTE at the top
    (tests/dbt/import_ctes.py says exactly what counts)."""
    violations = [
        f"{node['original_file_path']}: {finding}"
        for node in models(manifest)
        for finding in misplaced_reads(node["raw_code"])
    ]
    assert not violations, report(violations)


def test_macros_read_no_models_except_the_pre_hooks(manifest: Manifest) -> None:
    reading = {
        re.sub(r"^(?:default|clickhouse)__", "", macro["name"])  # an adapter's implementation counts as its macro
        for macro in manifest["macros"].values()
        if macro["package_name"] == PACKAGE
        and re.search(r"\b(?:ref|source)\s*\(", re.sub(r"\{#.*?#\}", "", macro["macro_sql"], flags=re.S))
    }
    assert reading == PRE_HOOK_MACROS_READING_MODELS, (
        f"macros that read models: {sorted(reading)}; a macro takes the model's import CTEs as arguments"
    )
    hooks_only = {"delete_changed_fact_rows", "delete_changed_sales_documents"}
    for node in models(manifest):
        body = re.sub(r"\{\{\s*config\(.*?\)\s*\}\}", "", node["raw_code"], flags=re.S)
        called = {name for name in PRE_HOOK_MACROS_READING_MODELS | hooks_only if re.search(rf"\b{name}\s*\(", body)}
        assert not called, f"{node['original_file_path']}: calls {sorted(called)} outside its pre-hook"


IMPORTS = """with

orders as (

    select * from {{ ref('stg_orders') }}
    where not is_deleted

),

customers as (

    select * from {{ source('shop', 'customers') }}

),
"""


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # jaffle-shop style: imports (one with a where), logic, one final select
        (IMPORTS + "final as (\n    select * from orders inner join customers using (id)\n)\n\nselect * from final", []),
        # a ref joined inside a logic CTE
        (
            IMPORTS + "joined as (\n    select * from orders\n    left join {{ ref('dim_x') }} as x on true\n)\n"
            "select * from joined",
            ["CTE joined reads a model but is not an import CTE (select * from ref/source [where])"],
        ),
        # a ref aggregated in a CTE (not select *)
        (
            "with\n\nnames as (\n    select min(name) as name from {{ ref('stg_statuses') }} group by id\n)\n"
            "select * from names",
            ["CTE names reads a model but is not an import CTE (select * from ref/source [where])"],
        ),
        # an import CTE below a logic CTE
        (
            "with\n\nstaged as (\n    select 1 as one\n),\n\nlate as (\n    select * from {{ ref('x') }}\n)\n"
            "select * from late",
            ["import CTE late comes after the logic CTE staged: imports go at the top"],
        ),
        # a ref in the final select, and a model without CTEs
        (IMPORTS + "final as (select 1 as one)\nselect * from {{ ref('y') }}", ["reads '{{ ref(' outside its CTEs"]),
        ("select id from {{ ref('int_products') }}", ["reads '{{ ref(' without import CTEs"]),
        # a where that reads another model is not simple
        (
            "with\n\nx as (\n    select * from {{ ref('a') }} where id in (select id from {{ ref('b') }})\n)\n"
            "select * from x",
            ["CTE x reads a model but is not an import CTE (select * from ref/source [where])"],
        ),
        # depends_on lines, a macro writing logic CTEs, and if/else branches with their own imports
        (
            "-- depends_on: {{ ref('stg_users') }}\nwith\n\n{% if is_incremental() %}\n"
            "a as (\n    select * from {{ ref('a') }}\n),\n\n{{ logic_ctes('a') }},\n\n"
            "lines as (select * from logic),\n\n{% else %}\n\nlines as (\n    select * from {{ ref('b') }}\n),\n\n"
            "{% endif %}\n\nfinal as (select * from lines)\n\nselect * from final",
            [],
        ),
    ],
)
def test_import_cte_rule_by_hand(sql: str, expected: list[str]) -> None:
    assert misplaced_reads(sql) == expected


def test_one_dbt_style(manifest: Manifest) -> None:
    """Issue 11 item 4, no seam of two parallel builds: no dbt-A/dbt-B tag or name, no b_* macro twin,
    one range test (accepted_range), and every unit test in its model's folder, in _<folder>__unit_tests.yml."""
    violations = []
    seam = re.compile(r"(?:^|[^a-z])dbt[-_ ]?[ab](?:$|[^a-z])", re.I)
    ours = [n for n in [*manifest["nodes"].values(), *manifest["unit_tests"].values()] if n["package_name"] == PACKAGE]
    for node in ours:
        tags = {*node.get("tags", []), *node.get("config", {}).get("tags", [])}
        if any(seam.search(tag) for tag in tags) or seam.search(node["original_file_path"]) or seam.search(node["name"]):
            violations.append(f"{node['original_file_path']}: {node['name']} carries a dbt-A/dbt-B tag or name")
    macros = [m for m in manifest["macros"].values() if m["package_name"] == PACKAGE]
    violations += [f"{m['original_file_path']}: macro {m['name']} (b_* twin)" for m in macros if m["name"].startswith(("b_", "test_b_"))]
    range_tests = sorted(m["name"] for m in macros if m["name"].startswith("test_") and re.search("range|between", m["name"]))
    if range_tests != ["test_accepted_range"]:
        violations.append(f"range tests {range_tests}: one, accepted_range")
    nodes = manifest["nodes"]
    for unit_test in manifest["unit_tests"].values():
        if unit_test["package_name"] != PACKAGE:
            continue
        model = nodes[f"model.{PACKAGE}.{unit_test['model']}"]
        folder = Path(model["original_file_path"]).parent
        expected = folder / f"_{folder.name}__unit_tests.yml"
        if Path(unit_test["original_file_path"]) != expected:
            violations.append(f"{unit_test['original_file_path']}: unit test {unit_test['name']} belongs in {expected}")
    assert not violations, report(violations)


def test_every_mart_is_read_by_a_dashboard_or_a_model(manifest: Manifest) -> None:
    """Issue 11 item 2: no mart that nothing reads. Each is behind a dashboard (a generated exposure,
    i.e. a chart or native filter reads it) or read by another model."""
    read = {
        parent
        for node in [*manifest["nodes"].values(), *manifest["exposures"].values()]
        if node["resource_type"] in ("model", "exposure")
        for parent in node["depends_on"]["nodes"]
    }
    unread = [
        f"{node['original_file_path']}: no dashboard and no model reads {node['name']}: chart it or remove it"
        for node in models(manifest)
        if layer(node) == "marts" and node["unique_id"] not in read
    ]
    assert not unread, report(unread)


def test_indexes_are_postgres_only(manifest: Manifest) -> None:
    """A model's `indexes` config goes through macro postgres_indexes: dbt-clickhouse reads
    `indexes` as data-skipping indexes of another shape and fails on Postgres' (issue 13)."""
    raw = [node for node in models(manifest) if re.search(r"\bindexes\s*=", node["raw_code"])]
    assert raw, "no model declares indexes: the rule checks nothing"
    wrong = [node["original_file_path"] for node in raw
             if re.search(r"\bindexes\s*=\s*(?!postgres_indexes\()", node["raw_code"])]
    assert not wrong, f"indexes without postgres_indexes(...): {wrong}"
