"""Superset on the ClickHouse connection: the same datasets, metrics and charts as on Postgres.

The demo-sized test dataset is built twice (tests/clickhouse/conftest.py: chDB through the dbt
test shim, Postgres with dbt). A real Superset (its own server, not the session's shared one)
imports the committed assets twice through `hc_superset.sync.import_assets`: once with the Postgres
WAREHOUSE_URL, once with `chdb:///<copy of the chDB directory>`, which makes the «Happy Client»
database a ClickHouse connection (`clickhousedb://…?interface=chdb&path=…`, clickhouse-connect's
dialect, ClickHouse engine spec; chDB runs inside Superset's one web process, the only process
that opens that copy). Every chart of «Панель руководителя» is asked for its data through the
chart-data API, with the dashboard's default filters, on each connection: the rows must be equal
(numbers within 1e-6 relative). Then headless Chromium renders the dashboard on ClickHouse and no
chart may show an error.

chDB cannot prove what a ClickHouse server adds: the HTTP protocol and its users, settings
profiles and TLS (the connection URL for those is built by `clickhouse_sqlalchemy_uri`, unit
tested), nor row-level security (not ported: superset_config.py refuses restricted users on a
ClickHouse database, checked below through the chart-data API).
"""
from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hc_superset.assets import chart_uuids_in_position, read_assets
from hc_superset.client import SupersetClient
from hc_superset.server import SupersetServer
from hc_superset.sync import ImportReport, import_assets, warehouse_sqlalchemy_uri
from tests.superset.harness import ADMIN_PASSWORD, ADMIN_USER, ASSETS_DIR, PROJECT_ROOT, TEMPLATE_DIR, free_port

# two dbt builds (the session fixtures) and a Superset start: past the suite's 1200 s on a busy machine
pytestmark = [pytest.mark.clickhouse, pytest.mark.slow, pytest.mark.timeout(3600)]
pytest.importorskip("chdb")

SUPERSET_PYTHON = PROJECT_ROOT / ".venv-superset" / "bin" / "python"
PIP_LINE = (".venv-superset/bin/pip install clickhouse-connect==1.12.0 chdb==4.4.0"
            "  (clickhouse-connect 1.12 and chdb 4.4 for Superset)")
PANEL = "Панель руководителя"
FILES = read_assets(ASSETS_DIR)
DASHBOARD = next(c for p, c in FILES.items() if p.startswith("dashboards/") and c["dashboard_title"] == PANEL)
CHARTS = {c["uuid"]: c for p, c in FILES.items() if p.startswith("charts/")}
PANEL_CHARTS = chart_uuids_in_position(DASHBOARD["position"])
TOLERANCE = 1e-6


def test_clickhouse_urls_become_superset_clickhouse_connections() -> None:
    assert warehouse_sqlalchemy_uri("chdb:///tmp/wh dir") == (
        "clickhousedb://default@localhost/marts?interface=chdb&path=/tmp/wh%20dir", None)
    assert warehouse_sqlalchemy_uri("clickhouse://hc:p%40ss@ch.local:8123/") == (
        "clickhousedb://hc:XXXXXXXXXX@ch.local:8123/marts", "p@ss")
    assert warehouse_sqlalchemy_uri("clickhouses://ch.local/") == ("clickhousedb://default@ch.local:8443/marts?secure=true", None)
    assert warehouse_sqlalchemy_uri("postgresql://postgres@127.0.0.1:5432/wh")[0].startswith("postgresql+psycopg2://")


def test_metric_sql_for_clickhouse_qualifies_columns_but_not_strings_or_functions() -> None:
    from hc_superset.metrics import for_clickhouse

    columns = {"clients", "dimension_type", "company", "is_done"}
    assert for_clickhouse("SUM(CASE WHEN dimension_type = 'company' THEN clients END)", "summary", columns) == (
        "SUM(CASE WHEN summary.dimension_type = 'company' THEN summary.clients END)")
    assert for_clickhouse("SUM(case when is_done then 1 else 0 end) * 1.0 / NULLIF(COUNT(clients), 0)", "k", columns) == (
        "SUM(case when k.is_done then 1 else 0 end) * 1.0 / NULLIF(COUNT(k.clients), 0)")
    assert for_clickhouse("MAX(clients_previous)", "s", columns) == "MAX(clients_previous)"  # not a column here


@pytest.fixture(scope="module")
def superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SupersetServer, SupersetClient]]:
    """A fresh Superset of its own (the session's shared one keeps its Postgres database)."""
    if not SUPERSET_PYTHON.exists():
        pytest.skip("Superset virtualenv .venv-superset is missing (see superset/requirements.txt)")
    probe = subprocess.run([str(SUPERSET_PYTHON), "-c", "import clickhouse_connect, chdb"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"clickhouse-connect/chdb missing in .venv-superset: {PIP_LINE}")
    template = SupersetServer(TEMPLATE_DIR)
    template.init(ADMIN_USER, ADMIN_PASSWORD)
    data_dir = tmp_path_factory.mktemp("superset_ch")
    for name in ("superset.db", "secret_key", "init.stamp"):
        shutil.copy2(TEMPLATE_DIR / name, data_dir / name)
    server = SupersetServer(data_dir, port=free_port(), workers=1)  # one web process: chDB's directory is its alone
    server.init(ADMIN_USER, ADMIN_PASSWORD)
    server.start()
    try:
        yield server, SupersetClient(server.url, ADMIN_USER, ADMIN_PASSWORD)
    finally:
        server.stop()


def _normal(value: object) -> object:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))
    return a == b


def _sorted_rows(rows: list[dict]) -> list[tuple]:
    normal = [tuple(sorted((k, _normal(v)) for k, v in row.items())) for row in rows]
    return sorted(normal, key=lambda r: [(str(v) if not isinstance(v, float) else f"{v:.4f}") for _, v in r])


def _panel_data(server: SupersetServer, client: SupersetClient, report: ImportReport) -> dict[str, dict]:
    """Per chart of the panel: its query (as the dashboard opens it) and result, via the chart-data API."""
    from bench.dashboards.chart_latency import chart_query, default_filters

    meta = json.loads(client.get(f"/api/v1/dashboard/{report.dashboard_ids[PANEL]}")["result"]["json_metadata"] or "{}")
    out = {}
    for uuid in PANEL_CHARTS:
        cfg = CHARTS[uuid]
        query = chart_query(cfg["params"])
        query["filters"] += default_filters(meta, report.chart_ids[uuid])
        payload = {"datasource": {"id": report.dataset_ids[cfg["dataset_uuid"]], "type": "table"}, "queries": [query],
                   "force": True, "result_format": "json", "result_type": "full"}
        result = client.post("/api/v1/chart/data", payload)["result"][0]
        out[cfg["slice_name"]] = {"filters": query["filters"], "rows": result["data"], "query": result.get("query")}
    return out


@pytest.fixture(scope="module")
def panels(superset: tuple[SupersetServer, SupersetClient], chdb_build: tuple[Path, subprocess.CompletedProcess[str]],
           postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The panel's chart data on Postgres, then on ClickHouse (same Superset database, re-imported)."""
    server, client = superset
    path, built = chdb_build
    assert built.returncode == 0, built.stdout[-3000:]
    copy = tmp_path_factory.mktemp("superset_chdb") / "chdb"
    shutil.copytree(path, copy)  # Superset's process gets a directory no other process opens
    on_postgres = import_assets(server.url, ADMIN_USER, ADMIN_PASSWORD, ASSETS_DIR, postgres_url)
    postgres = _panel_data(server, client, on_postgres)
    on_clickhouse = import_assets(server.url, ADMIN_USER, ADMIN_PASSWORD, ASSETS_DIR, f"chdb://{copy}")
    warehouse_uuid = next(c["uuid"] for p, c in FILES.items() if p.startswith("databases/"))
    database = next(d for d in client.list_all("database", ["id", "uuid", "backend", "database_name"])
                    if str(d["uuid"]) == warehouse_uuid)
    clickhouse = _panel_data(server, client, on_clickhouse)
    return {"postgres": postgres, "clickhouse": clickhouse, "database": database, "report": on_clickhouse,
            "server": server, "client": client}


def test_the_warehouse_database_is_a_clickhouse_connection(panels: dict) -> None:
    database = panels["database"]
    assert database["backend"] == "clickhousedb", database
    assert database["database_name"] == "Happy Client"
    report: ImportReport = panels["report"]
    assert report.datasets == sum(p.startswith("datasets/") for p in FILES) and report.charts == len(CHARTS)


@pytest.mark.parametrize("chart", [CHARTS[u]["slice_name"] for u in PANEL_CHARTS])
def test_panel_chart_has_the_same_numbers_on_clickhouse(panels: dict, chart: str) -> None:
    postgres, clickhouse = panels["postgres"][chart], panels["clickhouse"][chart]
    assert postgres["filters"] == clickhouse["filters"], "the dashboard's default filters differ between the engines"
    assert postgres["rows"], f"{chart}: no rows on Postgres, nothing compared"
    pg, ch = _sorted_rows(postgres["rows"]), _sorted_rows(clickhouse["rows"])
    equal = len(pg) == len(ch) and all(
        [k for k, _ in a] == [k for k, _ in b] and all(_same(x, y) for (_, x), (_, y) in zip(a, b, strict=True))
        for a, b in zip(pg, ch, strict=True))
    assert equal, f"{chart}:\nPostgres {pg[:5]}\nClickHouse {ch[:5]}\nClickHouse SQL: {clickhouse['query']}"


def test_restricted_users_are_refused_on_clickhouse(panels: dict) -> None:
    """No row-level security on ClickHouse yet: a user who may read every dataset (Superset's Alpha)
    but is outside the all-rows roles gets an error, not rows; the admin got rows above."""
    client: SupersetClient = panels["client"]
    report: ImportReport = panels["report"]
    roles = {r["name"]: r["id"] for r in client.get("/api/v1/security/roles/?q=(page_size:100)")["result"]}
    client.post("/api/v1/security/users/", {"first_name": "A", "last_name": "Alpha", "username": "ch_alpha",
                                            "email": "ch_alpha@example.org", "password": "Alpha-Pa55-word",
                                            "active": True, "roles": [roles["Alpha"]]})
    from bench.dashboards.chart_latency import chart_query

    cfg = CHARTS[PANEL_CHARTS[0]]
    payload = {"datasource": {"id": report.dataset_ids[cfg["dataset_uuid"]], "type": "table"},
               "queries": [chart_query(cfg["params"])], "force": True, "result_format": "json", "result_type": "full"}
    assert client.post("/api/v1/chart/data", payload)["result"][0]["data"]  # the admin: rows
    alpha = SupersetClient(panels["server"].url, "ch_alpha", "Alpha-Pa55-word")
    response = alpha.request("POST", "/api/v1/chart/data", json=payload, expect=(200, 400, 403, 422, 500))
    assert response.status_code >= 400 and '"data"' not in response.text, response.text[:500]
    # a non-admin sees a generic message (superset_config.py); the reason is in Superset's log
    log = panels["server"].log_path.read_text(encoding="utf-8", errors="replace")
    assert "row-level security is not available on a ClickHouse warehouse" in log


def test_panel_renders_on_clickhouse_without_chart_errors(panels: dict) -> None:
    from tests.browser.dashboard_page import login, make_driver, open_dashboard

    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        pytest.skip("headless Chromium is not installed")
    server: SupersetServer = panels["server"]
    report: ImportReport = panels["report"]
    driver = make_driver()
    try:
        login(driver, server.url, ADMIN_USER, ADMIN_PASSWORD)
        states = open_dashboard(driver, server.url, report.dashboard_ids[PANEL], len(PANEL_CHARTS))
    finally:
        driver.quit()
    assert len(states) == len(PANEL_CHARTS)
    errors = {s.id: s.error for s in states if s.error}
    assert not errors, f"charts with errors on «{PANEL}» over ClickHouse: {errors}"
