"""The incremental Bitrix24 facts give exactly the tables a --full-refresh gives.

One database for the module: the raw test dataset (1C, Bitrix24 and files) is landed a day before T0
(plus a user 16 who owns one deal, one lead and one activity, and a deal deleted before the first
build), one row of each fact's source at T0 (so each fact's watermark is T0 minus the lookback),
the four facts and everything upstream are built, then raw rows change at T1 the way the landing
changes them (new rows, changed payloads with a new `_loaded_at`, `_deleted_at` set by ID
reconciliation, a deleted row landed again, a row committed late with a `_loaded_at` inside the
lookback, a company's requisite and a user's department). An incremental run must then equal a
--full-refresh row for row, and must have rewritten only the rows the rule names (counted with
the rows' xmin, so a run that silently rebuilt everything fails). A status rename (a dictionary)
then rebuilds every deal, lead and stage entry and no activity.
"""
from __future__ import annotations

import json
import random
import subprocess
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from conftest import DBT_EXECUTABLE, DBT_PROJECT, DbtDatabase, _with_db
from raw_dataset import RawDataset, generate, land, make_inn10
from raw_dataset_bitrix24 import add_bitrix24_and_files

pytestmark = pytest.mark.slow

FACTS = {
    "fct_deals": "deal_id",
    "fct_leads": "lead_id",
    "fct_deal_stage_history": "stage_history_id",
    "fct_activities": "activity_id",
}
UPSTREAM_AND_FACTS = [f"+{fact}" for fact in FACTS]
T0 = datetime(2025, 6, 30, 20, 0, tzinfo=UTC)  # the newest row of the first landing
T1 = T0 + timedelta(days=1)  # the day of changes
T2 = T1 + timedelta(days=1)  # the status rename
VARS = json.dumps({"as_of_date": "2025-06-30"})
NO_LOOKBACK = json.dumps({"as_of_date": "2025-06-30", "incremental_lookback_minutes": 0})


def dbt(db: DbtDatabase, *args: str) -> None:
    """`dbt <args>` against the module's database; generous timeout (a parse on a shared 2-core
    machine under load has taken over 15 minutes)."""
    cmd = [str(DBT_EXECUTABLE), *args, "--profiles-dir", str(DBT_PROJECT), "--project-dir", str(DBT_PROJECT),
           "--target-path", str(db.target_path), "--log-path", str(db.target_path / "logs")]
    result = subprocess.run(cmd, cwd=DBT_PROJECT, env=db.env(), capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout[-6000:]}")


class Scenario:
    """The raw rows as the test changes them, and the keys each fact must rebuild."""

    def __init__(self, ds: RawDataset) -> None:
        self.ds = ds
        self.deals = dict(ds.rows["bitrix24__deals"])
        self.leads = dict(ds.rows["bitrix24__leads"])
        self.activities = dict(ds.rows["bitrix24__activities"])
        self.history_of: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for key, payload in ds.rows["bitrix24__deal_stage_history"]:
            self.history_of[payload["OWNER_ID"]].append((key, payload))
        deal_ids = sorted(self.deals, key=int)
        # a company whose requisite changes: the company of the last deal
        self.company = self.deals[deal_ids[-1]]["COMPANY_ID"]
        others = [d for d in deal_ids if self.deals[d]["COMPANY_ID"] != self.company]
        long_histories = [d for d in others if len(self.history_of[d]) >= 3]
        self.deal_history_deleted = long_histories[0]  # its middle stage entry is deleted
        rest = [d for d in others if d != self.deal_history_deleted]
        self.deal_changed = next(d for d in rest if self.deals[d]["STAGE_SEMANTIC_ID"] == "P")
        rest = [d for d in rest if d != self.deal_changed]
        self.deal_deleted, self.deal_relanded, self.deal_user16 = rest[0], rest[1], rest[2]
        self.deal_new = str(int(deal_ids[-1]) + 1000)
        junk_leads = sorted((k for k, p in self.leads.items() if p["COMPANY_ID"] is None), key=int)
        self.lead_late, self.lead_deleted, self.lead_user16 = junk_leads[:3]
        self.lead_new = str(max(int(k) for k in self.leads) + 1000)
        activity_ids = sorted(self.activities, key=int)
        self.activity_deleted, self.activity_user16 = activity_ids[0], activity_ids[1]
        self.activity_changed = next(a for a in activity_ids[2:] if self.activities[a]["COMPLETED"] == "N")
        self.activity_new = str(int(activity_ids[-1]) + 1000)
        # before the first landing: user 16 in department 5 owns one deal, one lead, one activity
        ds.add("bitrix24__users", "16", {"ID": "16", "ACTIVE": True, "NAME": "Новый", "LAST_NAME": "Менеджер",
                                          "EMAIL": "m16@example.ru", "WORK_POSITION": "менеджер", "UF_DEPARTMENT": [5]})
        self.deals[self.deal_user16]["ASSIGNED_BY_ID"] = "16"
        self.leads[self.lead_user16]["ASSIGNED_BY_ID"] = "16"
        self.activities[self.activity_user16]["RESPONSIBLE_ID"] = "16"

    def newest_at_t0(self) -> dict[str, str]:
        """One row per fact source landed at T0 (the rest a day earlier): rows the changes rebuild
        anyway, so the lookback's re-read of the newest rows adds nothing to the expected sets."""
        return {"bitrix24__deals": self.deal_changed, "bitrix24__leads": self.lead_user16,
                "bitrix24__deal_stage_history": self.history_of[self.deal_changed][0][0],
                "bitrix24__activities": self.activity_user16}

    def live_deals_after_changes(self) -> set[str]:
        return (set(self.deals) - {self.deal_deleted}) | {self.deal_new}

    def expected_rebuilt(self) -> dict[str, set[str]]:
        """The rows the incremental run rewrites, by the rule of macros/incremental_facts.sql."""
        live_deals = self.live_deals_after_changes()
        deals = {d for d in live_deals
                 if d in {self.deal_changed, self.deal_relanded, self.deal_new, self.deal_user16}
                 or self.deals.get(d, {}).get("COMPANY_ID") == self.company}
        history_deals = deals | {self.deal_deleted, self.deal_history_deleted}
        history = {key for d in history_deals for key, _ in self.history_of[d]} - {self.history_deleted}
        leads = {k for k, p in self.leads.items()
                 if k in {self.lead_late, self.lead_user16, self.lead_new} or p["COMPANY_ID"] == self.company}
        activities = {self.activity_changed, self.activity_user16, self.activity_new}
        return {"fct_deals": deals, "fct_deal_stage_history": history, "fct_leads": leads,
                "fct_activities": activities}

    def apply_changes(self, conn: psycopg.Connection) -> None:
        """Change the raw rows at T1 as the landing and ID reconciliation do (one transaction)."""
        def upsert(table: str, key: str, payload: dict, loaded_at: datetime = T1) -> None:
            conn.execute(
                f"insert into raw.{table} (source_key, payload, _source, _load_id, _loaded_at)"
                " values (%s, %s, 'bitrix24', 'changes', %s) on conflict (source_key) do update"
                " set payload = excluded.payload, _load_id = excluded._load_id,"
                " _loaded_at = excluded._loaded_at, _deleted_at = null",
                (key, json.dumps(payload, ensure_ascii=False), loaded_at))

        def delete(table: str, key: str) -> None:
            assert conn.execute(f"update raw.{table} set _deleted_at = %s where source_key = %s",
                                (T1, key)).rowcount == 1

        # a new deal with two stage entries, a new lead, a new activity
        template = self.deals[self.deal_changed]
        new_deal = {**template, "ID": self.deal_new, "TITLE": "Новая сделка", "STAGE_ID": "PREPARATION",
                    "CATEGORY_ID": "0", "DATE_CREATE": "2025-06-29T10:00:00+03:00"}
        self.deals[self.deal_new] = new_deal
        upsert("bitrix24__deals", self.deal_new, new_deal)
        for n, (stage, moment) in enumerate((("NEW", "2025-06-29T10:00:00+03:00"),
                                             ("PREPARATION", "2025-06-30T11:00:00+03:00"))):
            key = str(900000 + n)
            entry = {"ID": key, "TYPE_ID": "1" if n == 0 else "2", "OWNER_ID": self.deal_new,
                     "CREATED_TIME": moment, "CATEGORY_ID": "0", "STAGE_SEMANTIC_ID": "P", "STAGE_ID": stage}
            self.history_of[self.deal_new].append((key, entry))
            upsert("bitrix24__deal_stage_history", key, entry)
        new_lead = {**self.leads[self.lead_late], "ID": self.lead_new, "TITLE": "Новый лид"}
        self.leads[self.lead_new] = new_lead
        upsert("bitrix24__leads", self.lead_new, new_lead)
        new_activity = {**self.activities[self.activity_changed], "ID": self.activity_new}
        self.activities[self.activity_new] = new_activity
        upsert("bitrix24__activities", self.activity_new, new_activity)
        # a deal won (payload changed) with its final stage entry: the previous entry now ends
        deal = self.deals[self.deal_changed]
        category = deal["CATEGORY_ID"]
        won = "WON" if category == "0" else f"C{category}:WON"
        deal.update({"STAGE_ID": won, "STAGE_SEMANTIC_ID": "S", "CLOSED": "Y", "OPPORTUNITY": "777000.00",
                     "CLOSEDATE": "2025-06-30T12:00:00+03:00"})
        upsert("bitrix24__deals", self.deal_changed, deal)
        final = {"ID": "900010", "TYPE_ID": "3", "OWNER_ID": self.deal_changed,
                 "CREATED_TIME": "2025-06-30T12:00:00+03:00", "CATEGORY_ID": category,
                 "STAGE_SEMANTIC_ID": "S", "STAGE_ID": won}
        self.history_of[self.deal_changed].append(("900010", final))
        upsert("bitrix24__deal_stage_history", "900010", final)
        # deletions: a deal (its stage entries stay and lose their manager), a middle stage entry,
        # a lead, an activity
        delete("bitrix24__deals", self.deal_deleted)
        self.history_deleted = self.history_of[self.deal_history_deleted][1][0]
        delete("bitrix24__deal_stage_history", self.history_deleted)
        delete("bitrix24__leads", self.lead_deleted)
        delete("bitrix24__activities", self.activity_deleted)
        # the deal deleted before the first build is landed again (unchanged payload)
        upsert("bitrix24__deals", self.deal_relanded, self.deals[self.deal_relanded])
        # an activity completed
        activity = self.activities[self.activity_changed]
        activity["COMPLETED"] = "Y"
        upsert("bitrix24__activities", self.activity_changed, activity)
        # a lead changed by a load that committed late: _loaded_at 5 minutes before the newest
        # row the fact has seen, inside var incremental_lookback_minutes (10)
        lead = self.leads[self.lead_late]
        lead["TITLE"] = "Лид, изменённый поздней загрузкой"
        upsert("bitrix24__leads", self.lead_late, lead, loaded_at=T0 - timedelta(minutes=5))
        # the company's requisite gets another ИНН (client_id of its deals and leads changes)
        requisite_key, requisite = next((k, p) for k, p in self.ds.rows["bitrix24__requisites"]
                                        if p["ENTITY_ID"] == self.company)
        requisite = {**requisite, "RQ_INN": make_inn10(random.Random(99)), "RQ_KPP": ""}
        upsert("bitrix24__requisites", requisite_key, requisite)
        # user 16 moves to department 6
        user = {"ID": "16", "ACTIVE": True, "NAME": "Новый", "LAST_NAME": "Менеджер", "EMAIL": "m16@example.ru",
                "WORK_POSITION": "менеджер", "UF_DEPARTMENT": [6]}
        upsert("bitrix24__users", "16", user)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario(add_bitrix24_and_files(generate(40)))


@pytest.fixture(scope="module")
def built(pg_admin_url: str, scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtDatabase]:
    """A database (prefix dbt_incr_) with the dataset landed up to T0 and the facts built once."""
    name = f"dbt_incr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        db = DbtDatabase(_with_db(pg_admin_url, name), tmp_path_factory.mktemp("dbt_incr_target"))
        with psycopg.connect(db.url) as conn:
            land(conn, scenario.ds)
            for table in scenario.ds.rows:
                conn.execute(f"update raw.{table} set _loaded_at = %s", (T0 - timedelta(days=1),))
            for table, key in scenario.newest_at_t0().items():
                conn.execute(f"update raw.{table} set _loaded_at = %s where source_key = %s", (T0, key))
            conn.execute("update raw.bitrix24__deals set _deleted_at = %s where source_key = %s",
                         (T0 - timedelta(days=1), scenario.deal_relanded))
        dbt(db, "run", "--select", *UPSTREAM_AND_FACTS, "--vars", VARS)
        yield db
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def snapshot(db: DbtDatabase) -> dict[str, list[tuple]]:
    with psycopg.connect(db.url) as conn:
        return {fact: conn.execute(f"select * from marts.{fact} order by {key}").fetchall()
                for fact, key in FACTS.items()}


def rewritten_since(db: DbtDatabase, xid: int) -> dict[str, set[str]]:
    """Keys of the rows each fact holds that were written by a transaction after `xid`."""
    with psycopg.connect(db.url) as conn:
        return {fact: {r[0] for r in conn.execute(
            f"select {key} from marts.{fact} where cast(cast(xmin as text) as bigint) > %s", (xid,))}
            for fact, key in FACTS.items()}


def current_xid(db: DbtDatabase) -> int:
    with psycopg.connect(db.url) as conn:
        return conn.execute("select cast(cast(txid_current() as text) as bigint) % 4294967296").fetchone()[0]


def test_incremental_run_equals_full_refresh_after_raw_changes(built: DbtDatabase, scenario: Scenario) -> None:
    before = snapshot(built)
    assert {r[0] for r in before["fct_deals"]} == set(scenario.deals) - {scenario.deal_relanded}
    with psycopg.connect(built.url) as conn:
        scenario.apply_changes(conn)
    xid = current_xid(built)
    dbt(built, "run", "--select", *UPSTREAM_AND_FACTS, "--vars", VARS)
    incremental = snapshot(built)

    # only the rows the rule names were rewritten (the rest of each table was left alone)
    expected = scenario.expected_rebuilt()
    assert rewritten_since(built, xid) == expected
    assert all(0 < len(expected[fact]) < len(incremental[fact]) / 2 for fact in FACTS)
    # the changes are in the tables
    deals = {r[0]: r for r in incremental["fct_deals"]}
    assert set(deals) == scenario.live_deals_after_changes()
    with psycopg.connect(built.url) as conn:
        department = dict(conn.execute("select deal_id, department_id from marts.fct_deals").fetchall())
        history_manager = dict(conn.execute(
            "select deal_id, max(manager_id) from marts.fct_deal_stage_history group by deal_id").fetchall())
    assert department[scenario.deal_user16] == "6"
    assert history_manager[scenario.deal_deleted] is None
    assert history_manager[scenario.deal_relanded] is not None
    assert scenario.history_deleted not in {r[0] for r in incremental["fct_deal_stage_history"]}

    dbt(built, "run", "--select", *FACTS, "--full-refresh", "--vars", VARS)
    full = snapshot(built)
    for fact in FACTS:
        assert incremental[fact] == full[fact], fact
        assert incremental[fact] != before[fact], fact


def test_a_dictionary_change_rebuilds_every_row_that_reads_it(built: DbtDatabase) -> None:
    """Runs after the test above (same module database): a stage renamed at T2."""
    with psycopg.connect(built.url) as conn:
        assert conn.execute("update raw.bitrix24__statuses set payload = jsonb_set(payload, '{NAME}', '\"Подготовка\"'),"
                            " _loaded_at = %s where payload ->> 'STATUS_ID' = 'PREPARATION'", (T2,)).rowcount == 1
        totals = {fact: conn.execute(f"select count(*) from marts.{fact}").fetchone()[0] for fact in FACTS}
    xid = current_xid(built)
    # lookback 0: the T1 changes are not re-read, so activities (no dictionary) stay untouched
    dbt(built, "run", "--select", *FACTS, "--vars", NO_LOOKBACK)
    incremental = snapshot(built)
    rewritten = {fact: len(keys) for fact, keys in rewritten_since(built, xid).items()}
    assert rewritten == {**totals, "fct_activities": 0}
    with psycopg.connect(built.url) as conn:
        names = {r[0] for r in conn.execute(
            "select stage_name from marts.fct_deal_stage_history where stage_id = 'PREPARATION'")}
    assert names == {"Подготовка"}
    dbt(built, "run", "--select", *FACTS, "--full-refresh", "--vars", VARS)
    assert snapshot(built) == incremental
