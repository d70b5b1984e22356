"""Row security on a ClickHouse warehouse (issue 13): the statements that would give Superset's
restricted users (managers, department heads) their rows only, as PostgreSQL's policies do
(hc_base/warehouse_access.py).

Generated here, **not yet run by any command and not proven on a ClickHouse server**: chDB (the
only ClickHouse the tests have) cannot create users or row policies and runs every query as its
one user (README «ClickHouse (in progress)»). What the tests prove: the statements below (unit
tests), and that the row conditions ``row_condition`` writes, put on chDB's own user as a row
policy from a users.xml, leave hand-written SQL over the built marts the user's rows only
(tests/clickhouse/test_row_policies_on_chdb.py). Until these statements are run and proven on a
server, superset_config.py keeps refusing restricted users on a ClickHouse warehouse.

Per warehouse, with ``<p>`` the prefix (default ``hc``), the same users as on PostgreSQL:

- ``<p>_superset``: the connection stored in Superset; a policy ``USING 0`` on every mart (no rows);
- ``<p>_all``: every row (``USING 1``); Admin and «Коммерческий директор»;
- ``<p>_u_<Bitrix24 user id>``: one per restricted user; on a table with ``manager_id`` the
  manager's rows (scope ``manager``), with ``department_id`` the rows of the departments the user
  heads (scope ``department``, ids given by the caller from marts.dim_departments), else none.

Why every user gets a policy on every mart and SELECT only on the marts that have them: a
ClickHouse user to whom no row policy of a table applies reads all its rows
(``access_control_improvements.users_without_row_policies_can_read_rows``, on by default), so a
table without our policies must not be readable at all; ``GRANT SELECT ON marts.*`` would also
cover tables dbt adds later. Policies and grants are bound to the table's name, so a table dbt
rebuilds keeps them; a new mart is unreadable until the statements are run again. The statements
carry the password's SHA-256 only (``IDENTIFIED WITH sha256_hash``), never the password.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

MARTS = "marts"
SCOPES = ("manager", "department")
MANAGER_COLUMN = "manager_id"
DEPARTMENT_COLUMN = "department_id"
_USER_ID = re.compile(r"[0-9]{1,18}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,30}")


class ClickHouseAccessError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """A restricted Superset user: the Bitrix24 user id, the scope and (scope ``department``) the
    ids of the departments the user heads."""

    user_id: str
    scope: str
    department_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _USER_ID.fullmatch(self.user_id):
            raise ClickHouseAccessError(f"Bitrix24 user id {self.user_id!r} is not a number")
        if self.scope not in SCOPES:
            raise ClickHouseAccessError(f"unknown scope {self.scope!r} for Bitrix24 user {self.user_id}")


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def user_name(prefix: str, user_id: str) -> str:
    return f"{prefix}_u_{user_id}"


def row_condition(columns: Collection[str], principal: Principal) -> str:
    """The rows of one mart (its column names) ``principal`` may read, as a ClickHouse boolean
    expression; ``0`` (none) when the table has no column of the principal's scope. Ids compare as
    strings (``toString``), whatever the column's type; a NULL id matches nothing."""
    if principal.scope == "manager" and MANAGER_COLUMN in columns:
        return f"toString({MANAGER_COLUMN}) = {quote_string(principal.user_id)}"
    if principal.scope == "department" and DEPARTMENT_COLUMN in columns and principal.department_ids:
        ids = ", ".join(quote_string(d) for d in sorted(set(principal.department_ids)))
        return f"toString({DEPARTMENT_COLUMN}) IN ({ids})"
    return "0"


def _policy(name: str, table: str, condition: str, user: str) -> str:
    return (f"CREATE ROW POLICY OR REPLACE {quote_identifier(name)} ON {MARTS}.{quote_identifier(table)} "
            f"AS PERMISSIVE FOR SELECT USING {condition} TO {quote_identifier(user)}")


def access_statements(
    tables: Mapping[str, Collection[str]],
    principals: Iterable[Principal],
    password_sha256: str,
    *,
    prefix: str = "hc",
    stale_user_ids: Iterable[str] = (),
) -> list[str]:
    """The statements, in order, for the marts ``tables`` (name -> column names): users (created
    or replaced: no grant survives), then every user's policy on every mart, then SELECT on those
    marts; users of ``stale_user_ids`` (no longer restricted users) and their policies are dropped."""
    if not _PREFIX.fullmatch(prefix):
        raise ClickHouseAccessError(f"user prefix {prefix!r}: lower-case letters, digits and _ only")
    if not _SHA256_HEX.fullmatch(password_sha256):
        raise ClickHouseAccessError("password_sha256 must be the password's SHA-256 as 64 lower-case hex digits")
    wanted = {user_name(prefix, p.user_id): p for p in principals}
    superset, everything = f"{prefix}_superset", f"{prefix}_all"
    users = [superset, everything, *sorted(wanted)]
    out = [
        f"CREATE USER OR REPLACE {quote_identifier(u)} IDENTIFIED WITH sha256_hash BY {quote_string(password_sha256)}"
        f" DEFAULT DATABASE {MARTS} SETTINGS readonly = 2"
        for u in users
    ]
    for table in sorted(tables):
        columns = tables[table]
        out.append(_policy(f"{superset}_rows", table, "0", superset))
        out.append(_policy(f"{everything}_rows", table, "1", everything))
        out.extend(_policy(f"{u}_rows", table, row_condition(columns, p), u) for u, p in sorted(wanted.items()))
    out.extend(f"GRANT SELECT ON {MARTS}.{quote_identifier(t)} TO {', '.join(quote_identifier(u) for u in users)}"
               for t in sorted(tables))
    for user_id in sorted(set(stale_user_ids)):
        stale = user_name(prefix, user_id)
        if not _USER_ID.fullmatch(user_id) or stale in wanted:
            continue
        out.append(f"DROP USER IF EXISTS {quote_identifier(stale)}")
        out.extend(f"DROP ROW POLICY IF EXISTS {quote_identifier(stale + '_rows')} ON {MARTS}.{quote_identifier(t)}"
                   for t in sorted(tables))
    return out
