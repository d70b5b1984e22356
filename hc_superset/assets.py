"""The committed form of Superset assets (superset_assets/): normalise exports, template the
connection, map instance-local chart ids to UUIDs and back.

Committed form, per file type:
- databases: ``sqlalchemy_uri`` is the placeholder ``{{ WAREHOUSE_URL }}``; no password.
- datasets: no ``catalog`` (the database name is instance-local), no ``None``/default values.
- charts: ``params`` without ``datasource``/``slice_id``; no ``query_context``.
- dashboards: no ``chartId`` in ``position``; native filters name charts by UUID in
  ``chartsInScope``/``scope.excluded`` and datasets by ``datasetUuid``; no ``chart_configuration``
  keyed by instance ids (cross-filters are global, all charts in scope).
Keys are written sorted; dataset columns and metrics sorted by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

WAREHOUSE_PLACEHOLDER = "{{ WAREHOUSE_URL }}"
MASKED_PASSWORD = "XXXXXXXXXX"
ASSET_DIRS = ("databases", "datasets", "charts", "dashboards")

_COLUMN_DEFAULTS: dict[str, Any] = {
    "is_active": True,
    "groupby": True,
    "filterable": True,
    "is_dttm": False,
}
_DATASET_DEFAULTS: dict[str, Any] = {
    "offset": 0,
    "filter_select_enabled": True,
    "normalize_columns": False,
    "always_filter_main_dttm": False,
}
_DATABASE_DEFAULTS: dict[str, Any] = {
    "allow_run_async": False,
    "allow_ctas": False,
    "allow_cvas": False,
    "allow_dml": False,
    "allow_csv_upload": False,
    "impersonate_user": False,
    "configuration_method": "sqlalchemy_form",
    "encrypted_extra": "{}",
}
_DB_EXTRA_DEFAULTS: dict[str, Any] = {
    "metadata_params": {},
    "engine_params": {},
    "metadata_cache_timeout": {},
    "schemas_allowed_for_csv_upload": [],
}
_CHART_PARAM_NOISE = ("datasource", "slice_id", "dashboards")
_DASHBOARD_META_NOISE = (
    "chart_configuration",
    "shared_label_colors",
    "map_label_colors",
    "color_scheme_domain",
    "positions",
    "show_native_filters",
    "timed_refresh_immune_slices",
    "expanded_slices",
    "filter_scopes",
    "default_filters",
    "refresh_frequency",
    "label_colors",
)


class AssetFormatError(ValueError):
    """A file in superset_assets/ is not what the sync expects."""


def load_yaml_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AssetFormatError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise AssetFormatError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: dict[str, Any]) -> str:
    """The committed text form: keys sorted, no YAML anchors, unicode kept."""
    return yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=True, width=100)


def _drop(d: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and not (k in defaults and defaults[k] == v)}


def normalize_database(cfg: dict[str, Any]) -> dict[str, Any]:
    out = _drop(cfg, _DATABASE_DEFAULTS)
    out["sqlalchemy_uri"] = WAREHOUSE_PLACEHOLDER
    out.pop("password", None)
    extra = out.get("extra")
    if isinstance(extra, dict):
        extra = _drop(extra, _DB_EXTRA_DEFAULTS)
        if extra:
            out["extra"] = extra
        else:
            out.pop("extra")
    return out


def normalize_dataset(cfg: dict[str, Any]) -> dict[str, Any]:
    out = _drop(cfg, _DATASET_DEFAULTS)
    out.pop("catalog", None)
    out["columns"] = sorted((_drop(c, _COLUMN_DEFAULTS) for c in cfg.get("columns") or []), key=lambda c: c["column_name"])
    out["metrics"] = sorted((_drop(m, {}) for m in cfg.get("metrics") or []), key=lambda m: m["metric_name"])
    return out


def normalize_chart(cfg: dict[str, Any]) -> dict[str, Any]:
    out = _drop(cfg, {})
    out.pop("query_context", None)
    params = dict(out.get("params") or {})
    for key in _CHART_PARAM_NOISE:
        params.pop(key, None)
    if not params.get("annotation_layers"):
        params.pop("annotation_layers", None)
    out["params"] = params
    return out


def normalize_dashboard(cfg: dict[str, Any], chart_uuid_by_id: dict[int, str]) -> dict[str, Any]:
    """Strip instance-local ids from an exported dashboard; chart ids become chart UUIDs."""
    out = _drop(cfg, {})
    position = {}
    for key, node in (out.get("position") or {}).items():
        if isinstance(node, dict) and node.get("type") == "CHART":
            node = {**node, "meta": {k: v for k, v in node["meta"].items() if k != "chartId"}}
            if "uuid" not in node["meta"]:
                raise AssetFormatError(f"dashboard {cfg.get('dashboard_title')!r}: chart node {key} has no uuid")
        position[key] = node
    out["position"] = position
    meta = {k: v for k, v in (out.get("metadata") or {}).items() if k not in _DASHBOARD_META_NOISE}
    gcc = meta.get("global_chart_configuration")
    if isinstance(gcc, dict):
        meta["global_chart_configuration"] = {k: v for k, v in gcc.items() if k != "chartsInScope"}
    filters = []
    for flt in meta.get("native_filter_configuration") or []:
        flt = dict(flt)
        flt.pop("chartsInScope", None)  # derived from scope; rebuilt by the sync
        scope = dict(flt.get("scope") or {})
        if "excluded" in scope:
            scope["excluded"] = sorted(_chart_ref(c, chart_uuid_by_id) for c in scope["excluded"])
            flt["scope"] = scope
        if (flt.get("controlValues") or {}).get("happyclientDefaultLatest"):
            flt["defaultDataMask"] = {"extraFormData": {}, "filterState": {}, "ownState": {}}
        targets = []
        for target in flt.get("targets") or []:
            target = {k: v for k, v in target.items() if k != "datasetId"}
            targets.append(target)
        flt["targets"] = targets
        filters.append(flt)
    if "native_filter_configuration" in meta:
        meta["native_filter_configuration"] = filters
    out["metadata"] = meta
    return out


def _chart_ref(value: Any, chart_uuid_by_id: dict[int, str]) -> str:
    if isinstance(value, str) and not value.isdigit():
        return value  # already a UUID
    try:
        return chart_uuid_by_id[int(value)]
    except KeyError as exc:
        raise AssetFormatError(f"native filter refers to chart id {value}, which is not in the export") from exc


def chart_uuids_in_position(position: dict[str, Any]) -> list[str]:
    return [
        node["meta"]["uuid"]
        for node in position.values()
        if isinstance(node, dict) and node.get("type") == "CHART" and "uuid" in node.get("meta", {})
    ]


@dataclass(frozen=True)
class DashboardTab:
    """One tab of a dashboard's layout (``id`` None: a dashboard without tabs), with the UUIDs of
    the charts under it, in layout order. Superset renders (and queries) a tab's charts when the
    tab is first shown, so a tab is the unit a reader waits for."""

    id: str | None
    title: str
    chart_uuids: tuple[str, ...]


def dashboard_tabs(position: dict[str, Any]) -> list[DashboardTab]:
    """The top-level tabs of a dashboard in display order, each with the charts under it; one
    tab with id None for a dashboard without tabs. Charts outside every tab (above or below the
    tabs) belong to the first tab: they render with it. Nested tabs count with their outer tab."""

    def charts_under(node_id: str) -> list[str]:
        node = position.get(node_id) or {}
        if node.get("type") == "CHART":
            return [node["meta"]["uuid"]] if "uuid" in node.get("meta", {}) else []
        return [uuid for child in node.get("children") or [] for uuid in charts_under(child)]

    def first_tabs(node_id: str) -> str | None:
        node = position.get(node_id) or {}
        if node.get("type") == "TABS":
            return node_id
        for child in node.get("children") or []:
            found = first_tabs(child)
            if found:
                return found
        return None

    tabs_id = first_tabs("ROOT_ID")
    in_layout = charts_under("ROOT_ID")
    if tabs_id is None:
        return [DashboardTab(None, "", tuple(in_layout))]
    tabs = [
        DashboardTab(tab_id, str(position[tab_id].get("meta", {}).get("text", "")), tuple(charts_under(tab_id)))
        for tab_id in position[tabs_id].get("children") or []
    ]
    in_tabs = {uuid for tab in tabs for uuid in tab.chart_uuids}
    outside = tuple(uuid for uuid in in_layout if uuid not in in_tabs)
    if outside and tabs:
        tabs[0] = DashboardTab(tabs[0].id, tabs[0].title, outside + tabs[0].chart_uuids)
    return tabs


def slugify(name: str) -> str:
    table = str.maketrans(
        {
            "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
            "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
            "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh",
            "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
        }
    )
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower().translate(table)).strip("_")
    return slug or "unnamed"


def read_assets(assets_dir: Path) -> dict[str, dict[str, Any]]:
    """All committed asset files, keyed by their path relative to ``assets_dir``."""
    if not (assets_dir / "metadata.yaml").exists():
        raise AssetFormatError(f"{assets_dir}: no metadata.yaml; is this a Superset assets directory?")
    files: dict[str, dict[str, Any]] = {"metadata.yaml": load_yaml_file(assets_dir / "metadata.yaml")}
    for kind in ASSET_DIRS:
        for path in sorted((assets_dir / kind).rglob("*.yaml")):
            cfg = load_yaml_file(path)
            if "uuid" not in cfg:
                raise AssetFormatError(f"{path}: missing field 'uuid'")
            files[str(path.relative_to(assets_dir))] = cfg
    return files
