"""The KPI panel, recomputed in plain Python from the raw rows and compared with the mart.

One database per module: the raw test datasets (1C, Bitrix24, files) are landed into `raw`, the dbt project
builds everything kpi_panel needs, then each KPI (sales plan, new clients, funnel conversion,
activity norms) is recomputed per manager and month straight from the raw payloads, with the
attribution rules of docs/architecture.md, and checked against kpi_panel, including the
department and company roll-ups and a quarter.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from conftest import DbtDatabase
from raw_dataset import RawDataset, generate, land
from raw_dataset_bitrix24 import add_bitrix24_and_files

AS_OF = date(2025, 6, 30)
PORTAL_TZ = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def dataset() -> RawDataset:
    return add_bitrix24_and_files(generate(40))


def landed(db: DbtDatabase, dataset: RawDataset) -> None:
    """Land `dataset` into the module's fresh database, with the ingest state tables."""
    from ingestion.landing import ensure_state

    with psycopg.connect(db.url, autocommit=True) as conn:
        land(conn, dataset)
        ensure_state(conn)


def with_vars(**values: object) -> list[str]:
    return ["--vars", json.dumps(values)]


@pytest.fixture(scope="module")
def built(dbt_database: DbtDatabase, dataset: RawDataset) -> DbtDatabase:
    landed(dbt_database, dataset)
    dbt_database.dbt(
        "run",
        "--select",
        "+kpi_panel",
        "+funnel_conversion",
        "+acquisition_channels",
        "+nps_by_department",
        "+deals_detail",
        "+path:models/marts/data_quality",
        "path:models/staging/bitrix24",
        "path:models/staging/files",
        "+path:models/marts/kpi",
        *with_vars(as_of_date=AS_OF.isoformat()),
    )
    return dbt_database


def fetch(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def month_of(value: date) -> date:
    return date(value.year, value.month, 1)


def portal_month(iso: str) -> date:
    return month_of(datetime.fromisoformat(iso).astimezone(PORTAL_TZ).date())


def manager_by_onec_user(ds: RawDataset) -> dict[str, str]:
    """1C user Ref_Key -> Bitrix24 user ID, matched on «Фамилия Имя» (case and spaces ignored)."""
    by_name = {" ".join(f"{p['LAST_NAME']} {p['NAME']}".lower().split()): key for key, p in ds.rows["bitrix24__users"]}
    return {
        key: by_name[" ".join(p["Description"].lower().split())]
        for key, p in ds.rows["onec__users"]
        if " ".join(p["Description"].lower().split()) in by_name
    }


def expected_components(ds: RawDataset) -> dict[tuple[str, date], dict[str, float]]:
    """(manager_id, month) -> recomputed facts and targets, from raw payloads only."""
    out: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    managers = manager_by_onec_user(ds)
    first_purchase: dict[str, date] = {}
    partner_manager = {key: managers.get(p["ОсновнойМенеджер_Key"]) for key, p in ds.rows["onec__partners"]}
    counterparty_partner = {key: p["Партнер_Key"] for key, p in ds.rows["onec__counterparties"]}
    for table, sign in (("onec__sales_documents", 1), ("onec__returns", -1)):
        for _, doc in ds.rows.get(table, []):
            if not doc["Posted"] or doc["DeletionMark"]:
                continue
            day = date.fromisoformat(doc["Date"][:10])
            manager = managers.get(doc["Менеджер_Key"])
            net = sum(line["Сумма"] - (line["СуммаНДС"] if doc["ЦенаВключаетНДС"] else 0) for line in doc["Товары"])
            if manager:
                out[(manager, month_of(day))]["revenue"] += sign * net
            if sign == 1:
                cp = doc["Контрагент_Key"]
                first_purchase[cp] = min(first_purchase.get(cp, day), day)
    by_name = {" ".join(f"{p['LAST_NAME']} {p['NAME']}".lower().split()): key for key, p in ds.rows["bitrix24__users"]}
    for _, line in ds.rows.get("files__sales_lines", []):  # ERP file: manager given by name
        manager = by_name.get(" ".join(line["manager"].lower().split()))
        if manager:
            out[(manager, month_of(date.fromisoformat(line["date"])))]["revenue"] += line["amount"]
    for cp, day in first_purchase.items():
        manager = partner_manager.get(counterparty_partner[cp])
        if manager:
            out[(manager, month_of(day))]["new_clients"] += 1
    for _, deal in ds.rows["bitrix24__deals"]:
        key = (deal["ASSIGNED_BY_ID"], portal_month(deal["DATE_CREATE"]))
        out[key]["deals_created"] += 1
        out[key]["deals_won"] += deal["STAGE_SEMANTIC_ID"] == "S"
    for _, act in ds.rows["bitrix24__activities"]:
        if act["COMPLETED"] == "Y" and act["TYPE_ID"] in ("1", "2", "3"):
            out[(act["RESPONSIBLE_ID"], portal_month(act["END_TIME"]))]["activities_done"] += 1
    for _, plan in ds.rows["files__sales_plans"]:
        key = (plan["manager_id"], date.fromisoformat(plan["month"]))
        out[key]["revenue_plan"] += plan["revenue_plan"]
        out[key]["new_clients_plan"] += plan["new_clients_plan"]
        out[key]["conversion_target"] += plan["conversion_target_pct"]
        out[key]["plan_rows"] += 1
        out[key]["activities_norm"] += plan["calls_norm"] + plan["meetings_norm"] + plan["tasks_norm"]
    return out


def kpi_values(c: dict[str, float]) -> dict[str, tuple[float | None, float | None]]:
    """kpi_code -> (fact, target) from summed components, as KPI.md section 4 defines them."""
    conversion = 100.0 * c["deals_won"] / c["deals_created"] if c["deals_created"] else None
    target = c["conversion_target"] / c["plan_rows"] if c["plan_rows"] else 37.0
    return {
        "sales_plan": (c["revenue"], c["revenue_plan"]),
        "new_clients": (c["new_clients"], c["new_clients_plan"]),
        "funnel_conversion": (conversion, target),
        "activity_norms": (c["activities_done"], c["activities_norm"]),
    }


def panel(url: str, level: str, grain: str) -> dict[tuple[str | None, date, str], tuple]:
    rows = fetch(
        url,
        f"""select coalesce(manager_id, department_id), period_start, kpi_code, fact_value, target_value,
                                 fulfilment_pct, is_done
                          from marts.kpi_panel where kpi_level = '{level}' and period_grain = '{grain}'""",
    )
    return {
        (r[0], r[1], r[2]): tuple(float(v) if v is not None and not isinstance(v, bool) else v for v in r[3:])
        for r in rows
    }


def assert_kpis(actual: dict, key: tuple, components: dict[str, float]) -> None:
    for code, (fact, target) in kpi_values(components).items():
        row = actual.get((*key, code))
        if not fact and not target:
            continue  # nothing to rate (the mart may still carry a zero row)
        assert row is not None, f"kpi_panel has no row for {key} {code}"
        got_fact, got_target, got_pct, got_done = row
        assert got_fact == pytest.approx(fact if fact is not None else None, abs=0.006), (key, code, "fact")
        assert got_target == pytest.approx(target, abs=0.006), (key, code, "target")
        if fact is not None and target:
            assert got_pct == pytest.approx(100.0 * fact / target, abs=0.006), (key, code, "fulfilment")
            assert got_done == (fact / target >= 1.0), (key, code, "is_done")


def test_manager_months_match_python(built: DbtDatabase, dataset: RawDataset) -> None:
    url = built.url
    actual = panel(url, "manager", "month")
    expected = expected_components(dataset)
    checked = 0
    for (manager, month), comps in expected.items():
        if month > AS_OF or month < date(2024, 1, 1):
            continue
        assert_kpis(actual, (manager, month), comps)
        checked += 1
    assert checked >= 3 * 18


def test_department_and_company_roll_ups_match_python(built: DbtDatabase, dataset: RawDataset) -> None:
    url = built.url
    expected = expected_components(dataset)
    department_of = {key: str(p["UF_DEPARTMENT"][0]) for key, p in dataset.rows["bitrix24__users"]}
    by_department: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (manager, month), comps in expected.items():
        for name, value in comps.items():
            by_department[(department_of[manager], month)][name] += value
    actual = panel(url, "department", "month")
    for key, comps in by_department.items():
        if date(2024, 1, 1) <= key[1] <= AS_OF:
            assert_kpis(actual, key, comps)
    # company: deals and activities have no unassigned rows in the dataset, so they equal the sum
    company = panel(url, "company", "month")
    june = date(2025, 6, 1)
    won = sum(c["deals_won"] for (m, month), c in expected.items() if month == june)
    created = sum(c["deals_created"] for (m, month), c in expected.items() if month == june)
    fact = company[(None, june, "funnel_conversion")][0]
    assert fact == pytest.approx(100.0 * won / created if created else None, abs=0.006)


def test_quarter_sums_months(built: DbtDatabase, dataset: RawDataset) -> None:
    url = built.url
    expected = expected_components(dataset)
    quarter: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (manager, month), comps in expected.items():
        start = date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
        for name, value in comps.items():
            quarter[(manager, start)][name] += value
    actual = panel(url, "manager", "quarter")
    for key, comps in quarter.items():
        if date(2024, 1, 1) <= key[1] <= AS_OF:
            assert_kpis(actual, key, comps)


def test_deal_links_and_funnel_first_stage(built: DbtDatabase, dataset: RawDataset) -> None:
    url = built.url
    links = dict(fetch(url, "select deal_id, deal_url from marts.deals_detail"))
    assert links["2001"] == "https://example.bitrix24.ru/crm/deal/details/2001/"
    assert set(links) == {key for key, _ in dataset.rows["bitrix24__deals"]}
    # every cohort deal reaches the first stage of its pipeline
    rows = fetch(
        url,
        """select cohort_deals_created, cohort_deals_reached from marts.funnel_conversion
                         where funnel_level = 'company' and stage_number = 1""",
    )
    assert rows and all(created == reached for created, reached in rows)


def test_my_data_tests_pass_and_accepted_range_can_fail(built: DbtDatabase) -> None:
    url = built.url
    selection = [
        "--select",
        "path:models/staging/bitrix24",
        "path:models/staging/files",
        "path:models/marts/kpi",
        "path:models/marts/acquisition",
        "path:models/marts/data_quality",
        "--exclude",
        "test_type:unit",
        # only tests whose every parent is in this module's build: a relationship from a mart
        # outside it (overdue_clients -> dim_managers) is not this module's to run
        "--indirect-selection",
        "cautious",
    ]
    result = built.dbt("test", *selection, *with_vars(as_of_date=AS_OF.isoformat()), check=False)
    assert result.returncode == 0, result.stdout[-4000:]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""insert into raw.files__nps_answers (source_key, payload, _source, _load_id, _loaded_at)
                        values ('bad|1', '{"answered_on": "2025-05-05", "inn": "1", "department": "Отдел продаж", "score": 11}',
                                'file:nps.csv', 'test', now())""")
    result = built.dbt(
        "test", "--select", "stg_files__nps_answers,test_name:accepted_range", *with_vars(as_of_date=AS_OF.isoformat()), check=False
    )
    assert result.returncode != 0 and "FAIL 1" in result.stdout
