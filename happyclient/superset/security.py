"""Roles, users and row-level security for the executive panel, from Bitrix24 users in the warehouse.

Roles (each = Superset's «Gamma» permissions + access to the «Happy Client» database):
- «Коммерческий директор»: every row (head of the root department, or listed explicitly);
- «Руководитель отдела»: rows of the own department (head of a non-root department);
- «Менеджер»: rows of the own clients (everyone else).

Users are named ``b24_<Bitrix24 user id>``; RLS clauses are Jinja templates on
``current_username()`` (ENABLE_TEMPLATE_PROCESSING is on in superset_config.py), so one rule per
role covers every user and stays correct when people move between departments (the warehouse
decides, the rules don't change). Rules apply to the datasets that have the column: a dataset
without ``manager_id`` (e.g. КБ by region, aggregated by region) is not restricted by the
«Менеджер» rule, and one without ``department_id`` not by the «Руководитель отдела» rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from happyclient.redact import redact, register_secret
from happyclient.superset.client import SupersetClient, _rison

ROLE_DIRECTOR = "Коммерческий директор"
ROLE_DEPARTMENT_HEAD = "Руководитель отдела"
ROLE_MANAGER = "Менеджер"
USERNAME_PREFIX = "b24_"
DATABASE_NAME = "Happy Client"

_USER = "'{{ current_username() | replace('" + USERNAME_PREFIX + "', '', 1) }}'"
RLS_CLAUSES: dict[str, tuple[str, str]] = {
    # role -> (column the dataset must have, clause)
    ROLE_MANAGER: ("manager_id", f"manager_id = {_USER}"),
    ROLE_DEPARTMENT_HEAD: (
        "department_id",
        f"department_id in (select d.department_id from marts.dim_departments as d where d.head_user_id = {_USER})",
    ),
}


@dataclass
class WarehouseUser:
    manager_id: str
    manager_name: str
    department_id: str | None
    email: str | None
    role: str

    @property
    def username(self) -> str:
        return f"{USERNAME_PREFIX}{self.manager_id}"


@dataclass
class SecurityReport:
    roles: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # username -> role
    rls_rules: dict[str, list[str]] = field(default_factory=dict)  # role -> dataset table names


def read_warehouse_users(warehouse_url: str, directors: set[str] | None = None) -> list[WarehouseUser]:
    """Managers from marts.dim_managers (+ marts.dim_departments for heads); falls back to the
    raw Bitrix24 users (raw.bitrix24__users payload) when the marts are not built yet."""
    directors = directors or set()
    with psycopg.connect(warehouse_url) as conn:
        has_marts = conn.execute("select to_regclass('marts.dim_managers') is not null").fetchone()[0]
        has_depts = conn.execute("select to_regclass('marts.dim_departments') is not null").fetchone()[0]
        if has_marts:
            rows = conn.execute("select manager_id::text, manager_name, department_id::text, email from marts.dim_managers order by manager_id").fetchall()
        else:
            has_raw = conn.execute("select to_regclass('raw.bitrix24__users') is not null").fetchone()[0]
            if not has_raw:
                raise LookupError(
                    redact(f"{warehouse_url}: neither marts.dim_managers nor raw.bitrix24__users exists; run the pipeline first")
                )
            rows = conn.execute(
                sql.SQL(
                    "select payload->>'ID', trim(coalesce(payload->>'LAST_NAME', '') || ' ' || coalesce(payload->>'NAME', '')),"
                    " payload->'UF_DEPARTMENT'->>0, payload->>'EMAIL' from raw.bitrix24__users where _deleted_at is null order by 1"
                )
            ).fetchall()
        heads: dict[str, bool] = {}
        if has_depts:
            for head, is_root in conn.execute("select head_user_id::text, is_root from marts.dim_departments where head_user_id is not null"):
                heads[head] = heads.get(head, False) or bool(is_root)
    users = []
    for manager_id, name, department_id, email in rows:
        if manager_id in directors or heads.get(manager_id):
            role = ROLE_DIRECTOR
        elif manager_id in heads:
            role = ROLE_DEPARTMENT_HEAD
        else:
            role = ROLE_MANAGER
        users.append(WarehouseUser(manager_id, name or f"Пользователь {manager_id}", department_id, email, role))
    return users


def _ensure_role(client: SupersetClient, name: str, roles: dict[str, int]) -> int:
    if name not in roles:
        roles[name] = client.post("/api/v1/security/roles/", {"name": name})["id"]
    return roles[name]


def create_roles_and_users(
    base_url: str,
    user: str,
    password: str,
    warehouse_url: str,
    *,
    user_password: str,
    directors: set[str] | None = None,
) -> SecurityReport:
    """Create/refresh the three roles, one Superset user per Bitrix24 manager, and RLS rules.

    ``user_password`` is the initial password of created users (existing users keep theirs).
    Idempotent: rerunning updates role membership and rules instead of duplicating them.
    """
    register_secret(user_password)
    client = SupersetClient(base_url, user, password)
    report = SecurityReport()
    roles = {r["name"]: r["id"] for r in client.get("/api/v1/security/roles/", params={"q": _rison({"page_size": 100})})["result"]}
    gamma_perms = [p["id"] for p in client.get(f"/api/v1/security/roles/{roles['Gamma']}/permissions/")["result"]]
    db_perm = _database_access_permission(client)
    for role in (ROLE_DIRECTOR, ROLE_DEPARTMENT_HEAD, ROLE_MANAGER):
        role_id = _ensure_role(client, role, roles)
        client.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": sorted({*gamma_perms, db_perm})})
        report.roles[role] = role_id

    existing = _list_users(client)
    for wu in read_warehouse_users(warehouse_url, directors):
        last, _, first = wu.manager_name.partition(" ")
        body: dict[str, Any] = {
            "first_name": first or wu.manager_name,
            "last_name": last or wu.manager_name,
            "email": wu.email or f"{wu.username}@happyclient.local",
            "active": True,
            "roles": [report.roles[wu.role]],
        }
        if wu.username in existing:
            client.put(f"/api/v1/security/users/{existing[wu.username]['id']}", body)
        else:
            client.post("/api/v1/security/users/", {**body, "username": wu.username, "password": user_password})
        report.users[wu.username] = wu.role

    datasets = client.list_all("dataset", ["id", "table_name", "database.database_name"])
    ours = [d for d in datasets if d["database"]["database_name"] == DATABASE_NAME]
    columns_by_dataset = {d["id"]: {c["column_name"] for c in client.get(f"/api/v1/dataset/{d['id']}")["result"]["columns"]} for d in ours}
    rules = {r["name"]: r["id"] for r in client.list_all("rowlevelsecurity", ["id", "name"])}
    for role, (column, clause) in RLS_CLAUSES.items():
        tables = [d for d in ours if column in columns_by_dataset[d["id"]]]
        name = f"happyclient: {role}"
        body = {
            "name": name,
            "description": f"{role}: только свои строки (по {column})",
            "filter_type": "Regular",
            "tables": [d["id"] for d in tables],
            "roles": [report.roles[role]],
            "clause": clause,
            "group_key": "",
        }
        if name in rules:
            client.put(f"/api/v1/rowlevelsecurity/{rules[name]}", body)
        else:
            client.post("/api/v1/rowlevelsecurity/", body)
        report.rls_rules[role] = sorted(d["table_name"] for d in tables)
    return report


def _list_users(client: SupersetClient) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    page = 0
    while True:
        data = client.get("/api/v1/security/users/", params={"q": _rison({"page": page, "page_size": 100})})
        for u in data["result"]:
            out[u["username"]] = u
        if len(out) >= data["count"] or not data["result"]:
            return out
        page += 1


def _database_access_permission(client: SupersetClient) -> int:
    page = 0
    while True:
        data = client.get("/api/v1/security/permissions-resources/", params={"q": _rison({"page": page, "page_size": 100})})
        for pv in data["result"]:
            if pv["permission"]["name"] == "database_access" and pv["view_menu"]["name"].startswith(f"[{DATABASE_NAME}]"):
                return pv["id"]
        if (page + 1) * 100 >= data["count"]:
            raise LookupError(f"Superset has no database_access permission for «{DATABASE_NAME}»; import the assets first")
        page += 1
