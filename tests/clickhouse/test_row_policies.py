"""Row security on ClickHouse (hc_base/clickhouse_access.py): the generated statements, and the
row conditions applied by ClickHouse's row-policy machinery on chDB.

What chDB can and cannot show (checked 2026-12-05 with chdb 4.4.0): its one user ``default`` has
no access management, and with a users.xml giving it that, ``CREATE USER`` fails ("no writeable
access storage in user directories": clickhouse-local keeps users in the users.xml only),
``EXECUTE AS`` is refused (impersonation stays disabled) and a ``user=`` connection parameter is
ignored (``currentUser()`` stays ``default``). So the DDL (CREATE USER / CREATE ROW POLICY /
GRANT, a query as another user) is checked here as text and by ClickHouse's parser only. What
chDB does run: a row policy on its own user from a users.xml (``<filter>``), the same mechanism a
``CREATE ROW POLICY`` creates; ``test_a_managers_hand_written_sql_sees_only_their_rows`` gives
the process user the conditions of one manager, then of one department head, on every mart of the
chDB build, and runs hand-written SQL (SQL Lab style) against them.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from hc_base.clickhouse_access import ClickHouseAccessError, Principal, access_statements, row_condition
from tests.clickhouse.conftest import missing

HASH = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"  # sha256("password")
TABLES = {
    "fct_sales_lines": {"manager_id", "department_id", "revenue"},
    "fct_nps_answers": {"department_id", "score"},
    "dim_calendar": {"date_day"},
}


def _need_chdb() -> None:
    try:
        import chdb  # noqa: F401
    except ImportError:
        missing("chdb is not installed in .venv")


def test_conditions_follow_the_postgres_policies() -> None:
    manager = Principal("17", "manager")
    head = Principal("5", "department", ("d2", "d1", "d2"))
    assert row_condition(TABLES["fct_sales_lines"], manager) == "toString(manager_id) = '17'"
    assert row_condition(TABLES["fct_nps_answers"], manager) == "0"  # no manager_id: no rows
    assert row_condition(TABLES["dim_calendar"], manager) == "0"  # neither column: deny by default
    assert row_condition(TABLES["fct_sales_lines"], head) == "toString(department_id) IN ('d1', 'd2')"
    assert row_condition(TABLES["fct_nps_answers"], head) == "toString(department_id) IN ('d1', 'd2')"
    assert row_condition(TABLES["dim_calendar"], head) == "0"
    assert row_condition(TABLES["fct_sales_lines"], Principal("6", "department")) == "0"  # heads nothing
    assert row_condition({"department_id"}, Principal("5", "department", ("o'k",))) == r"toString(department_id) IN ('o\'k')"


def test_bad_principals_and_arguments_are_refused() -> None:
    with pytest.raises(ClickHouseAccessError):
        Principal("17 OR 1", "manager")
    with pytest.raises(ClickHouseAccessError):
        Principal("17", "all")
    with pytest.raises(ClickHouseAccessError, match="SHA-256"):
        access_statements(TABLES, [], "password")
    with pytest.raises(ClickHouseAccessError, match="prefix"):
        access_statements(TABLES, [], HASH, prefix="hc; drop")


def test_statements_make_users_then_policies_then_grants() -> None:
    statements = access_statements(TABLES, [Principal("17", "manager"), Principal("5", "department", ("d1",))], HASH,
                                   stale_user_ids=["9", "17"])
    users = ["hc_superset", "hc_all", "hc_u_17", "hc_u_5"]
    creates = [s for s in statements if s.startswith("CREATE USER")]
    assert creates == [f"CREATE USER OR REPLACE `{u}` IDENTIFIED WITH sha256_hash BY '{HASH}' DEFAULT DATABASE marts"
                       " SETTINGS readonly = 2" for u in ["hc_superset", "hc_all", "hc_u_17", "hc_u_5"]]
    assert "password" not in " ".join(statements)  # the hash only
    policies = [s for s in statements if s.startswith("CREATE ROW POLICY")]
    assert len(policies) == len(TABLES) * len(users)  # every user, every mart: none reads a mart unfiltered
    assert ("CREATE ROW POLICY OR REPLACE `hc_u_17_rows` ON marts.`fct_sales_lines` AS PERMISSIVE FOR SELECT"
            " USING toString(manager_id) = '17' TO `hc_u_17`") in policies
    assert ("CREATE ROW POLICY OR REPLACE `hc_superset_rows` ON marts.`dim_calendar` AS PERMISSIVE FOR SELECT"
            " USING 0 TO `hc_superset`") in policies
    assert ("CREATE ROW POLICY OR REPLACE `hc_all_rows` ON marts.`dim_calendar` AS PERMISSIVE FOR SELECT"
            " USING 1 TO `hc_all`") in policies
    assert ("CREATE ROW POLICY OR REPLACE `hc_u_5_rows` ON marts.`fct_nps_answers` AS PERMISSIVE FOR SELECT"
            " USING toString(department_id) IN ('d1') TO `hc_u_5`") in policies
    grants = [s for s in statements if s.startswith("GRANT")]
    assert grants == [f"GRANT SELECT ON marts.`{t}` TO `hc_superset`, `hc_all`, `hc_u_17`, `hc_u_5`" for t in sorted(TABLES)]
    # order: a user is never granted a mart before its policy on it exists
    assert max(statements.index(p) for p in policies) < min(statements.index(g) for g in grants)
    assert max(statements.index(c) for c in creates) < min(statements.index(p) for p in policies)
    # the stale user 9 goes with its policies; 17 is still wanted and stays
    dropped = [s for s in statements if s.startswith("DROP")]
    assert dropped == ["DROP USER IF EXISTS `hc_u_9`"] + [
        f"DROP ROW POLICY IF EXISTS `hc_u_9_rows` ON marts.`{t}`" for t in sorted(TABLES)]


def test_statements_parse_in_clickhouse() -> None:
    """ClickHouse's own parser (formatQuery, chDB in a child process: one engine per process)."""
    _need_chdb()
    statements = access_statements(TABLES, [Principal("17", "manager"), Principal("5", "department", ("d1", "o'k"))],
                                   HASH, stale_user_ids=["9"])
    script = ("import json, sys, chdb\n"
              "out = []\n"
              "for s in json.load(sys.stdin):\n"
              "    lit = \"'\" + s.replace('\\\\', '\\\\\\\\').replace(\"'\", \"\\\\'\") + \"'\"\n"
              "    try:\n"
              "        out.append(chdb.query('SELECT formatQuery(' + lit + ')', 'TSVRaw').data().strip())\n"
              "    except Exception as exc:\n"
              "        out.append('ERROR ' + str(exc)[:300])\n"
              "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(statements + ["GRANT SELECT marts.x TO"]),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    formatted = json.loads(done.stdout)
    assert formatted[-1].startswith("ERROR") and "Syntax error" in formatted[-1]  # the check can fail
    errors = [(s, f) for s, f in zip(statements, formatted[:-1], strict=True) if f.startswith("ERROR")]
    assert not errors, errors
    # the parser read what was meant: identifiers unquoted by formatQuery, the condition kept
    assert ("CREATE ROW POLICY OR REPLACE hc_u_17_rows ON marts.fct_sales_lines AS PERMISSIVE FOR SELECT"
            " USING toString(manager_id) = '17' TO hc_u_17") in formatted


# ---- the conditions on chDB's own user, over the built marts ------------------------------------

RUN = r"""
import json, sys
import clickhouse_connect
path, queries = sys.argv[1], json.load(sys.stdin)
client = clickhouse_connect.get_client(interface="chdb", path=path)
out = []
for q in queries:
    try:
        out.append([list(r) for r in client.query(q).result_rows])
    except Exception as exc:
        out.append("ERROR " + str(exc)[:300])
print(json.dumps(out, default=str))
"""


def _run(path: str, queries: list[str]) -> list:
    done = subprocess.run([sys.executable, "-c", RUN, path], input=json.dumps(queries), capture_output=True, text=True,
                          timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _with_conditions(tmp: Path, data: Path, conditions: dict[str, str]) -> str:
    """``data`` opened with a users.xml whose ``default`` user (the chDB process's) has a row
    policy per mart: the given condition."""
    tables = "".join(f"<{t}><filter>{escape(c)}</filter></{t}>" for t, c in conditions.items())
    (tmp / "users.xml").write_text(
        "<clickhouse><users><default><password></password><networks><ip>::1</ip></networks><profile>default</profile>"
        f"<quota>default</quota><databases><marts>{tables}</marts></databases></default></users>"
        "<profiles><default/></profiles><quotas><default/></quotas></clickhouse>", encoding="utf-8")
    (tmp / "config.xml").write_text(
        "<clickhouse><user_directories><users_xml><path>users.xml</path></users_xml></user_directories></clickhouse>",
        encoding="utf-8")
    return f"{data}?config-file={tmp / 'config.xml'}"


@pytest.mark.slow
@pytest.mark.clickhouse
@pytest.mark.timeout(3600)
def test_a_managers_hand_written_sql_sees_only_their_rows(chdb_build: tuple[Path, subprocess.CompletedProcess[str]],
                                                          tmp_path: Path) -> None:
    _need_chdb()
    path, built = chdb_build
    assert built.returncode == 0, built.stdout[-3000:]
    data = tmp_path / "chdb"
    shutil.copytree(path, data, symlinks=True)  # metadata/<db> are symlinks (Atomic databases)
    columns_rows, managers, heads = _run(str(data), [
        "SELECT table, groupArray(name) FROM system.columns WHERE database = 'marts' GROUP BY table",
        "SELECT toString(manager_id), count() FROM marts.fct_sales_lines GROUP BY 1 ORDER BY 2 DESC, 1",
        "SELECT toString(head_user_id), groupArray(toString(department_id)) FROM marts.dim_departments"
        " WHERE head_user_id IS NOT NULL GROUP BY 1 ORDER BY 1",
    ])
    tables = {t: set(cols) for t, cols in columns_rows}
    assert len(tables) > 20 and len(managers) >= 2 and heads, (len(tables), managers, heads)
    manager_tables = sorted(t for t, c in tables.items() if "manager_id" in c)
    department_tables = sorted(t for t, c in tables.items() if "department_id" in c)
    neither = sorted(t for t, c in tables.items() if not c & {"manager_id", "department_id"})
    assert manager_tables and neither

    # everything, unrestricted: per table, rows per manager id and per department id
    per_manager = _run(str(data), [f"SELECT toString(manager_id), count() FROM marts.`{t}` GROUP BY 1" for t in manager_tables])
    per_department = _run(str(data), [f"SELECT toString(department_id), count() FROM marts.`{t}` GROUP BY 1"
                                      for t in department_tables])
    totals = dict(zip(neither, _run(str(data), [f"SELECT count() FROM marts.`{t}`" for t in neither]), strict=True))

    manager_id = managers[0][0]
    manager = Principal(manager_id, "manager")
    restricted = _with_conditions(tmp_path, data, {t: row_condition(c, manager) for t, c in tables.items()})
    seen = _run(restricted, [f"SELECT toString(manager_id), count() FROM marts.`{t}` GROUP BY 1" for t in manager_tables]
                + [f"SELECT count() FROM marts.`{t}`" for t in neither]
                + [  # hand-written SQL: a join, a subquery, a CTE, a union, the merge() table function
                    "SELECT count(), uniqExact(toString(s.manager_id)) FROM marts.fct_sales_lines AS s"
                    " JOIN marts.dim_managers AS m ON m.manager_id = s.manager_id",
                    "SELECT count() FROM (SELECT * FROM marts.fct_sales_lines WHERE 1 = 1 OR manager_id != '')",
                    "WITH x AS (SELECT manager_id FROM marts.fct_sales_lines) SELECT groupUniqArray(toString(manager_id)) FROM x",
                    "SELECT count() FROM (SELECT manager_id FROM marts.dim_managers UNION ALL SELECT manager_id FROM marts.dim_clients)",
                    "SELECT count() FROM merge('marts', '^fct_sales_lines$')",
                ])
    n = len(manager_tables)
    for table, everything, got in zip(manager_tables, per_manager, seen[:n], strict=True):
        mine = {m: c for m, c in everything if m == manager_id}
        assert {m: c for m, c in got} == mine, (table, got, mine)
    for table, got in zip(neither, seen[n:n + len(neither)], strict=True):
        assert got == [[0]], (table, got, totals[table])  # deny by default
    assert any(t[0][0] for t in totals.values())  # ... and some of those tables do have rows
    join, subquery, cte, union, merged = seen[n + len(neither):]
    own_lines = dict(managers)[manager_id]
    assert join == [[own_lines, 1]]
    assert subquery == [[own_lines]] and merged == [[own_lines]]
    assert cte == [[[manager_id]]]
    own_managers = sum(c for m, c in per_manager[manager_tables.index("dim_managers")] if m == manager_id)
    own_clients = sum(c for m, c in per_manager[manager_tables.index("dim_clients")] if m == manager_id)
    assert union == [[own_managers + own_clients]]
    assert own_lines < sum(c for _, c in managers)  # the restriction removed someone else's rows

    # a department head: the rows of the departments they head, nothing of the others
    head_id, departments = heads[0]
    head = Principal(head_id, "department", tuple(departments))
    restricted = _with_conditions(tmp_path, data, {t: row_condition(c, head) for t, c in tables.items()})
    seen = _run(restricted, [f"SELECT toString(department_id), count() FROM marts.`{t}` GROUP BY 1" for t in department_tables])
    for table, everything, got in zip(department_tables, per_department, seen, strict=True):
        theirs = {d: c for d, c in everything if d in departments}
        assert {d: c for d, c in got} == theirs, (table, got, theirs)
