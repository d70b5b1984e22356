"""Independent cross-check (issue 4 item 7): ABC/XYZ, stability types, lost sales and the KPI
panel recomputed in Python from the generated demo files (tests/integration/marts_truth.py)
and compared with the marts the whole pipeline built: money to the kopeck, shares exactly at the scale the mart stores.
A failure lists the differing clients, channels or managers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from tests.conftest import DemoWarehouse
from tests.integration.marts_truth import ManagerMonth, MartsTruth, add_months, round_half_up

pytestmark = [pytest.mark.slow, pytest.mark.integration]

GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}
# (grain, period start): ABC as of the period end over the trailing 12 months; stability and
# lost sales of the period against the same period last year; the KPI panel of the period
PERIODS = [("month", date(2026, 9, 1)), ("quarter", date(2026, 7, 1)), ("year", date(2025, 1, 1))]
KPI_CODES = ("sales_plan", "new_clients", "funnel_conversion", "activity_norms")
MAX_LISTED = 30


@pytest.fixture(scope="module")
def truth(demo_warehouse: DemoWarehouse) -> MartsTruth:
    return MartsTruth(demo_warehouse.data_dir, demo_warehouse.as_of)


@pytest.fixture(scope="module")
def conn(demo_warehouse: DemoWarehouse) -> Iterator[psycopg.Connection]:
    if not demo_warehouse.run_success:
        pytest.fail(f"the demo pipeline failed, the marts are incomplete: {sorted(demo_warehouse.step_errors)}")
    with psycopg.connect(demo_warehouse.url) as connection:
        yield connection


def _report(title: str, diffs: list[str]) -> str:
    shown = "\n".join(diffs[:MAX_LISTED])
    more = f"\n... and {len(diffs) - MAX_LISTED} more" if len(diffs) > MAX_LISTED else ""
    return f"{title}: {len(diffs)} differences (expected from the demo files vs the mart)\n{shown}{more}"


def _diff_keys(expected: dict, actual: dict, what: str) -> list[str]:
    return [
        f"{what} {key}: only in the files' recomputation" for key in sorted(set(expected) - set(actual), key=str)
    ] + [f"{what} {key}: only in the mart" for key in sorted(set(actual) - set(expected), key=str)]


@pytest.mark.parametrize(("grain", "start"), PERIODS)
def test_abc_xyz_classes_of_every_client(truth: MartsTruth, conn: psycopg.Connection, grain: str, start: date) -> None:
    expected = truth.abc_xyz(add_months(start, GRAIN_MONTHS[grain]))
    assert sum(1 for row in expected.values() if row.abc == "A") > 0, "the demo data should have A clients"
    rows = conn.execute(
        """select client_id, abc_class, xyz_class, revenue_t12, revenue_cv from marts.abc_xyz_clients
           where period_grain = %s and period_start = %s""",
        (grain, start),
    ).fetchall()
    actual = {r[0]: r[1:] for r in rows}
    diffs = _diff_keys(expected, actual, "client")
    for client in sorted(set(expected) & set(actual)):
        want, (abc, xyz, revenue, cv) = expected[client], actual[client]
        cv_differs = (want.cv is None) != (cv is None) or (
            want.cv is not None and abs(want.cv - Decimal(cv)) > Decimal("0.0001")
        )
        if (want.abc, want.xyz) != (abc, xyz) or want.revenue_t12 != revenue or cv_differs:
            diffs.append(
                f"client {client}: files {want.abc}{want.xyz} revenue_t12={want.revenue_t12} cv={want.cv}; "
                f"mart {abc}{xyz} revenue_t12={revenue} cv={cv}"
            )
    assert not diffs, _report(f"abc_xyz_clients {grain} {start}", diffs)


@pytest.mark.parametrize(("grain", "start"), PERIODS)
def test_stability_types_and_summary(truth: MartsTruth, conn: psycopg.Connection, grain: str, start: date) -> None:
    expected = truth.stability(start, GRAIN_MONTHS[grain])
    assert {"growing", "falling", "lost", "new"} <= {row.stability_type for row in expected.values()}
    rows = conn.execute(
        """select client_id, stability_type, revenue_period, revenue_base from marts.client_stability
           where period_grain = %s and period_start = %s and comparison_base = 'sply'""",
        (grain, start),
    ).fetchall()
    actual = {r[0]: r[1:] for r in rows}
    diffs = _diff_keys(expected, actual, "client")
    for client in sorted(set(expected) & set(actual)):
        want = expected[client]
        if (want.stability_type, want.revenue_period, want.revenue_base) != actual[client]:
            diffs.append(
                f"client {client}: files {want.stability_type} P={want.revenue_period} B={want.revenue_base}; "
                f"mart {actual[client][0]} P={actual[client][1]} B={actual[client][2]}"
            )
    assert not diffs, _report(f"client_stability {grain} {start}", diffs)

    summary = truth.stability_summary(expected)
    rows = conn.execute(
        """select stability_type, clients, clients_share, revenue_share, revenue_period
           from marts.client_stability_summary
           where period_grain = %s and period_start = %s and dimension_type = 'company'""",
        (grain, start),
    ).fetchall()
    actual_summary = {r[0]: r[1:] for r in rows}
    diffs = _diff_keys(summary, actual_summary, "type")
    for kind in sorted(set(summary) & set(actual_summary)):
        (n, share, revenue_share, revenue), (m_n, m_share, m_revenue_share, m_revenue) = (
            summary[kind],
            actual_summary[kind],
        )
        if (
            n != m_n
            or revenue != m_revenue
            # the mart stores shares rounded to 4 places (half up), so compare exactly at that scale
            or round_half_up(share, 4) != Decimal(m_share)
            or round_half_up(revenue_share or Decimal(0), 4) != Decimal(m_revenue_share or 0)
        ):
            diffs.append(
                f"type {kind}: files n={n} share={share:.6f} revenue={revenue} revenue_share={revenue_share}; "
                f"mart n={m_n} share={m_share} revenue={m_revenue} revenue_share={m_revenue_share}"
            )
    assert not diffs, _report(f"client_stability_summary {grain} {start}", diffs)


@pytest.mark.parametrize(("grain", "start"), PERIODS)
def test_lost_sales_by_channel(truth: MartsTruth, conn: psycopg.Connection, grain: str, start: date) -> None:
    expected = truth.lost_sales_by_channel(truth.stability(start, GRAIN_MONTHS[grain]))
    assert any(total > 0 for _, _, total in expected.values()), "the demo data should have lost sales"
    rows = conn.execute(
        """select channel, falling_loss_rub, lost_loss_rub, lost_sales_thousand_rub
           from marts.lost_sales_by_channel where period_grain = %s and period_start = %s""",
        (grain, start),
    ).fetchall()
    actual = {r[0]: tuple(r[1:]) for r in rows}
    diffs = _diff_keys(expected, actual, "channel")
    for channel in sorted(set(expected) & set(actual)):
        if expected[channel] != actual[channel]:
            diffs.append(f"channel {channel}: files (falling, lost, k₽) {expected[channel]}; mart {actual[channel]}")
    assert not diffs, _report(f"lost_sales_by_channel {grain} {start}", diffs)


def _panel_values(fact: Decimal | None, target: Decimal | None) -> tuple[Decimal | None, ...]:
    fulfilment = None
    if fact is not None and target:
        fulfilment = round_half_up(100 * fact / target, 2)
    return (
        None if fact is None else round_half_up(fact, 2),
        None if target is None else round_half_up(target, 2),
        fulfilment,
    )


@pytest.mark.parametrize(("grain", "start"), PERIODS)
def test_kpi_panel_per_manager_and_company(
    truth: MartsTruth, conn: psycopg.Connection, grain: str, start: date
) -> None:
    components = truth.kpi_components(start, GRAIN_MONTHS[grain])
    managers = {m: row for m, row in components.items() if m is not None}
    assert managers, "the demo month should have managers with plans and sales"
    rows = conn.execute(
        """select kpi_level, coalesce(department_id, '-'), coalesce(manager_id, '-'), kpi_code,
                  fact_value, target_value, fulfilment_pct
           from marts.kpi_panel
           where period_grain = %s and period_start = %s and kpi_code = any(%s)""",
        (grain, start, list(KPI_CODES)),
    ).fetchall()
    actual = {(level, department, manager, code): tuple(values) for level, department, manager, code, *values in rows}
    mart_managers = {manager for level, _, manager, _ in actual if level == "manager"}
    departments: dict[str, list[ManagerMonth]] = defaultdict(list)
    expected: dict[tuple[str, str, str, str], tuple[Decimal | None, ...]] = {}
    for manager in set(managers) | mart_managers:
        row = managers.get(manager, ManagerMonth())
        department = truth.department_of.get(manager)
        if department is not None:
            departments[department].append(row)
        for code, (fact, target) in row.kpis().items():
            expected[("manager", department or "-", manager, code)] = _panel_values(fact, target)
    for department, rows_of_department in departments.items():
        for code, (fact, target) in truth.company(rows_of_department).kpis().items():
            expected[("department", department, "-", code)] = _panel_values(fact, target)
    for code, (fact, target) in truth.company(components.values()).kpis().items():
        expected[("company", "-", "-", code)] = _panel_values(fact, target)
    diffs = _diff_keys(expected, actual, "row")
    for key in sorted(set(expected) & set(actual)):
        if expected[key] != actual[key]:
            diffs.append(f"{key}: files (fact, target, %) {expected[key]}; mart {actual[key]}")
    assert not diffs, _report(f"kpi_panel {grain} {start}", diffs)
