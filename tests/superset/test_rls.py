"""RLS through the chart-data API: each role's user gets exactly their rows."""
from __future__ import annotations

import psycopg
import pytest

from hc_superset.client import SupersetClient
from hc_superset.security import (
    ROLE_DEPARTMENT_HEAD,
    ROLE_DIRECTOR,
    ROLE_MANAGER,
    SecurityReport,
    read_warehouse_users,
)
from hc_superset.sync import ImportReport, create_roles_and_users
from tests.superset.harness import USER_PASSWORD, RunningSuperset


def _kpi_dataset_id(imported: ImportReport, client: SupersetClient) -> int:
    rows = client.list_all("dataset", ["id", "table_name"])
    return next(r["id"] for r in rows if r["table_name"] == "kpi_panel")


def _rows_seen(superset: RunningSuperset, username: str, dataset_id: int) -> set[tuple[str, str]]:
    client = SupersetClient(superset.url, username, USER_PASSWORD)
    payload = {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [{"columns": ["manager_id", "department_id"], "metrics": [], "filters": [], "row_limit": 10000}],
        "result_format": "json",
        "result_type": "full",
    }
    data = client.post("/api/v1/chart/data", payload)["result"][0]["data"]
    return {(r["manager_id"], r["department_id"]) for r in data}


def _rows_expected(warehouse_url: str, manager_id: str, role: str) -> set[tuple[str, str]]:
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute("select distinct manager_id::text, department_id::text from marts.kpi_panel").fetchall()
        heads = conn.execute("select department_id::text from marts.dim_departments where head_user_id = %s", (manager_id,)).fetchall()
    if role == ROLE_MANAGER:
        return {r for r in rows if r[0] == manager_id}
    if role == ROLE_DEPARTMENT_HEAD:
        return {r for r in rows if r[1] in {h[0] for h in heads}}
    return set(rows)


def test_roles_follow_the_department_heads_in_the_warehouse(warehouse_url: str, security: SecurityReport) -> None:
    with psycopg.connect(warehouse_url) as conn:
        root_heads = {r[0] for r in conn.execute("select head_user_id::text from marts.dim_departments where is_root and head_user_id is not null")}
        heads = {r[0] for r in conn.execute("select head_user_id::text from marts.dim_departments where not is_root and head_user_id is not null")}
    for user in read_warehouse_users(warehouse_url):
        expected = ROLE_DIRECTOR if user.manager_id in root_heads else ROLE_DEPARTMENT_HEAD if user.manager_id in heads else ROLE_MANAGER
        assert security.users[user.username] == expected, user


@pytest.mark.parametrize("role", [ROLE_MANAGER, ROLE_DEPARTMENT_HEAD, ROLE_DIRECTOR])
def test_chart_data_api_returns_only_the_users_rows(role: str, superset: RunningSuperset, imported: ImportReport, security: SecurityReport, warehouse_url: str) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    dataset_id = _kpi_dataset_id(imported, admin)
    users = sorted(u for u, r in security.users.items() if r == role)
    assert users, f"no user with role {role}"
    for username in users:
        seen = _rows_seen(superset, username, dataset_id)
        expected = _rows_expected(warehouse_url, username.removeprefix("b24_"), role)
        assert seen == expected, f"{username} ({role})"
    everything = _rows_seen_admin(admin, dataset_id)
    if role != ROLE_DIRECTOR:
        assert seen < everything  # the rule really removed rows


def _rows_seen_admin(client: SupersetClient, dataset_id: int) -> set[tuple[str, str]]:
    payload = {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [{"columns": ["manager_id", "department_id"], "metrics": [], "filters": [], "row_limit": 10000}],
        "result_format": "json",
        "result_type": "full",
    }
    return {(r["manager_id"], r["department_id"]) for r in client.post("/api/v1/chart/data", payload)["result"][0]["data"]}


def test_create_roles_and_users_is_idempotent(superset: RunningSuperset, security: SecurityReport, warehouse_url: str) -> None:
    again = create_roles_and_users(superset.url, superset.user, superset.password, warehouse_url, user_password=USER_PASSWORD)
    assert again.roles == security.roles
    assert again.users == security.users
    admin = SupersetClient(superset.url, superset.user, superset.password)
    names = [r["name"] for r in admin.list_all("rowlevelsecurity", ["id", "name"])]
    assert len(names) == len(set(names)) == 2
