"""Dashboards as code: import superset_assets/ into Superset and export it back, cleanly.

``import_assets`` posts the YAML bundle to /api/v1/assets/import/ and then repairs what that
endpoint leaves wrong (Superset 6.1):
- charts, datasets and dashboards removed from the repo stay in Superset -> deleted by UUID
  (everything on the «Happy Client» database is owned by the repo);
- native filters' chart scopes (``chartsInScope``, ``scope.excluded``) hold chart ids from the
  exporting instance -> rewritten from the chart UUIDs kept in the repo;
- native filter targets that carry a stale ``datasetId`` -> remapped from ``datasetUuid``.
Before posting, every dataset's ``metrics`` are generated from dbt's semantic layer
(hc_superset.metrics): Superset gets dbt's definitions, never a second copy.
``export_assets`` downloads /api/v1/assets/export/ and writes the committed form
(see hc_superset.assets).
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import yaml

from hc_base.redact import register_secret
from hc_base.warehouse_url import is_clickhouse_url
from hc_superset.assets import (
    ASSET_DIRS,
    MASKED_PASSWORD,
    WAREHOUSE_PLACEHOLDER,
    AssetFormatError,
    chart_uuids_in_position,
    dump_yaml,
    normalize_chart,
    normalize_dashboard,
    normalize_database,
    normalize_dataset,
    read_assets,
    slugify,
)
from hc_superset.client import SupersetClient
from hc_superset.metrics import DBT_MODELS_DIR
from hc_superset.metrics import apply as apply_dbt_metrics
from hc_superset.metrics import generate as generate_dbt_metrics

DEFAULT_LATEST = "happyclientDefaultLatest"  # controlValues key: default = latest value at sync time

__all__ = ["ImportReport", "import_assets", "export_assets", "warehouse_sqlalchemy_uri", "create_roles_and_users"]


@dataclass
class ImportReport:
    """What one ``import_assets`` run did."""

    databases: int = 0
    datasets: int = 0
    charts: int = 0
    dashboards: int = 0
    deleted: dict[str, list[str]] = field(default_factory=lambda: {"chart": [], "dataset": [], "dashboard": []})
    filters_fixed: int = 0
    dashboard_ids: dict[str, int] = field(default_factory=dict)  # title -> id
    chart_ids: dict[str, int] = field(default_factory=dict)  # uuid -> id
    dataset_ids: dict[str, int] = field(default_factory=dict)  # uuid -> id


# the ClickHouse database Superset's connection opens: the datasets name their database
# ("schema: marts") anyway, as they do on Postgres
CLICKHOUSE_DATABASE = "marts"


def clickhouse_sqlalchemy_uri(warehouse_url: str) -> tuple[str, str | None]:
    """A ClickHouse WAREHOUSE_URL -> Superset's ClickHouse connection (clickhouse-connect's
    ``clickhousedb`` dialect), password masked, and the password:

    - ``clickhouse://u:p@h:8123/`` -> ``clickhousedb://u:XXXXXXXXXX@h:8123/marts`` (HTTP);
    - ``clickhouses://u:p@h/`` -> ``clickhousedb://u:XXXXXXXXXX@h:8443/marts?secure=true`` (TLS);
    - ``chdb:///dir`` (tests only: ClickHouse in Superset's own process, which then must be the
      only process with that directory open) -> ``clickhousedb://default@localhost/marts?interface=chdb&path=/dir``.
    """
    from hc_base.warehouse_url import parse_clickhouse_url  # here, not at the top: one hunk to merge

    target = parse_clickhouse_url(warehouse_url)
    if target.chdb_path is not None:
        query = urlencode({"interface": "chdb", "path": target.chdb_path}, safe="/", quote_via=quote)
        return urlunsplit(("clickhousedb", "default@localhost", "/" + CLICKHOUSE_DATABASE, query, "")), None
    user = quote(target.user, safe="")
    netloc = f"{user}{':' + MASKED_PASSWORD if target.password else ''}@{target.host}:{target.port}"
    query = "secure=true" if target.secure else ""
    return urlunsplit(("clickhousedb", netloc, "/" + CLICKHOUSE_DATABASE, query, "")), target.password or None


def warehouse_sqlalchemy_uri(warehouse_url: str) -> tuple[str, str | None]:
    """``postgresql://u:p@h:port/db`` -> (``postgresql+psycopg2://u:XXXXXXXXXX@h:port/db``, p);
    a ClickHouse URL -> see ``clickhouse_sqlalchemy_uri``."""
    if is_clickhouse_url(warehouse_url):
        return clickhouse_sqlalchemy_uri(warehouse_url)
    parts = urlsplit(warehouse_url)
    if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"}:
        raise ValueError(f"warehouse URL: expected postgresql://user:password@host:port/db, got scheme {parts.scheme!r}")
    password = unquote(parts.password) if parts.password else None
    register_secret(password)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        user = parts.username + (f":{MASKED_PASSWORD}" if password else "")
        netloc = f"{user}@{netloc}"
    return urlunsplit(("postgresql+psycopg2", netloc, parts.path, parts.query, "")), password


def _validate_refs(files: dict[str, dict[str, Any]]) -> None:
    databases = {c["uuid"] for p, c in files.items() if p.startswith("databases/")}
    datasets = {c["uuid"] for p, c in files.items() if p.startswith("datasets/")}
    charts = {c["uuid"] for p, c in files.items() if p.startswith("charts/")}
    for path, cfg in files.items():
        if path.startswith("datasets/") and cfg.get("database_uuid") not in databases:
            raise AssetFormatError(f"{path}: database_uuid {cfg.get('database_uuid')} is not in databases/")
        if path.startswith("charts/") and cfg.get("dataset_uuid") not in datasets:
            raise AssetFormatError(f"{path}: dataset_uuid {cfg.get('dataset_uuid')} is not in datasets/")
        if path.startswith("dashboards/"):
            for chart_uuid in chart_uuids_in_position(cfg.get("position") or {}):
                if chart_uuid not in charts:
                    raise AssetFormatError(f"{path}: position refers to chart {chart_uuid}, which is not in charts/")
            for flt in (cfg.get("metadata") or {}).get("native_filter_configuration") or []:
                for target in flt.get("targets") or []:
                    if "datasetUuid" in target and target["datasetUuid"] not in datasets:
                        raise AssetFormatError(
                            f"{path}: native filter {flt.get('name')!r} targets dataset {target['datasetUuid']}, which is not in datasets/"
                        )


def _bundle(files: dict[str, dict[str, Any]], sqlalchemy_uri: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, cfg in files.items():
            cfg = copy.deepcopy(cfg)
            if path.startswith("databases/"):
                if cfg.get("sqlalchemy_uri") != WAREHOUSE_PLACEHOLDER:
                    raise AssetFormatError(f"{path}: sqlalchemy_uri must be {WAREHOUSE_PLACEHOLDER!r} (the connection comes from the environment)")
                cfg["sqlalchemy_uri"] = sqlalchemy_uri
                cfg.setdefault("extra", {})  # the importer requires the key
                cfg.setdefault("allow_csv_upload", False)  # the importer's default is True
            if path.startswith("dashboards/"):
                # the importer maps chartId -> new id and needs one on every chart node
                for n, node in enumerate(_chart_nodes(cfg.get("position") or {}), 1):
                    node["meta"]["chartId"] = n
                # chart scopes are restored after the import, from UUIDs (Superset would keep stale ids)
                for flt in cfg.get("metadata", {}).get("native_filter_configuration") or []:
                    flt.pop("chartsInScope", None)
                    if "scope" in flt:
                        flt["scope"] = {**flt["scope"], "excluded": []}
            zf.writestr(f"happyclient_assets/{path}", yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return buf.getvalue()


def _chart_nodes(position: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in position.values() if isinstance(n, dict) and n.get("type") == "CHART"]


def import_assets(
    base_url: str,
    user: str,
    password: str,
    assets_dir: Path,
    warehouse_url: str,
    *,
    prune: bool = True,
    dbt_models_dir: Path | None = DBT_MODELS_DIR,
) -> ImportReport:
    """Import (overwrite) every asset in ``assets_dir``; with ``prune`` delete what the repo no longer has.

    ``warehouse_url`` is the owner's URL (WAREHOUSE_URL): it creates Superset's warehouse roles,
    and Superset gets the URL of its own ``<p>_superset`` role. The datasets' metrics come from
    the semantic layer under ``dbt_models_dir`` (None: as committed)."""
    assets_dir = Path(assets_dir)
    files = read_assets(assets_dir)
    clickhouse = is_clickhouse_url(warehouse_url)
    if dbt_models_dir is not None or clickhouse:
        # on ClickHouse the metric SQL is written for it (hc_superset.metrics.for_clickhouse)
        files = apply_dbt_metrics(files, generate_dbt_metrics(dbt_models_dir or DBT_MODELS_DIR),
                                  engine="clickhouse" if clickhouse else "postgres")
    _validate_refs(files)
    if clickhouse:
        # ClickHouse: the connection is the URL's user; the per-user roles and row security of
        # hc_base.warehouse_access are PostgreSQL's (superset_config.py refuses restricted users'
        # queries on a ClickHouse database)
        uri, db_password = warehouse_sqlalchemy_uri(warehouse_url)
    else:
        # Superset connects through its own role (no rows without a user, RLS in the database),
        # never as the owner in WAREHOUSE_URL; see hc_base.warehouse_access
        from hc_base.warehouse_access import ensure_access

        uri, db_password = warehouse_sqlalchemy_uri(ensure_access(warehouse_url))
    client = SupersetClient(base_url, user, password)
    form: dict[str, str] = {"overwrite": "true"}
    db_files = [p for p in files if p.startswith("databases/")]
    if db_password:
        form["passwords"] = json.dumps({p: db_password for p in db_files})
    client.request(
        "POST",
        "/api/v1/assets/import/",
        files={"bundle": ("happyclient_assets.zip", _bundle(files, uri), "application/zip")},
        data=form,
    )
    report = ImportReport(
        databases=len(db_files),
        datasets=sum(p.startswith("datasets/") for p in files),
        charts=sum(p.startswith("charts/") for p in files),
        dashboards=sum(p.startswith("dashboards/") for p in files),
    )
    wanted = {kind: {c["uuid"] for p, c in files.items() if p.startswith(f"{kind}s/")} for kind in ("database", "dataset", "chart", "dashboard")}
    state = _instance_state(client)
    if prune:
        _prune(client, state, wanted, report)
        state = _instance_state(client)
    report.chart_ids = {u: i for u, i in state["chart"].items() if u in wanted["chart"]}
    report.dataset_ids = {u: i for u, i in state["dataset"].items() if u in wanted["dataset"]}
    for path, cfg in files.items():
        if path.startswith("dashboards/"):
            dash_id = state["dashboard"][cfg["uuid"]]
            report.dashboard_ids[cfg["dashboard_title"]] = dash_id
            report.filters_fixed += _fix_dashboard(client, dash_id, cfg, state)
    return report


def _instance_state(client: SupersetClient) -> dict[str, dict[str, int]]:
    """uuid -> id for every chart, dataset, dashboard, database; plus ownership facts."""
    state: dict[str, dict[str, int]] = {}
    for kind in ("database", "dataset", "chart", "dashboard"):
        rows = client.list_all(kind, ["id", "uuid"])
        state[kind] = {str(r["uuid"]): r["id"] for r in rows}
    return state


def _prune(client: SupersetClient, state: dict[str, dict[str, int]], wanted: dict[str, set[str]], report: ImportReport) -> None:
    """Delete charts, dashboards and datasets on our database(s) that the repo no longer has."""
    our_db_ids = {i for u, i in state["database"].items() if u in wanted["database"]}
    datasets = client.list_all("dataset", ["id", "uuid", "database.id"])
    our_dataset_ids = {d["id"] for d in datasets if d["database"]["id"] in our_db_ids}
    charts = client.list_all("chart", ["id", "uuid", "datasource_id", "datasource_type"])
    our_chart_ids = {c["id"] for c in charts if c.get("datasource_type") == "table" and c["datasource_id"] in our_dataset_ids}
    for dash_uuid, dash_id in state["dashboard"].items():
        if dash_uuid in wanted["dashboard"]:
            continue
        dash_charts = client.get(f"/api/v1/dashboard/{dash_id}/charts")["result"]
        if dash_charts and all(c["id"] in our_chart_ids for c in dash_charts):
            client.delete(f"/api/v1/dashboard/{dash_id}")
            report.deleted["dashboard"].append(dash_uuid)
    for c in charts:
        if c["id"] in our_chart_ids and str(c["uuid"]) not in wanted["chart"]:
            client.delete(f"/api/v1/chart/{c['id']}")
            report.deleted["chart"].append(str(c["uuid"]))
    for d in datasets:
        if d["id"] in our_dataset_ids and str(d["uuid"]) not in wanted["dataset"]:
            client.delete(f"/api/v1/dataset/{d['id']}")
            report.deleted["dataset"].append(str(d["uuid"]))


def _fix_dashboard(client: SupersetClient, dash_id: int, repo_cfg: dict[str, Any], state: dict[str, dict[str, int]]) -> int:
    """Rewrite native filter scopes and dataset ids from the repo's UUIDs; returns filters fixed."""
    dash = client.get(f"/api/v1/dashboard/{dash_id}")["result"]
    meta = json.loads(dash.get("json_metadata") or "{}")
    in_dashboard = [state["chart"][u] for u in chart_uuids_in_position(repo_cfg.get("position") or {})]
    repo_filters = {f["id"]: f for f in (repo_cfg.get("metadata") or {}).get("native_filter_configuration") or []}
    fixed = 0
    for flt in meta.get("native_filter_configuration") or []:
        repo_flt = repo_filters.get(flt.get("id"))
        if repo_flt is None:
            continue
        excluded = [state["chart"][u] for u in (repo_flt.get("scope") or {}).get("excluded", [])]
        if "scope" in repo_flt:
            flt["scope"] = {**repo_flt["scope"], "excluded": excluded}
        if "chartsInScope" in repo_flt:
            flt["chartsInScope"] = [state["chart"][u] for u in repo_flt["chartsInScope"]]
        else:
            flt["chartsInScope"] = [c for c in in_dashboard if c not in excluded]
        for target, repo_target in zip(flt.get("targets") or [], repo_flt.get("targets") or [], strict=False):
            if "datasetUuid" in repo_target:
                target["datasetId"] = state["dataset"][repo_target["datasetUuid"]]
                target.pop("datasetUuid", None)
        if (repo_flt.get("controlValues") or {}).get(DEFAULT_LATEST):
            flt["defaultDataMask"] = _latest_value_mask(client, flt, repo_filters)
        fixed += 1
    meta["global_chart_configuration"] = {
        **(meta.get("global_chart_configuration") or {"scope": {"rootPath": ["ROOT_ID"], "excluded": []}}),
        "chartsInScope": in_dashboard,
    }
    meta["chart_configuration"] = {
        str(cid): {"id": cid, "crossFilters": {"scope": "global", "chartsInScope": [c for c in in_dashboard if c != cid]}}
        for cid in in_dashboard
    }
    client.put(f"/api/v1/dashboard/{dash_id}", {"json_metadata": json.dumps(meta)})
    return fixed


def _latest_value_mask(client: SupersetClient, flt: dict[str, Any], repo_filters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Default value = the greatest value of the filter's column (e.g. the latest period label),
    restricted by the column values the filter's DEFAULT_LATEST names and by the defaults of its
    cascade parents. Superset's own «default to first item»
    shows the value but does not apply it to the charts on first load (6.1), hence this."""
    target = flt["targets"][0]
    column = target["column"]["name"]
    filters = []
    # {"period_grain": "year"}: the latest value among the rows with these column values
    only = (flt.get("controlValues") or {}).get(DEFAULT_LATEST)
    if isinstance(only, dict):
        filters += [{"col": col, "op": "==", "val": val} for col, val in only.items()]
    for parent_id in flt.get("cascadeParentIds") or []:
        parent = repo_filters.get(parent_id) or {}
        for f in ((parent.get("defaultDataMask") or {}).get("extraFormData") or {}).get("filters") or []:
            filters.append({"col": f["col"], "op": f["op"], "val": f["val"]})
    payload = {
        "datasource": {"id": target["datasetId"], "type": "table"},
        "queries": [{"columns": [column], "metrics": [], "filters": filters, "orderby": [[column, False]], "row_limit": 1}],
        "result_format": "json",
        "result_type": "full",
    }
    rows = client.post("/api/v1/chart/data", payload)["result"][0]["data"]
    if not rows:
        return {"extraFormData": {}, "filterState": {}, "ownState": {}}
    value = [rows[0][column]]
    return {"extraFormData": {"filters": [{"col": column, "op": "IN", "val": value}]}, "filterState": {"value": value}, "ownState": {}}


def export_assets(base_url: str, user: str, password: str, out_dir: Path) -> list[Path]:
    """Export everything on Superset into ``out_dir`` in the committed form; returns files written.

    Files already in ``out_dir`` keep their names (matched by UUID) so diffs stay small; files
    whose UUID is no longer exported are removed.
    """
    out_dir = Path(out_dir)
    client = SupersetClient(base_url, user, password)
    resp = client.request("GET", "/api/v1/assets/export/")
    exported: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        for name in zf.namelist():
            rel = name.split("/", 1)[1]
            if rel.endswith(".yaml"):
                exported[rel] = yaml.safe_load(zf.read(name))
    charts = client.list_all("chart", ["id", "uuid"])
    chart_uuid_by_id = {c["id"]: str(c["uuid"]) for c in charts}

    existing: dict[str, Path] = {}
    if out_dir.exists():
        for kind in ASSET_DIRS:
            for path in (out_dir / kind).rglob("*.yaml"):
                try:
                    existing[str(yaml.safe_load(path.read_text(encoding="utf-8"))["uuid"])] = path
                except (yaml.YAMLError, KeyError, TypeError):
                    continue

    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    meta_path = out_dir / "metadata.yaml"
    meta_path.write_text(dump_yaml({"version": exported["metadata.yaml"]["version"], "type": "assets"}), encoding="utf-8")
    written.append(meta_path)
    for rel, cfg in sorted(exported.items()):
        kind = rel.split("/", 1)[0]
        if kind == "databases":
            norm, name = normalize_database(cfg), cfg["database_name"]
        elif kind == "datasets":
            norm, name = normalize_dataset(cfg), cfg["table_name"]
        elif kind == "charts":
            norm, name = normalize_chart(cfg), cfg["slice_name"]
        elif kind == "dashboards":
            norm, name = normalize_dashboard(cfg, chart_uuid_by_id), cfg["dashboard_title"]
        else:
            continue
        path = existing.get(str(cfg["uuid"])) or out_dir / kind / f"{slugify(name)}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(norm), encoding="utf-8")
        written.append(path)
    keep = set(written)
    for path in existing.values():
        if path not in keep:
            path.unlink()
    return written


def create_roles_and_users(*args: Any, **kwargs: Any) -> Any:
    """See hc_superset.security.create_roles_and_users."""
    from hc_superset.security import create_roles_and_users as impl

    return impl(*args, **kwargs)
