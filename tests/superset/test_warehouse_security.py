"""Issue 14, HIGH 1 / 3c / MEDIUM 10: the attacks of the security review, as each role.

Superset reads the warehouse through its own roles (hc_base.warehouse_access) under
PostgreSQL row-level security; restricted roles send no custom SQL and reach only the datasets
their rule restricts. Each attack is tried twice: through Superset's chart-data API exactly as
the review did, and straight in the warehouse as the user's login role (what any SQL reaching
the warehouse as that user gets, whatever Superset lets through).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hc_base.warehouse_access import Roles, role_prefix
from hc_superset.assets import read_assets
from hc_superset.client import SupersetApiError, SupersetClient
from hc_superset.security import (
    RESTRICTED_ROLES,
    ROLE_DEPARTMENT_HEAD,
    ROLE_DIRECTOR,
    ROLE_MANAGER,
    SecurityReport,
    _list_users,
)
from hc_superset.sync import ImportReport
from tests.superset.harness import ASSETS_DIR, USER_PASSWORD, RunningSuperset

TS_STAT_KPI = "(ts_stat('select to_tsvector(''simple'', ''m'' || manager_id::text) from marts.kpi_panel')).word"


def _as_role(warehouse_url: str, role: str) -> str:
    """The warehouse URL with another login role (the test server trusts local logins; the
    product's roles have a generated password)."""
    parts = urlsplit(warehouse_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{role}@{host}", parts.path, parts.query, ""))


def _roles(warehouse_url: str) -> Roles:
    return Roles(role_prefix(urlsplit(warehouse_url).path.lstrip("/")))


def _user(security: SecurityReport, role: str) -> str:
    return sorted(u for u, r in security.users.items() if r == role)[0]


def _visible_manager_ids(warehouse_url: str, user_id: str, role: str) -> set[str]:
    with psycopg.connect(warehouse_url) as conn:
        if role == ROLE_MANAGER:
            return {user_id}
        if role == ROLE_DEPARTMENT_HEAD:
            sql = (
                "select distinct manager_id::text from marts.kpi_panel where manager_id is not null and department_id in"
                " (select department_id from marts.dim_departments where head_user_id::text = %s)"
            )
            return {r[0] for r in conn.execute(sql, (user_id,))}
        return {r[0] for r in conn.execute("select distinct manager_id::text from marts.kpi_panel where manager_id is not null")}


def _first_column(table: str) -> str:
    files = read_assets(ASSETS_DIR)
    return next(c["columns"][0]["column_name"] for p, c in files.items() if p.startswith("datasets/") and c["table_name"] == table)


def _dataset_ids(imported: ImportReport) -> dict[str, int]:
    files = read_assets(ASSETS_DIR)
    return {c["table_name"]: imported.dataset_ids[c["uuid"]] for p, c in files.items() if p.startswith("datasets/")}


def _chart_data(client: SupersetClient, dataset_id: int, query: dict, result_format: str = "json", result_type: str = "full"):
    payload = {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [{"filters": [], "row_limit": 10000, **query}],
        "result_format": result_format,
        "result_type": result_type,
    }
    return client.request("POST", "/api/v1/chart/data", json=payload, expect=(200, 400, 403, 404, 422, 500))


# ------------------------------------------------------------------------------ in the warehouse
@pytest.mark.parametrize("role", [ROLE_MANAGER, ROLE_DEPARTMENT_HEAD])
def test_warehouse_role_of_a_user_sees_only_its_rows_whatever_the_sql(role: str, security: SecurityReport, warehouse_url: str) -> None:
    username = _user(security, role)
    user_id = username.removeprefix("b24_")
    wh_role = security.warehouse_roles[username]
    assert wh_role == _roles(warehouse_url).user(user_id)
    expected = _visible_manager_ids(warehouse_url, user_id, role)
    with psycopg.connect(_as_role(warehouse_url, wh_role), autocommit=True) as conn:
        assert conn.execute("select session_user").fetchone()[0] == wh_role
        # a function that runs its own query: the policy applies inside it too
        words = {r[0] for r in conn.execute(f"select {TS_STAT_KPI}")}
        assert words == {f"m{m}" for m in expected}
        others = conn.execute("select count(*) from marts.overdue_clients where manager_id::text <> all(%s)", (sorted(expected),)).fetchone()[0]
        assert others == 0
        # client-level rows without a manager, and company-wide tables: nothing for restricted users
        assert conn.execute("select count(*) from marts.dq_unmatched_clients").fetchone()[0] == 0
        assert conn.execute("select count(*) from marts.top_clients_share").fetchone()[0] == 0
        # setting a variable changes nothing: the policy is keyed to the login role
        conn.execute("select set_config('happyclient.user', '1', false)")
        assert {r[0] for r in conn.execute(f"select {TS_STAT_KPI}")} == words
    with psycopg.connect(owner := warehouse_url) as conn:
        assert conn.execute("select count(*) from marts.dq_unmatched_clients").fetchone()[0] > 0, owner  # the owner sees them


REFUSED = [
    "select count(*) from raw.bitrix24__deals",
    "select count(*) from staging.stg_bitrix24__deals",
    "select count(*) from ingest_state.loads",
    "select pg_read_file('/etc/hostname')",
    "select pg_read_binary_file('/etc/passwd')",
    "select pg_ls_dir('.')",
    "select pg_reload_conf()",
    "select pg_stat_file('/etc/passwd')",
    "select lo_import('/etc/passwd')",
    "select count(*) from happyclient_rls.principals",
    "select value from happyclient_rls.settings",
    "select happyclient_rls.secure_table('marts.kpi_panel'::regclass)",
    "create table marts.x (i int)",
    "create table public.x (i int)",
    "copy (select 1) to '/tmp/happyclient-x'",
    "alter table marts.kpi_panel disable row level security",
]


@pytest.mark.parametrize("role", [ROLE_MANAGER, ROLE_DEPARTMENT_HEAD, "all"])
def test_warehouse_roles_are_refused_files_other_schemas_and_admin_functions(role: str, security: SecurityReport, warehouse_url: str) -> None:
    roles = _roles(warehouse_url)
    wh_role = roles.all if role == "all" else security.warehouse_roles[_user(security, role)]
    with psycopg.connect(_as_role(warehouse_url, wh_role), autocommit=True) as conn:
        for statement in REFUSED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        with pytest.raises(psycopg.Error):
            conn.execute(f'set role "{roles.superset if role == "all" else roles.all}"')
        with pytest.raises(psycopg.Error):
            conn.execute("set session authorization postgres")
        attrs = conn.execute(
            "select rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication from pg_roles where rolname = session_user"
        ).fetchone()
        assert attrs == (False, False, False, False, False)
        member_of = {r[0] for r in conn.execute(
            "select b.rolname from pg_auth_members m join pg_roles b on b.oid = m.roleid join pg_roles u on u.oid = m.member"
            " where u.rolname = session_user")}
        assert member_of == {roles.reader}  # no pg_read_server_files, pg_signal_backend, ...
        assert conn.execute("show statement_timeout").fetchone()[0] == "2min"


def test_superset_connection_role_sees_no_rows(warehouse_url: str, imported: ImportReport) -> None:
    roles = _roles(warehouse_url)
    with psycopg.connect(_as_role(warehouse_url, roles.superset), autocommit=True) as conn:
        assert conn.execute("select count(*) from marts.kpi_panel").fetchone()[0] == 0
    with psycopg.connect(_as_role(warehouse_url, roles.all), autocommit=True) as conn:
        assert conn.execute("select count(*) from marts.kpi_panel").fetchone()[0] > 0


def test_a_rebuilt_mart_keeps_its_grant_and_policy(warehouse_url: str, security: SecurityReport) -> None:
    """dbt's post-hook secures the table in the transaction that builds it (as dbt's table
    materialization does: build under a temp name, rename, post-hook)."""
    username = _user(security, ROLE_MANAGER)
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("create table marts.sec_probe__tmp as select * from marts.kpi_panel")
        conn.execute("alter table marts.sec_probe__tmp rename to sec_probe")
        conn.execute("select happyclient_rls.secure_table('marts.sec_probe'::regclass)")
        conn.commit()
    try:
        with psycopg.connect(_as_role(warehouse_url, security.warehouse_roles[username]), autocommit=True) as conn:
            seen = {r[0] for r in conn.execute("select distinct manager_id::text from marts.sec_probe")}
        assert seen == {username.removeprefix("b24_")}
    finally:
        with psycopg.connect(warehouse_url, autocommit=True) as conn:
            conn.execute("drop table if exists marts.sec_probe")


# ------------------------------------------------------------------------------ through Superset
@pytest.mark.parametrize("role", [ROLE_MANAGER, ROLE_DEPARTMENT_HEAD])
def test_review_attacks_through_chart_data_are_refused(role: str, superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    username = _user(security, role)
    client = SupersetClient(superset.url, username, USER_PASSWORD)
    ids = _dataset_ids(imported)
    own = str(username.removeprefix("b24_"))
    attacks = [
        (ids["kpi_panel"], {"columns": [{"expressionType": "SQL", "label": "x", "sqlExpression": TS_STAT_KPI}], "metrics": []}, "json"),
        (ids["overdue_clients"], {"columns": [{"expressionType": "SQL", "label": "x", "sqlExpression":
            f"(ts_stat('select to_tsvector(''simple'', client_name || '' '' || inn) from marts.overdue_clients where manager_id<>''{own}''')).word"}],
            "metrics": []}, "csv"),
        (ids["kpi_panel"], {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": "max(pg_read_file('/etc/hostname'))"}]}, "json"),
        (ids["kpi_panel"], {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": "max(pg_ls_dir('.'))"}]}, "json"),
        (ids["kpi_panel"], {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": "max(pg_reload_conf()::text)"}]}, "json"),
        (ids["kpi_panel"], {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": "(select count(*) from raw.bitrix24__deals)"}]}, "json"),
        (ids["kpi_panel"], {"columns": ["manager_id"], "metrics": [], "extras": {"where": "1=1 or true"}}, "json"),
    ]
    for dataset_id, query, fmt in attacks:
        resp = _chart_data(client, dataset_id, query, fmt)
        assert resp.status_code in (400, 403), (query, resp.status_code, resp.text[:300])
        assert "<html" not in resp.text[:200].lower()
        assert "manager_id =" not in resp.text  # no generated SQL with the RLS predicate


def test_director_custom_sql_is_allowed_but_server_files_are_refused(superset: RunningSuperset, imported: ImportReport, security: SecurityReport, warehouse_url: str) -> None:
    client = SupersetClient(superset.url, _user(security, ROLE_DIRECTOR), USER_PASSWORD)
    ids = _dataset_ids(imported)
    resp = _chart_data(client, ids["kpi_panel"], {"columns": [{"expressionType": "SQL", "label": "x", "sqlExpression": TS_STAT_KPI}], "metrics": []})
    assert resp.status_code == 200, resp.text[:500]
    assert {r["x"] for r in resp.json()["result"][0]["data"]} == {f"m{m}" for m in _visible_manager_ids(warehouse_url, "", ROLE_DIRECTOR)}
    admin = SupersetClient(superset.url, superset.user, superset.password)
    hostname = Path("/etc/hostname").read_text().strip()
    for expression in ("max(pg_read_file('/etc/hostname'))", "max(pg_ls_dir('.'))", "max(pg_reload_conf()::text)"):
        for who in (client, admin):
            resp = _chart_data(who, ids["kpi_panel"], {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": expression}]})
            assert resp.status_code >= 400, (expression, resp.text[:300])
            assert hostname not in resp.text and "<html" not in resp.text[:200].lower()


def test_every_dataset_has_a_rule_or_is_denied_to_each_restricted_role(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    ids = _dataset_ids(imported)
    admin = SupersetClient(superset.url, superset.user, superset.password)
    rules = {r["name"]: r for r in admin.list_all("rowlevelsecurity", ["id", "name", "tables.table_name", "roles.name"])}
    for role in RESTRICTED_ROLES:
        rule = rules[f"happyclient: {role}"]
        with_rule = {t["table_name"] for t in rule["tables"]}
        assert set(security.datasets[role]) == with_rule, role  # readable exactly where a rule applies
        client = SupersetClient(superset.url, _user(security, role), USER_PASSWORD)
        for table, dataset_id in sorted(ids.items()):
            count = {"expressionType": "SIMPLE", "aggregate": "COUNT", "column": {"column_name": _first_column(table)}, "label": "n"}
            resp = _chart_data(client, dataset_id, {"columns": [], "metrics": [count]})
            if table in with_rule:
                assert resp.status_code == 200, (role, table, resp.text[:300])
            else:
                assert resp.status_code in (403, 404), (role, table, resp.status_code)
    assert "client_stability_summary" in security.rls_rules[ROLE_MANAGER]
    assert "dq_unmatched_clients" not in security.datasets[ROLE_MANAGER]
    assert "dq_unmatched_clients" not in security.datasets[ROLE_DEPARTMENT_HEAD]


def test_client_stability_summary_shows_a_manager_only_their_own_row(superset: RunningSuperset, imported: ImportReport, security: SecurityReport, warehouse_url: str) -> None:
    ids = _dataset_ids(imported)
    username = _user(security, ROLE_MANAGER)
    client = SupersetClient(superset.url, username, USER_PASSWORD)
    resp = _chart_data(client, ids["client_stability_summary"], {"columns": ["dimension_type", "dimension_value", "manager_id"], "metrics": []})
    assert resp.status_code == 200, resp.text[:300]
    rows = resp.json()["result"][0]["data"]
    assert rows and {(r["dimension_type"], r["manager_id"]) for r in rows} == {("manager", username.removeprefix("b24_"))}
    with psycopg.connect(warehouse_url) as conn:
        managers = conn.execute("select count(distinct dimension_value) from marts.client_stability_summary where dimension_type = 'manager'").fetchone()[0]
    assert managers > 1  # there were other managers' rows to hide


def test_rls_clause_quotes_the_username(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    evil = "b24_99' OR '1'='1"
    users = _list_users(admin)
    if evil not in users:
        admin.post("/api/v1/security/users/", {
            "username": evil, "first_name": "x", "last_name": "y", "email": "evil@happyclient.local", "active": True,
            "roles": [security.roles[ROLE_MANAGER]], "password": USER_PASSWORD,
        })
    try:
        client = SupersetClient(superset.url, evil, USER_PASSWORD)
        ids = _dataset_ids(imported)
        resp = _chart_data(client, ids["kpi_panel"], {"columns": ["manager_id"], "metrics": []}, result_type="query")
        assert resp.status_code == 200, resp.text[:300]
        query = resp.json()["result"][0]["query"]
        assert "manager_id = '99'' OR ''1''=''1'" in query, query
        resp = _chart_data(client, ids["kpi_panel"], {"columns": ["manager_id"], "metrics": []})
        assert resp.status_code == 200 and resp.json()["result"][0]["data"] == []
    finally:
        users = _list_users(admin)
        admin.delete(f"/api/v1/security/users/{users[evil]['id']}")


def test_restricted_roles_cannot_list_other_schemas(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    db_id = next(d["id"] for d in admin.list_all("database", ["id", "database_name"]) if d["database_name"] == "Happy Client")
    for role in RESTRICTED_ROLES:
        client = SupersetClient(superset.url, _user(security, role), USER_PASSWORD)
        resp = client.request("GET", f"/api/v1/database/{db_id}/schemas/", expect=(200, 403, 404))
        schemas = resp.json().get("result", []) if resp.status_code == 200 else []
        assert not {"raw", "ingest_state", "staging", "intermediate", "happyclient_rls"} & set(schemas), (role, schemas)
        for schema in ("raw", "ingest_state"):
            resp = client.request("GET", f"/api/v1/database/{db_id}/tables/?q=(schema_name:{schema})", expect=(200, 400, 403, 404))
            assert resp.status_code != 200 or resp.json().get("count", 0) == 0, (role, schema, resp.text[:200])


def test_dashboards_are_assigned_to_the_roles_that_can_read_them(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    admin = SupersetClient(superset.url, superset.user, superset.password)
    for title, dash_id in imported.dashboard_ids.items():
        dash = admin.get(f"/api/v1/dashboard/{dash_id}")["result"]
        assigned = {r["name"] for r in dash["roles"]}
        assert assigned == set(security.dashboards[title]), title
        assert ROLE_DIRECTOR in assigned
        used = {d["table_name"] for d in admin.get(f"/api/v1/dashboard/{dash_id}/datasets")["result"]}
        for role in RESTRICTED_ROLES:
            assert (role in assigned) == (used <= set(security.datasets[role])), (title, role)
    for role in RESTRICTED_ROLES:  # every role has at least one dashboard
        assert any(role in roles for roles in security.dashboards.values()), role
        client = SupersetClient(superset.url, _user(security, role), USER_PASSWORD)
        visible = {d["dashboard_title"] for d in client.list_all("dashboard", ["id", "dashboard_title"])}
        assert visible == {t for t, roles in security.dashboards.items() if role in roles}, role
    with pytest.raises(SupersetApiError):
        SupersetClient(superset.url, _user(security, ROLE_MANAGER), "wrong-password")


def test_a_failing_chart_query_shows_a_non_admin_a_generic_json_error(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    ids = _dataset_ids(imported)
    client = SupersetClient(superset.url, _user(security, ROLE_MANAGER), USER_PASSWORD)
    bad = {"columns": ["manager_id"], "metrics": [], "orderby": [["no_such_column", True]]}
    resp = _chart_data(client, ids["kpi_panel"], bad)
    assert resp.status_code == 400, resp.text[:300]
    body = resp.json()
    assert body["message"].startswith("Запрос не выполнен")
    assert "manager_id" not in resp.text and "select" not in resp.text.lower()
    admin = SupersetClient(superset.url, superset.user, superset.password)
    assert _chart_data(admin, ids["kpi_panel"], bad).status_code >= 400  # the admin keeps Superset's own message


def test_dbt_rebuild_keeps_the_mart_granted_and_under_its_policy(warehouse_url: str, security: SecurityReport) -> None:
    """A real `dbt run` of a mart: its post-hook grants and secures the new table."""
    import os
    import subprocess
    import sys

    from hc_base.settings import PROJECT_ROOT
    from hc_base.warehouse_url import dbt_env

    with psycopg.connect(warehouse_url) as conn:
        before = conn.execute("select oid from pg_class where oid = 'marts.client_stability_summary'::regclass").fetchone()[0]
    env = {**os.environ, **dbt_env(warehouse_url), "DBT_PROFILES_DIR": str(PROJECT_ROOT / "dbt_project")}
    dbt = str(Path(sys.executable).with_name("dbt"))
    proc = subprocess.run([dbt, "run", "--select", "client_stability_summary"], cwd=PROJECT_ROOT / "dbt_project", env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with psycopg.connect(warehouse_url) as conn:
        after, rls = conn.execute("select oid, relrowsecurity from pg_class where oid = 'marts.client_stability_summary'::regclass").fetchone()
    assert after != before and rls  # a new table, with row security on
    username = _user(security, ROLE_MANAGER)
    with psycopg.connect(_as_role(warehouse_url, security.warehouse_roles[username]), autocommit=True) as conn:
        seen = {r[0] for r in conn.execute("select distinct manager_id from marts.client_stability_summary")}
    assert seen == {username.removeprefix("b24_")}


def test_superset_stores_its_own_role_and_never_a_password(superset: RunningSuperset, imported: ImportReport, warehouse_url: str, tmp_path: Path) -> None:
    from hc_superset.sync import export_assets

    admin = SupersetClient(superset.url, superset.user, superset.password)
    db_id = next(d["id"] for d in admin.list_all("database", ["id", "database_name"]) if d["database_name"] == "Happy Client")
    uri = admin.get(f"/api/v1/database/{db_id}/connection")["result"]["sqlalchemy_uri"]
    assert urlsplit(uri).username == _roles(warehouse_url).superset
    with psycopg.connect(warehouse_url) as conn:
        password = conn.execute("select value from happyclient_rls.settings where key = 'superset_password'").fetchone()[0]
    export_assets(superset.url, superset.user, superset.password, tmp_path)
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.yaml"))
    assert password not in text and password not in uri


def test_a_subquery_in_custom_sql_is_a_json_400_for_everyone(superset: RunningSuperset, imported: ImportReport, security: SecurityReport) -> None:
    ids = _dataset_ids(imported)
    query = {"columns": [], "metrics": [{"expressionType": "SQL", "label": "f", "sqlExpression": "(select count(*) from marts.kpi_panel)"}]}
    for client in (SupersetClient(superset.url, superset.user, superset.password),
                   SupersetClient(superset.url, _user(security, ROLE_DIRECTOR), USER_PASSWORD),
                   SupersetClient(superset.url, _user(security, ROLE_MANAGER), USER_PASSWORD)):
        resp = _chart_data(client, ids["kpi_panel"], query)
        assert resp.status_code in (400, 403), (client.user, resp.status_code, resp.text[:300])
        assert resp.headers["Content-Type"].startswith("application/json")
