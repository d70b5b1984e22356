"""Roles, users and row-level security for the executive panel, from Bitrix24 users in the warehouse.

Roles (each = Superset's «Gamma» permissions + access to the «Happy Client» database):
- «Коммерческий директор»: every row (head of the root department, or listed explicitly);
- «Руководитель отдела»: rows of the own department (head of a non-root department);
- «Менеджер»: rows of the own clients (everyone else).

Users are named ``b24_<Bitrix24 user id>``; RLS clauses are Jinja templates on
``current_username()`` (ENABLE_TEMPLATE_PROCESSING is on in superset_config.py), so one rule per
role covers every user and stays correct when people move between departments (the warehouse
decides, the rules don't change). The username is quoted with its single quotes doubled, so a
name like ``b24_99' OR '1'='1`` is one string literal.

Access is deny by default: the «Менеджер» role gets ``datasource_access`` only on the datasets
that have ``manager_id`` (its rule's column), the «Руководитель отдела» role only on those with
``department_id``; any other dataset (client lists without a manager, company-wide aggregates,
data-quality tables) is not reachable by them. Dashboards are assigned (DASHBOARD_RBAC) to the
roles that can read every dataset on them.

The same rows are enforced a second time in PostgreSQL (hc_base.warehouse_access): each user
gets a warehouse login role and the marts tables row-level security policies keyed to it, so SQL
that escapes Superset's wrapping (functions that run their own query) still sees only its rows.

New users get a random password each (``SecurityReport.initial_passwords``; the CLI writes them
once to a 0600 file) and the role «Смена пароля», which allows nothing but changing the password
(superset_config.py); the change removes the role.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import prison
import psycopg
from psycopg import sql

from hc_base.redact import redact, register_secret
from hc_superset.client import SupersetClient

ROLE_DIRECTOR = "Коммерческий директор"
ROLE_DEPARTMENT_HEAD = "Руководитель отдела"
ROLE_MANAGER = "Менеджер"
ROLE_MUST_CHANGE_PASSWORD = "Смена пароля"  # superset_config.py: only the password change is allowed
RESTRICTED_ROLES = (ROLE_DEPARTMENT_HEAD, ROLE_MANAGER)
USERNAME_PREFIX = "b24_"
DATABASE_NAME = "Happy Client"
# warehouse scope (hc_base.warehouse_access) of each restricted role
WAREHOUSE_SCOPES = {ROLE_MANAGER: "manager", ROLE_DEPARTMENT_HEAD: "department"}

# the username as one SQL string literal: quotes doubled (standard_conforming_strings is on)
_USER = "'{{ current_username() | replace(\"'\", \"''\") | replace('" + USERNAME_PREFIX + "', '', 1) }}'"
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
    datasets: dict[str, list[str]] = field(default_factory=dict)  # role -> table names it may read
    dashboards: dict[str, list[str]] = field(default_factory=dict)  # dashboard title -> roles
    initial_passwords: dict[str, str] = field(default_factory=dict, repr=False)  # new users only
    warehouse_roles: dict[str, str] = field(default_factory=dict)  # username -> warehouse login role

    def __str__(self) -> str:
        per_role: dict[str, int] = {}
        for role in self.users.values():
            per_role[role] = per_role.get(role, 0) + 1
        return (
            f"users: {len(self.users)} ({', '.join(f'{r}: {n}' for r, n in sorted(per_role.items()))}); "
            f"new: {len(self.initial_passwords)}; datasets per role: "
            + ", ".join(f"{r}: {len(t)}" for r, t in sorted(self.datasets.items()))
        )


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
    user_password: str | None = None,
    directors: set[str] | None = None,
) -> SecurityReport:
    """Create/refresh the three roles, one Superset user per Bitrix24 manager, RLS rules, dataset
    and dashboard access, and the users' warehouse login roles.

    New users get a random password each (``report.initial_passwords``) and the role «Смена
    пароля»; ``user_password`` gives them all that one password instead and no forced change
    (tests only). Existing users keep their password. Idempotent: rerunning updates role
    membership, permissions and rules instead of duplicating them.
    """
    from hc_base.warehouse_access import sync_principals

    if user_password:
        register_secret(user_password)
    client = SupersetClient(base_url, user, password)
    report = SecurityReport()
    roles = {r["name"]: r["id"] for r in client.get("/api/v1/security/roles/", params={"q": prison.dumps({"page_size": 100})})["result"]}
    gamma_perms = [p["id"] for p in client.get(f"/api/v1/security/roles/{roles['Gamma']}/permissions/")["result"]]
    perms = _permissions(client)
    db_perm = perms.get(("database_access", f"[{DATABASE_NAME}]"))
    if db_perm is None:
        raise LookupError(f"Superset has no database_access permission for «{DATABASE_NAME}»; import the assets first")

    datasets = client.list_all("dataset", ["id", "table_name", "database.database_name"])
    ours = [d for d in datasets if d["database"]["database_name"] == DATABASE_NAME]
    columns_by_dataset = {d["id"]: {c["column_name"] for c in client.get(f"/api/v1/dataset/{d['id']}")["result"]["columns"]} for d in ours}
    readable: dict[str, set[int]] = {ROLE_DIRECTOR: {d["id"] for d in ours}}
    for role, (column, _clause) in RLS_CLAUSES.items():
        readable[role] = {d["id"] for d in ours if column in columns_by_dataset[d["id"]]}
    for role in (ROLE_DIRECTOR, ROLE_DEPARTMENT_HEAD, ROLE_MANAGER):
        role_id = _ensure_role(client, role, roles)
        if role == ROLE_DIRECTOR:
            extra = {db_perm}
        else:  # deny by default: only the datasets its rule restricts
            extra = set()
            for d in ours:
                if d["id"] in readable[role]:
                    pv = perms.get(("datasource_access", f"[{DATABASE_NAME}].[{d['table_name']}](id:{d['id']})"))
                    if pv is None:
                        raise LookupError(f"Superset has no datasource_access permission for dataset {d['table_name']} (id {d['id']})")
                    extra.add(pv)
        client.post(f"/api/v1/security/roles/{role_id}/permissions", {"permission_view_menu_ids": sorted({*gamma_perms, *extra})})
        report.roles[role] = role_id
        report.datasets[role] = sorted(d["table_name"] for d in ours if d["id"] in readable[role])
    must_change = _ensure_role(client, ROLE_MUST_CHANGE_PASSWORD, roles)
    client.post(f"/api/v1/security/roles/{must_change}/permissions", {"permission_view_menu_ids": []})

    existing = _list_users(client)
    warehouse_users = read_warehouse_users(warehouse_url, directors)
    for wu in warehouse_users:
        last, _, first = wu.manager_name.partition(" ")
        body: dict[str, Any] = {
            "first_name": first or wu.manager_name,
            "last_name": last or wu.manager_name,
            "email": wu.email or f"{wu.username}@happyclient.local",
            "active": True,
            "roles": [report.roles[wu.role]],
        }
        if wu.username in existing:
            current = existing[wu.username]
            if any(r.get("name") == ROLE_MUST_CHANGE_PASSWORD for r in current.get("roles") or []):
                body["roles"].append(must_change)
            client.put(f"/api/v1/security/users/{current['id']}", body)
        else:
            initial = user_password or _random_password()
            register_secret(initial)
            if not user_password:
                body["roles"].append(must_change)
                report.initial_passwords[wu.username] = initial
            client.post("/api/v1/security/users/", {**body, "username": wu.username, "password": initial})
        report.users[wu.username] = wu.role

    # the same rows in the warehouse: one login role per restricted user
    restricted = [(wu.manager_id, WAREHOUSE_SCOPES[wu.role]) for wu in warehouse_users if wu.role in WAREHOUSE_SCOPES]
    made = sync_principals(warehouse_url, restricted)
    report.warehouse_roles = {f"{USERNAME_PREFIX}{uid}": role for uid, role in made.items()}

    rules = {r["name"]: r["id"] for r in client.list_all("rowlevelsecurity", ["id", "name"])}
    for role, (column, clause) in RLS_CLAUSES.items():
        tables = [d for d in ours if d["id"] in readable[role]]
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
    report.dashboards = assign_dashboards(client, report.roles, readable)
    return report


def assign_dashboards(client: SupersetClient, role_ids: dict[str, int], readable: dict[str, set[int]]) -> dict[str, list[str]]:
    """Give each dashboard (DASHBOARD_RBAC) the roles that can read every dataset on it."""
    out: dict[str, list[str]] = {}
    for dash in client.list_all("dashboard", ["id", "dashboard_title"]):
        used = {d["id"] for d in client.get(f"/api/v1/dashboard/{dash['id']}/datasets")["result"]}
        allowed = [role for role in (ROLE_DIRECTOR, ROLE_DEPARTMENT_HEAD, ROLE_MANAGER) if used <= readable.get(role, set())]
        client.put(f"/api/v1/dashboard/{dash['id']}", {"roles": [role_ids[r] for r in allowed]})
        out[dash["dashboard_title"]] = allowed
    return out


def _random_password() -> str:
    return secrets.token_urlsafe(15)


def _list_users(client: SupersetClient) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    page = 0
    while True:
        data = client.get("/api/v1/security/users/", params={"q": prison.dumps({"page": page, "page_size": 100})})
        for u in data["result"]:
            out[u["username"]] = u
        if len(out) >= data["count"] or not data["result"]:
            return out
        page += 1


def _permissions(client: SupersetClient) -> dict[tuple[str, str], int]:
    """(permission, view menu) -> permission-view id; database_access is keyed by «[name]» alone."""
    out: dict[tuple[str, str], int] = {}
    page = 0
    while True:
        data = client.get("/api/v1/security/permissions-resources/", params={"q": prison.dumps({"page": page, "page_size": 100})})
        for pv in data["result"]:
            name, view = pv["permission"]["name"], pv["view_menu"]["name"]
            if name == "database_access" and view.startswith("[") and "]" in view:
                view = view[: view.index("]") + 1]
            out[(name, view)] = pv["id"]
        if (page + 1) * 100 >= data["count"] or not data["result"]:
            return out
        page += 1
