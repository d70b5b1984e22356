"""Superset dataset metrics generated from dbt's semantic layer (one definition per KPI).

The dbt semantic layer (``dbt_project/models/semantic/*.yml``: MetricFlow ``semantic_models``
and ``metrics``) is the single source of every number Superset aggregates. A metric is published
to Superset when its ``config.meta.superset`` is set::

    - name: kpi_fulfilment
      label: "% выполнения"                      # -> verbose_name
      description: "Факт / план, сумма по строкам." # -> description
      type: ratio
      type_params: {numerator: kpi_fact, denominator: kpi_target}
      config:
        meta:
          superset:
            metric_name: fulfilment              # the name charts use (default: the dbt name)
            d3format: ".0%"

The dataset is the semantic model's ``model: ref('<mart>')`` (Superset dataset ``table_name``);
every measure a published metric reads must come from that one semantic model. The SQL is
what MetricFlow means by the metric, written for one table:

- simple: ``AGG(expr)`` of its measure; a ``filter`` (``{{ Dimension('entity__dim') }} = ...``)
  becomes ``AGG(CASE WHEN <filter> THEN expr END)``;
- ratio: ``<numerator> * 1.0 / NULLIF(<denominator>, 0)`` — a ratio of sums, never an average
  of row ratios;
- derived: its ``expr`` with each input metric replaced by its SQL.

``python -m hc_superset.metrics --write`` rewrites the ``metrics:`` list of every file
in ``superset_assets/datasets/`` (a dataset without published metrics gets none);
``--check`` exits 1 when a file differs. ``import_assets`` applies the same generation before
posting the bundle, so Superset always gets dbt's definitions.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_MODELS_DIR = PROJECT_ROOT / "dbt_project" / "models"
ASSETS_DIR = PROJECT_ROOT / "superset_assets"

_AGG_SQL = {
    "sum": "SUM({})",
    "count": "COUNT({})",
    "count_distinct": "COUNT(DISTINCT {})",
    "average": "AVG({})",
    "max": "MAX({})",
    "min": "MIN({})",
}
_DIMENSION = re.compile(r"\{\{\s*Dimension\(\s*'([a-z0-9_]+)__([a-z0-9_]+)'\s*\)\s*\}\}")
_REF = re.compile(r"^\s*ref\(\s*['\"]([A-Za-z0-9_]+)['\"]\s*\)\s*$")


class SemanticLayerError(ValueError):
    """The semantic layer cannot be turned into Superset metrics (the message says which metric)."""


@dataclass(frozen=True)
class SemanticLayer:
    semantic_models: dict[str, dict[str, Any]]  # name -> semantic model
    metrics: dict[str, dict[str, Any]]  # name -> metric
    measure_owner: dict[str, str]  # measure name -> semantic model name


def load_semantic_layer(models_dir: Path = DBT_MODELS_DIR) -> SemanticLayer:
    """Every ``semantic_models:`` and ``metrics:`` entry of the dbt project's YAML files."""
    semantic_models: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if not Path(models_dir).is_dir():
        raise FileNotFoundError(f"{models_dir}: not a directory (the dbt project's models/)")
    for path in sorted(Path(models_dir).rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        if "semantic_models:" not in text and "metrics:" not in text:
            continue
        doc = yaml.load(text, Loader=loader) or {}  # CSafeLoader/SafeLoader: safe
        if not isinstance(doc, dict):
            continue
        for sm in doc.get("semantic_models") or []:
            semantic_models[sm["name"]] = sm
        for metric in doc.get("metrics") or []:
            metrics[metric["name"]] = metric
    owner = {m["name"]: sm_name for sm_name, sm in semantic_models.items() for m in sm.get("measures") or []}
    return SemanticLayer(semantic_models, metrics, owner)


def superset_meta(metric: dict[str, Any]) -> dict[str, Any] | None:
    meta = {**(metric.get("meta") or {}), **((metric.get("config") or {}).get("meta") or {})}
    return meta.get("superset")


def model_name(semantic_model: dict[str, Any]) -> str:
    match = _REF.match(str(semantic_model.get("model", "")))
    if not match:
        raise SemanticLayerError(f"semantic model {semantic_model['name']}: model must be ref('<model>')")
    return match.group(1)


def _input(spec: Any) -> tuple[str, str | None]:
    """A ratio/derived input: ``name`` or ``{name, filter}``."""
    if isinstance(spec, str):
        return spec, None
    return spec["name"], spec.get("filter")


def _measures_of(layer: SemanticLayer, name: str, seen: tuple[str, ...] = ()) -> set[str]:
    if name in seen:
        raise SemanticLayerError(f"metric {name}: defined in terms of itself ({' -> '.join(seen + (name,))})")
    metric = layer.metrics.get(name)
    if metric is None:
        raise SemanticLayerError(f"metric {seen[-1] if seen else name}: unknown input metric {name!r}")
    params = metric.get("type_params") or {}
    kind = metric.get("type")
    if kind == "simple":
        measure = params["measure"]
        return {measure["name"] if isinstance(measure, dict) else measure}
    if kind == "ratio":
        return _measures_of(layer, _input(params["numerator"])[0], seen + (name,)) | _measures_of(
            layer, _input(params["denominator"])[0], seen + (name,)
        )
    if kind == "derived":
        out: set[str] = set()
        for item in params.get("metrics") or []:
            out |= _measures_of(layer, _input(item)[0], seen + (name,))
        return out
    raise SemanticLayerError(f"metric {name}: type {kind!r} cannot be written as one Superset expression")


def semantic_model_of(layer: SemanticLayer, metric_name: str) -> str:
    """The one semantic model whose measures the metric reads."""
    owners = set()
    for measure in _measures_of(layer, metric_name):
        if measure not in layer.measure_owner:
            raise SemanticLayerError(f"metric {metric_name}: unknown measure {measure!r}")
        owners.add(layer.measure_owner[measure])
    if len(owners) != 1:
        raise SemanticLayerError(
            f"metric {metric_name}: reads measures of {sorted(owners)}; a Superset metric reads one dataset"
        )
    return owners.pop()


def _filter_sql(layer: SemanticLayer, sm_name: str, where: str, metric_name: str) -> str:
    dims = {d["name"]: d for d in layer.semantic_models[sm_name].get("dimensions") or []}

    def column(match: re.Match[str]) -> str:
        dim = dims.get(match.group(2))
        if dim is None:
            raise SemanticLayerError(
                f"metric {metric_name}: filter uses dimension {match.group(2)!r}, not in semantic model {sm_name}"
            )
        return str(dim.get("expr") or dim["name"])

    sql = _DIMENSION.sub(column, where)
    if "{{" in sql:
        raise SemanticLayerError(f"metric {metric_name}: only {{{{ Dimension('...') }}}} filters are supported: {where}")
    return sql


def _and(*filters: str | None) -> str | None:
    parts = [f for f in filters if f]
    if not parts:
        return None
    return " AND ".join(parts) if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)


def metric_sql(layer: SemanticLayer, name: str, extra_filter: str | None = None) -> str:
    """The SQL expression of a metric over its semantic model's table."""
    metric = layer.metrics[name]
    params = metric.get("type_params") or {}
    kind = metric.get("type")
    sm_name = semantic_model_of(layer, name)
    own_filter = _filter_sql(layer, sm_name, metric["filter"], name) if metric.get("filter") else None
    where = _and(own_filter, extra_filter)
    if kind == "simple":
        measure_name = params["measure"]["name"] if isinstance(params["measure"], dict) else params["measure"]
        measure = next(m for m in layer.semantic_models[sm_name]["measures"] if m["name"] == measure_name)
        expr = str(measure.get("expr") or measure["name"])
        agg = measure["agg"]
        if agg == "sum_boolean":
            expr, agg = f"CASE WHEN {expr} THEN 1 ELSE 0 END", "sum"
            if where:
                expr = f"CASE WHEN {where} AND {measure.get('expr') or measure['name']} THEN 1 ELSE 0 END"
                where = None
        if agg not in _AGG_SQL:
            raise SemanticLayerError(f"metric {name}: measure {measure_name} has agg {agg!r}, not supported")
        if where:
            expr = f"CASE WHEN {where} THEN {expr} END"
        return _AGG_SQL[agg].format(expr)
    if kind == "ratio":
        parts = []
        for side in ("numerator", "denominator"):
            input_name, input_filter = _input(params[side])
            sql = metric_sql(layer, input_name, _and(where, _filter_sql(layer, sm_name, input_filter, name) if input_filter else None))
            # a derived input is an arithmetic expression: keep it whole before "* 1.0 /"
            parts.append(f"({sql})" if layer.metrics[input_name].get("type") == "derived" else sql)
        return f"{parts[0]} * 1.0 / NULLIF({parts[1]}, 0)"
    if kind == "derived":
        expr = str(params["expr"])
        replacements = {}
        for item in params.get("metrics") or []:
            input_name, input_filter = _input(item)
            alias = item.get("alias", input_name) if isinstance(item, dict) else input_name
            replacements[alias] = metric_sql(
                layer, input_name, _and(where, _filter_sql(layer, sm_name, input_filter, name) if input_filter else None)
            )
        pattern = re.compile(r"\b(" + "|".join(re.escape(a) for a in sorted(replacements, key=len, reverse=True)) + r")\b")
        return pattern.sub(lambda m: f"({replacements[m.group(1)]})", expr)
    raise SemanticLayerError(f"metric {name}: type {kind!r} is not supported")


def generate(models_dir: Path = DBT_MODELS_DIR) -> dict[str, list[dict[str, Any]]]:
    """dataset table_name -> its Superset metrics (sorted by metric_name, the committed order)."""
    layer = load_semantic_layer(models_dir)
    out: dict[str, list[dict[str, Any]]] = {}
    for name, metric in layer.metrics.items():
        meta = superset_meta(metric)
        if meta is None:
            continue
        table = model_name(layer.semantic_models[semantic_model_of(layer, name)])
        entry: dict[str, Any] = {
            "metric_name": meta.get("metric_name", name),
            "expression": metric_sql(layer, name),
            "verbose_name": meta.get("verbose_name") or metric.get("label") or name,
        }
        if metric.get("description"):
            entry["description"] = str(metric["description"]).strip()
        if meta.get("d3format"):
            entry["d3format"] = meta["d3format"]
        if meta.get("warning_text"):
            entry["warning_text"] = meta["warning_text"]
        taken = {m["metric_name"] for m in out.get(table, [])}
        if entry["metric_name"] in taken:
            raise SemanticLayerError(f"metric {name}: dataset {table} already has a metric named {entry['metric_name']!r}")
        out.setdefault(table, []).append(entry)
    return {table: sorted(items, key=lambda m: m["metric_name"]) for table, items in out.items()}


_STRING_LITERAL = re.compile(r"('(?:[^']|'')*')")
ENGINES = ("postgres", "clickhouse")


def for_clickhouse(expression: str, table: str, columns: set[str]) -> str:
    """The metric SQL for ClickHouse: every column of the dataset qualified with its table.

    ClickHouse resolves a name to a SELECT alias before a column, and Superset aliases each
    metric with its name: with a metric named like a column (``SUM(clients) AS clients``), another
    metric's ``SUM(clients)`` in the same query would read the alias and nest two aggregates
    (ILLEGAL_AGGREGATION). ``<table>.<column>`` always means the column (Superset reads a physical
    dataset ``FROM <schema>.<table>``, unaliased). String literals are left alone."""
    if not columns:
        return expression
    name = re.compile(r"(?<![.\w])(" + "|".join(re.escape(c) for c in sorted(columns, key=len, reverse=True)) + r")\b(?!\s*\()")
    parts = _STRING_LITERAL.split(expression)
    return "".join(part if i % 2 else name.sub(lambda m: f"{table}.{m.group(1)}", part) for i, part in enumerate(parts))


def apply(files: dict[str, dict[str, Any]], generated: dict[str, list[dict[str, Any]]],
          engine: str = "postgres") -> dict[str, dict[str, Any]]:
    """``read_assets`` output with every dataset's ``metrics`` replaced by the generated ones,
    written for ``engine`` (the committed files are the Postgres form; see ``for_clickhouse``)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    known = {cfg.get("table_name") for path, cfg in files.items() if path.startswith("datasets/")}
    missing = sorted(set(generated) - known)
    if missing:
        raise SemanticLayerError(f"dbt publishes Superset metrics for {missing}, which have no file in superset_assets/datasets/")
    out = {}
    for path, cfg in files.items():
        if path.startswith("datasets/"):
            metrics = [dict(m) for m in generated.get(cfg.get("table_name"), [])]
            if engine == "clickhouse":
                columns = {str(c["column_name"]) for c in cfg.get("columns") or [] if not c.get("expression")}
                for m in metrics:
                    m["expression"] = for_clickhouse(m["expression"], str(cfg["table_name"]), columns)
            cfg = {**cfg, "metrics": metrics}
        out[path] = cfg
    return out


def dataset_paths(assets_dir: Path) -> list[Path]:
    paths = sorted((Path(assets_dir) / "datasets").rglob("*.yaml"))
    if not paths:
        # a wrong directory must not pass as "no differences"
        raise FileNotFoundError(f"{assets_dir}: no datasets/*.yaml; is this the superset_assets directory?")
    return paths


def _stale(assets_dir: Path, models_dir: Path) -> list[tuple[Path, dict[str, Any], list[dict[str, Any]]]]:
    """(path, committed config, generated metrics) of every dataset whose metrics are not the generated ones."""
    from hc_superset.assets import load_yaml_file

    generated = generate(models_dir)
    out = []
    for path in dataset_paths(assets_dir):
        cfg = load_yaml_file(path)
        want = generated.get(cfg.get("table_name"), [])
        if (cfg.get("metrics") or []) != want:
            out.append((path, cfg, want))
    return out


def differences(assets_dir: Path = ASSETS_DIR, models_dir: Path = DBT_MODELS_DIR) -> list[str]:
    """Datasets whose committed metrics are not exactly the generated ones."""
    return [str(path.relative_to(assets_dir)) for path, _, _ in _stale(assets_dir, models_dir)]


def write(assets_dir: Path = ASSETS_DIR, models_dir: Path = DBT_MODELS_DIR) -> list[Path]:
    """Rewrite the metrics of the dataset files that differ; returns the files written."""
    from hc_superset.assets import dump_yaml

    written = []
    for path, cfg, want in _stale(assets_dir, models_dir):
        cfg["metrics"] = want
        path.write_text(dump_yaml(cfg), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hc_superset.metrics", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite superset_assets/datasets/*.yaml metrics")
    parser.add_argument("--assets", type=Path, default=ASSETS_DIR)
    parser.add_argument("--models", type=Path, default=DBT_MODELS_DIR)
    args = parser.parse_args(argv)
    if args.write:
        for path in write(args.assets, args.models):
            print(f"wrote {path}")
        return 0
    diff = differences(args.assets, args.models)
    for rel in diff:
        print(f"{rel}: metrics differ from dbt's semantic layer (run with --write)")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
