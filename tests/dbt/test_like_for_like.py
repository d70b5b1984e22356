"""Issue 16, item 1: an unfinished period is compared like for like, end to end.

The dbt-A + dbt-B test dataset (sales January 2024 - June 2025, plans per manager and month) is
built as of 2025-05-14, in the middle of a month, a quarter, a half-year and a year. Every
number of the unfinished periods is then recomputed in plain Python straight from the raw rows
(docs/kpi.md, «Period»): facts up to 14.05.2025; plans of the whole months elapsed plus May's
plan x 14 / 31, nothing of June's or later; the stability base = the same period of 2024 up to
14.05.2024; lost sales from those types; the top-client share of 2025 to 14.05 against 2024 to
14.05. The whole-period comparison the issue reported (a part of 2025 against all of 2024, a
part-year revenue against the whole-year plan) is checked to differ, so these tests can fail.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import DbtDatabase
from raw_dataset import RawDataset, generate
from raw_dataset_bitrix24 import add_bitrix24_and_files
from test_client_marts import client_channels, expected_stability, revenue_lines
from test_kpi_panel import PORTAL_TZ, assert_kpis, expected_components, fetch, landed, with_vars

pytestmark = pytest.mark.slow

AS_OF = date(2025, 5, 14)
MAY_SHARE = 14 / 31  # May's elapsed days / its days
# the unfinished periods as of 14.05.2025: (grain, start, the same part of last year's period)
UNFINISHED = {
    "month": (date(2025, 5, 1), (date(2024, 5, 1), date(2024, 5, 15))),
    "quarter": (date(2025, 4, 1), (date(2024, 4, 1), date(2024, 5, 15))),
    "half": (date(2025, 1, 1), (date(2024, 1, 1), date(2024, 5, 15))),
    "year": (date(2025, 1, 1), (date(2024, 1, 1), date(2024, 5, 15))),
}
LABELS = {
    "month": "2025-05 (с начала месяца по 14.05)",
    "quarter": "2025-Q2 (с начала квартала по 14.05)",
    "half": "2025-H1 (с начала полугодия по 14.05)",
    "year": "2025 (с начала года по 14.05)",
}
P_END = date(2025, 5, 15)  # exclusive: up to 14.05.2025
TOP_N = 3  # top_clients_n: 2024 to 14.05 has only 8 buying clients, so the default 8 would give 100%


@pytest.fixture(scope="module")
def dataset() -> RawDataset:
    return add_bitrix24_and_files(generate(40))


@pytest.fixture(scope="module")
def built(dbt_database: DbtDatabase, dataset: RawDataset) -> str:
    landed(dbt_database, dataset)
    dbt_database.dbt(
        "run", "--select", "+kpi_panel", "+lost_sales_by_channel", "+top_clients_share",
        *with_vars(as_of_date=AS_OF.isoformat(), top_clients_n=TOP_N),
    )
    return dbt_database.url


# ---------------------------------------------------------------- independent recomputation
def portal_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(PORTAL_TZ).date()


def to_date_dataset(ds: RawDataset) -> RawDataset:
    """The raw rows as of AS_OF, like for like: records dated after it dropped; plan rows of
    months not begun dropped, May's additive plan figures x 14/31 (its growth and conversion
    targets are rates: kept whole)."""
    out = RawDataset({table: list(rows) for table, rows in ds.rows.items()})
    dated = {
        "onec__sales_documents": lambda p: date.fromisoformat(p["Date"][:10]),
        "onec__returns": lambda p: date.fromisoformat(p["Date"][:10]),
        "files__sales_lines": lambda p: date.fromisoformat(p["date"]),
        "bitrix24__deals": lambda p: portal_day(p["DATE_CREATE"]),
        "bitrix24__activities": lambda p: portal_day(p["END_TIME"]),
    }
    for table, day_of in dated.items():
        out.rows[table] = [(k, p) for k, p in ds.rows.get(table, []) if day_of(p) <= AS_OF]
    plans = []
    for key, plan in ds.rows["files__sales_plans"]:
        month = date.fromisoformat(plan["month"])
        if month > AS_OF:
            continue
        if month == date(2025, 5, 1):
            plan = copy.deepcopy(plan)
            for field in ("revenue_plan", "new_clients_plan", "calls_norm", "meetings_norm", "tasks_norm"):
                plan[field] = plan[field] * MAY_SHARE
        plans.append((key, plan))
    out.rows["files__sales_plans"] = plans
    return out


def period_start(grain: str, month: date) -> date:
    months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[grain]
    return date(month.year, months * ((month.month - 1) // months) + 1, 1)


def summed_by_period(components: dict[tuple[str, date], dict[str, float]], grain: str) -> dict:
    out: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (manager, month), comps in components.items():
        for name, value in comps.items():
            out[(manager, period_start(grain, month))][name] += value
    return out


def top_share(lines: list[tuple[str, date, Decimal, bool]], start: date, end: date, n: int = TOP_N) -> Decimal:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for client, day, amount, _ in lines:
        if start <= day < end:
            revenue[client] += amount
    ranked = sorted(revenue.values(), reverse=True)
    assert len([v for v in ranked if v > 0]) > n  # the negative-revenue ranking rule does not apply
    return round(sum(ranked[:n]) / sum(ranked), 4)


def lines_to_date(ds: RawDataset) -> list[tuple[str, date, Decimal, bool]]:
    return [line for line in revenue_lines(ds) if line[1] <= AS_OF]


# ---------------------------------------------------------------- tests
def test_periods_holding_as_of_are_marked_and_labelled(built: str) -> None:
    rows = fetch(built, "select period_grain, period_start, period_label_ru from marts.kpi_panel"
                        " where is_period_to_date group by 1, 2, 3")
    assert {(grain, start): label for grain, start, label in rows} == {
        (grain, start): LABELS[grain] for grain, (start, _) in UNFINISHED.items()
    }
    complete = fetch(built, "select count(*) from marts.kpi_panel where not is_period_to_date"
                            " and period_label_ru <> period_label")
    assert complete == [(0,)]


def test_kpi_panel_unfinished_periods_against_the_plan_to_date(built: str, dataset: RawDataset) -> None:
    expected = expected_components(to_date_dataset(dataset))
    whole_year_plan = expected_components(dataset)
    checked = 0
    for grain, (start, _) in UNFINISHED.items():
        actual = {
            (m, s, code): v
            for (m, s, code), v in panel_to_date(built, grain).items()
        }
        for (manager, period), comps in summed_by_period(expected, grain).items():
            if period != start:
                continue
            assert_kpis(actual, (manager, period), comps)
            checked += 1
            if grain == "year":
                whole = sum(c["revenue_plan"] for (m, month), c in whole_year_plan.items()
                            if m == manager and month.year == 2025)
                target = actual[(manager, period, "sales_plan")][1]
                assert target < whole - 1, "the year-to-date plan must not be the whole year's plan"
    assert checked >= 3 * 4  # three managers x four unfinished periods


def panel_to_date(url: str, grain: str) -> dict:
    rows = fetch(url, f"""select manager_id, period_start, kpi_code, fact_value, target_value, fulfilment_pct, is_done
                          from marts.kpi_panel
                          where kpi_level = 'manager' and period_grain = '{grain}' and is_period_to_date""")
    return {
        (r[0], r[1], r[2]): tuple(float(v) if v is not None and not isinstance(v, bool) else v for v in r[3:])
        for r in rows
    }


@pytest.mark.parametrize("grain", sorted(UNFINISHED))
def test_stability_of_unfinished_periods_against_the_same_part_of_last_year(
    built: str, dataset: RawDataset, grain: str
) -> None:
    start, base = UNFINISHED[grain]
    lines = lines_to_date(dataset)
    expected = expected_stability(lines, (start, P_END), base)
    rows = fetch(built, f"""select client_id, stability_type, revenue_period, revenue_base from marts.client_stability
                            where period_grain = '{grain}' and period_start = '{start}' and is_period_to_date""")
    actual = {c: (t, Decimal(p), Decimal(b)) for c, t, p, b in rows}
    assert actual == expected
    if grain == "year":
        whole_base = expected_stability(lines, (start, P_END), (date(2024, 1, 1), date(2025, 1, 1)))
        assert whole_base != expected  # the whole-2024 base the issue reported types clients otherwise
        assert len({t for t, _, _ in actual.values()}) >= 4


def test_lost_sales_of_the_unfinished_year(built: str, dataset: RawDataset) -> None:
    start, base = UNFINISHED["year"]
    stability = expected_stability(lines_to_date(dataset), (start, P_END), base)
    channel = client_channels(dataset)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for client, (kind, p, b) in stability.items():
        expected[channel[client]] += (b - p) if kind == "falling" else b if kind == "lost" else Decimal(0)
    rows = fetch(built, """select channel, lost_sales_thousand_rub, base_label_ru from marts.lost_sales_by_channel
                           where period_grain = 'year' and period_start = '2025-01-01'""")
    assert {ch: Decimal(v) for ch, v, _ in rows} == {ch: round(v / 1000, 3) for ch, v in expected.items()}
    assert {label for _, _, label in rows} == {"2024 (с начала года по 14.05)"}


def test_top_client_share_against_the_same_part_of_last_year(built: str, dataset: RawDataset) -> None:
    lines = lines_to_date(dataset)
    rows = fetch(built, """select period_start, top_clients_share, top_clients_share_last_year, is_period_to_date
                           from marts.top_clients_share order by period_start""")
    by_year = {r[0]: r[1:] for r in rows}
    share, last_year, to_date = by_year[date(2025, 1, 1)]
    assert to_date is True
    assert share == top_share(lines, date(2025, 1, 1), P_END)
    assert last_year == top_share(lines, date(2024, 1, 1), date(2024, 5, 15))
    assert last_year != top_share(lines, date(2024, 1, 1), date(2025, 1, 1))  # not the whole 2024
    # 2024 is complete: its own whole-year share, no year before the data
    assert by_year[date(2024, 1, 1)] == (top_share(lines, date(2024, 1, 1), date(2025, 1, 1)), None, False)
