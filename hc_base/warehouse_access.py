"""Who may read the warehouse: Superset's own login roles and row-level security in PostgreSQL.

Superset never connects as the warehouse owner. Per warehouse database ``<db>`` the product keeps
these roles (``<p>`` = ``hc_<db>``, see ``role_prefix``):

- ``<p>_reader`` (no login): USAGE on ``marts`` and SELECT on its tables, nothing in ``raw``,
  ``ingest_state``, ``staging``, ``intermediate``, ``predictions``; EXECUTE on the three RLS
  functions below, nothing else of ours;
- ``<p>_superset`` (login, member of the reader): the connection stored in Superset. It sees
  **no rows**: used only for metadata and whenever Superset runs a query without a user;
- ``<p>_all`` (login): every row; Superset's Admin users and the «Коммерческий директор» role;
- ``<p>_u_<Bitrix24 user id>`` (login): one per Bitrix24 user of a restricted role, created by
  ``sync_principals`` (``happyclient superset users``).

superset_config.py's ``DB_CONNECTION_MUTATOR`` swaps ``<p>_superset`` for the role of the Superset
user who runs the query (same password). Every login role is NOSUPERUSER, NOCREATEROLE,
NOCREATEDB, NOBYPASSRLS, no ``pg_read_server_files``/``pg_signal_backend``/... membership and has a
statement timeout, so ``pg_read_file``, ``pg_ls_dir``, ``pg_reload_conf`` and the like are refused.

Row security is a PostgreSQL policy on every ``marts`` table (``happyclient_rls.secure_table``,
called by dbt's post-hook in the same transaction that builds the table, so a rebuilt table is
never readable without its policy). The policy is keyed to ``session_user`` (the login role,
which SQL cannot change: ``SET ROLE`` needs membership, ``SET SESSION AUTHORIZATION`` a superuser),
not to a setting a query could overwrite with ``set_config``:

- a table with ``manager_id``: rows of the user's own id (role «Менеджер»);
- a table with ``department_id``: rows of the departments the user heads (marts.dim_departments,
  role «Руководитель отдела»);
- a table with neither: no rows for restricted users (deny by default);
- scope ``all``: every row.

Functions that run their own query (``ts_stat``, ``query_to_xml``, ...) run it as the same role, so
the policy applies to them too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from hc_base.redact import redact, register_secret

RLS_SCHEMA = "happyclient_rls"
READ_SCHEMAS: tuple[str, ...] = ("marts",)
SCOPES = ("all", "department", "manager")
STATEMENT_TIMEOUT = "120s"
_USER_ID = re.compile(r"[0-9]{1,18}")


class WarehouseAccessError(RuntimeError):
    """The Superset roles could not be created or granted; the message says what to do."""


def role_prefix(dbname: str) -> str:
    """``hc_<db>`` (roles are cluster-wide; the prefix keeps two warehouses in one cluster apart)."""
    clean = re.sub(r"[^a-z0-9_]", "_", dbname.lower())
    if len(clean) > 30 or clean != dbname:
        clean = f"{clean[:22]}_{hashlib.sha256(dbname.encode()).hexdigest()[:6]}"
    return f"hc_{clean}"


@dataclass(frozen=True)
class Roles:
    prefix: str

    @property
    def reader(self) -> str:
        return f"{self.prefix}_reader"

    @property
    def superset(self) -> str:
        return f"{self.prefix}_superset"

    @property
    def all(self) -> str:
        return f"{self.prefix}_all"

    def user(self, user_id: str) -> str:
        if not _USER_ID.fullmatch(user_id):
            raise WarehouseAccessError(f"Bitrix24 user id {user_id!r} is not a number; no warehouse role is made for it")
        return f"{self.prefix}_u_{user_id}"


# The part every warehouse gets at start (ensure_schemas): needs no role privileges.
SETUP_SQL = f"""
create schema if not exists {RLS_SCHEMA};
revoke all on schema {RLS_SCHEMA} from public;
create table if not exists {RLS_SCHEMA}.principals (
    role_name name primary key,
    user_id text not null,
    scope text not null check (scope in ('all', 'department', 'manager'))
);
create table if not exists {RLS_SCHEMA}.settings (key text primary key, value text not null);
revoke all on {RLS_SCHEMA}.principals, {RLS_SCHEMA}.settings from public;

create or replace function {RLS_SCHEMA}.sees_all() returns boolean
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select exists (select 1 from {RLS_SCHEMA}.principals where role_name = session_user and scope = 'all')
$$;

create or replace function {RLS_SCHEMA}.visible_manager_ids() returns setof text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select user_id from {RLS_SCHEMA}.principals where role_name = session_user and scope = 'manager'
$$;

create or replace function {RLS_SCHEMA}.visible_department_ids() returns setof text
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
begin
    if to_regclass('marts.dim_departments') is null then
        return;
    end if;
    return query execute
        'select d.department_id::text from marts.dim_departments as d'
        ' join {RLS_SCHEMA}.principals as p on p.user_id = d.head_user_id::text'
        ' where p.role_name = session_user and p.scope = ''department''';
end
$$;

-- grants SELECT to the reader role and puts the row policy on one marts table (owner only)
create or replace function {RLS_SCHEMA}.secure_table(relation regclass) returns void
language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    reader text := (select value from {RLS_SCHEMA}.settings where key = 'reader_role');
    kind "char" := (select relkind from pg_class where oid = relation);
    predicate text := '(select {RLS_SCHEMA}.sees_all())';
begin
    if exists (select 1 from pg_attribute where attrelid = relation and attname = 'manager_id' and not attisdropped) then
        predicate := predicate || ' or manager_id::text in (select {RLS_SCHEMA}.visible_manager_ids())';
    end if;
    if exists (select 1 from pg_attribute where attrelid = relation and attname = 'department_id' and not attisdropped) then
        predicate := predicate || ' or department_id::text in (select {RLS_SCHEMA}.visible_department_ids())';
    end if;
    if kind in ('r', 'p') then
        execute format('alter table %s enable row level security', relation);
        execute format('drop policy if exists happyclient_rows on %s', relation);
        execute format('create policy happyclient_rows on %s for select using (%s)', relation, predicate);
    elsif kind in ('v', 'm') then
        -- a view reads its tables as the caller, so their (absent) grants and policies apply
        if kind = 'v' then
            execute format('alter view %s set (security_invoker = true)', relation);
        else
            return;  -- a materialized view cannot carry a policy: never granted
        end if;
    end if;
    if reader is not null and exists (select 1 from pg_roles where rolname = reader) then
        execute format('grant select on %s to %I', relation, reader);
    end if;
end
$$;
revoke all on function {RLS_SCHEMA}.secure_table(regclass) from public;
revoke all on function {RLS_SCHEMA}.sees_all(), {RLS_SCHEMA}.visible_manager_ids(),
    {RLS_SCHEMA}.visible_department_ids() from public;
"""


def setup_rls(conn: object, dbname: str) -> None:
    """Create the RLS schema, tables and functions (idempotent); ``conn`` is an autocommit psycopg
    connection of the warehouse owner."""
    roles = Roles(role_prefix(dbname))
    with conn.transaction():  # type: ignore[attr-defined]
        conn.execute("select pg_advisory_xact_lock(hashtext('happyclient_rls'))")  # type: ignore[attr-defined]
        conn.execute(SETUP_SQL)  # type: ignore[attr-defined]
        conn.execute(  # type: ignore[attr-defined]
            f"insert into {RLS_SCHEMA}.settings values ('reader_role', %s) on conflict (key) do update set value = excluded.value",
            (roles.reader,),
        )


def _login_role(conn: object, name: str, password: str, reader: str) -> None:
    from psycopg import sql

    exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()  # type: ignore[attr-defined]
    options = sql.SQL(
        "login inherit nosuperuser nocreatedb nocreaterole noreplication nobypassrls connection limit 50 password {}"
    ).format(sql.Literal(password))
    verb = "alter" if exists else "create"
    conn.execute(sql.SQL(verb + " role {} ").format(sql.Identifier(name)) + options)  # type: ignore[attr-defined]
    conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(reader), sql.Identifier(name)))  # type: ignore[attr-defined]
    conn.execute(  # type: ignore[attr-defined]
        sql.SQL("alter role {} set statement_timeout = {}").format(sql.Identifier(name), sql.Literal(STATEMENT_TIMEOUT))
    )


def _password(conn: object) -> str:
    row = conn.execute(f"select value from {RLS_SCHEMA}.settings where key = 'superset_password'").fetchone()  # type: ignore[attr-defined]
    if row:
        register_secret(row[0])
        return str(row[0])
    password = secrets.token_urlsafe(32)
    register_secret(password)
    conn.execute(f"insert into {RLS_SCHEMA}.settings values ('superset_password', %s)", (password,))  # type: ignore[attr-defined]
    return password


def ensure_access(owner_url: str) -> str:
    """Create/refresh the reader, ``_superset`` and ``_all`` roles and grant the marts tables;
    return the URL Superset connects with (``<p>_superset`` and its generated password)."""
    import psycopg
    from psycopg import sql

    from hc_base.warehouse_url import parse_url

    dbname = parse_url(owner_url).dbname
    roles = Roles(role_prefix(dbname))
    try:
        with psycopg.connect(owner_url, autocommit=True, connect_timeout=15) as conn:
            setup_rls(conn, dbname)
            with conn.transaction():
                conn.execute("select pg_advisory_xact_lock(hashtext('happyclient_rls'))")
                password = _password(conn)
                if not conn.execute("select 1 from pg_roles where rolname = %s", (roles.reader,)).fetchone():
                    conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(roles.reader)))
                conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(dbname), sql.Identifier(roles.reader)))
                conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(RLS_SCHEMA), sql.Identifier(roles.reader)))
                conn.execute(
                    sql.SQL(
                        "grant execute on function {s}.sees_all(), {s}.visible_manager_ids(), {s}.visible_department_ids() to {r}"
                    ).format(s=sql.Identifier(RLS_SCHEMA), r=sql.Identifier(roles.reader))
                )
                for schema in READ_SCHEMAS:
                    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
                    conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), sql.Identifier(roles.reader)))
                    for (oid,) in conn.execute(
                        "select c.oid::regclass::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                        " where n.nspname = %s and c.relkind in ('r', 'p', 'v')",
                        (schema,),
                    ).fetchall():
                        conn.execute(f"select {RLS_SCHEMA}.secure_table(%s::regclass)", (oid,))
                # the public schema: no object creation by anyone but the owner (PostgreSQL < 15 allowed it)
                conn.execute("revoke create on schema public from public")
                _login_role(conn, roles.superset, password, roles.reader)
                _login_role(conn, roles.all, password, roles.reader)
                conn.execute(
                    f"insert into {RLS_SCHEMA}.principals values (%s, '*', 'all') on conflict (role_name) do update set scope = 'all'",
                    (roles.all,),
                )
                conn.execute(f"delete from {RLS_SCHEMA}.principals where role_name = %s", (roles.superset,))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise WarehouseAccessError(
            f"cannot create Superset's warehouse roles in {redact(owner_url)}: {redact(exc)}; the WAREHOUSE_URL user "
            "must own the warehouse database and have CREATEROLE"
        ) from None
    except psycopg.OperationalError as exc:
        raise WarehouseAccessError(f"cannot connect to the warehouse {redact(owner_url)}: {redact(exc)}") from None
    return reader_url(owner_url, roles.superset, password)


def reader_url(owner_url: str, role: str, password: str) -> str:
    """``owner_url`` with the user and password replaced."""
    parts = urlsplit(owner_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sync_principals(owner_url: str, users: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Make one login role per (Bitrix24 user id, scope) and record its scope; users no longer
    listed lose their login and their scope. Returns user id -> role name."""
    import psycopg
    from psycopg import sql

    from hc_base.warehouse_url import parse_url

    ensure_access(owner_url)
    roles = Roles(role_prefix(parse_url(owner_url).dbname))
    wanted = {}
    for user_id, scope in users:
        if scope not in SCOPES:
            raise WarehouseAccessError(f"unknown scope {scope!r} for Bitrix24 user {user_id}")
        wanted[roles.user(user_id)] = (user_id, scope)
    with psycopg.connect(owner_url, autocommit=True, connect_timeout=15) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('happyclient_rls'))")
        password = _password(conn)
        for role, (user_id, scope) in wanted.items():
            _login_role(conn, role, password, roles.reader)
            conn.execute(
                f"insert into {RLS_SCHEMA}.principals values (%s, %s, %s)"
                " on conflict (role_name) do update set user_id = excluded.user_id, scope = excluded.scope",
                (role, user_id, scope),
            )
        stale = conn.execute(
            f"select role_name from {RLS_SCHEMA}.principals where role_name like %s and not (role_name = any(%s))",
            (f"{roles.prefix}\\_u\\_%", list(wanted)),
        ).fetchall()
        for (role,) in stale:
            conn.execute(f"delete from {RLS_SCHEMA}.principals where role_name = %s", (role,))
            conn.execute(sql.SQL("alter role {} nologin").format(sql.Identifier(role)))
    return {user_id: role for role, (user_id, _) in wanted.items()}
