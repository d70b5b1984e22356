"""Issue 15, item 6: the client-development marts for an arbitrary pair of periods (dbt var
compare_periods, grain 'custom') and over the whole history (compare_periods: all), built by dbt
on a small files-only data set whose stability types, lost sales and concentration are worked
out by hand below."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from conftest import DbtDatabase
from raw_dataset import RawDataset, land

pytestmark = pytest.mark.slow

AS_OF = "2026-06-30"
# current period 1 March - 30 April 2026 (2 months) against base period 1 October - 31 December
# 2025 (3 months): not a calendar grain, and not what stability_base (sply) would compare
PAIR = "2026-03-01..2026-04-30:2025-10-01..2025-12-31"
SELECT = ["--select", "+lost_sales_by_channel", "+client_concentration", "+dim_clients", "--exclude", "test_type:unit",
          "--indirect-selection", "cautious"]

# client -> its sales lines (day, amount); revenue = amount (revenue_includes_vat false)
LINES: dict[str, list[tuple[str, int]]] = {
    "Альфа": [("2025-09-05", 100), ("2025-10-10", 1000), ("2026-03-10", 1500)],
    "Бета": [("2025-09-06", 100), ("2025-11-11", 1000), ("2026-04-01", 950)],
    "Вега": [("2025-09-01", 500), ("2025-12-01", 2000), ("2026-03-05", 1200)],
    "Гамма": [("2025-09-02", 300), ("2025-10-20", 700), ("2026-06-01", 50)],
    "Дельта": [("2025-11-15", 400)],
    "Эпсилон": [("2026-04-10", 250)],
    "Зета": [("2025-09-03", 600), ("2026-03-20", 300)],
    "Эта": [("2026-01-15", 80), ("2026-02-10", 90)],
}


def dataset() -> RawDataset:
    ds = RawDataset()
    n = 0
    for client, lines in LINES.items():
        for day, amount in lines:
            n += 1
            ds.add("files__sales_lines", f"CMP-{n}|1", {
                "client_name": f"ООО {client}", "date": day, "document_number": f"CMP-{n}", "product": "Товар 1",
                "quantity": 1, "amount": amount, "manager": "Смирнова Анна", "channel": "Розница",
            })
    return ds


def build(db: DbtDatabase, compare: str) -> None:
    variables = json.dumps({"as_of_date": AS_OF, "compare_periods": compare})
    db.dbt("build", *SELECT, "--vars", variables)


def query(db: DbtDatabase, sql: str) -> list[tuple]:
    with psycopg.connect(db.url) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def landed(dbt_database: DbtDatabase) -> DbtDatabase:
    with psycopg.connect(dbt_database.url) as conn:
        land(conn, dataset())
    dbt_database.dbt("seed", "--vars", json.dumps({"as_of_date": AS_OF}))
    return dbt_database


def test_custom_pair_stability_and_lost_sales_by_hand(landed: DbtDatabase) -> None:
    build(landed, PAIR)
    rows = query(landed, """
        select clients.client_name, stability.stability_type, stability.revenue_period, stability.revenue_base,
            stability.period_start, stability.period_label
        from marts.client_stability as stability
        inner join marts.dim_clients as clients on stability.client_id = clients.client_id
        where stability.period_grain = 'custom'""")
    types = {name.removeprefix("ООО "): (kind, period, base) for name, kind, period, base, _start, _label in rows}
    # P = lines dated 2026-03-01..2026-04-30, B = lines dated 2025-10-01..2025-12-31, change 10 %:
    assert types == {
        "Альфа": ("growing", Decimal(1500), Decimal(1000)),  # 1500 >= 1000 * 1.1 = 1100
        "Бета": ("stable", Decimal(950), Decimal(1000)),  # 900 < 950 < 1100
        "Вега": ("falling", Decimal(1200), Decimal(2000)),  # 1200 <= 2000 * 0.9 = 1800
        "Гамма": ("lost", Decimal(0), Decimal(700)),  # bought in B, not in P; 2 purchase days by then
        "Дельта": ("one-off", Decimal(0), Decimal(400)),  # bought in B, not in P; its only purchase day
        "Эпсилон": ("new", Decimal(250), Decimal(0)),  # first purchase ever in P
        "Зета": ("returned", Decimal(300), Decimal(0)),  # not in B, bought before B (2025-09-03) and in P
        # Эта bought only between B and P: no row
    }
    assert {(start, label) for *_, start, label in rows} == {(date(2026, 3, 1), "2026-03-01..2026-04-30")}
    # lost sales = Σ falling (B − P) + Σ lost B = (2000 − 1200) + 700 = 1500 ₽ = 1.5 thousand
    lost = query(landed, """
        select sum(falling_loss_rub), sum(lost_loss_rub), sum(lost_sales_thousand_rub), sum(falling_clients),
            sum(lost_clients)
        from marts.lost_sales_by_channel where period_grain = 'custom'""")
    assert lost == [(Decimal(800), Decimal(700), Decimal("1.500"), 1, 1)]
    # the calendar grains are still there and unchanged by the pair: 2026-H1 against 2025-H1 (sply),
    # which has no data (the first is 2025-09-01): no base, never growth
    half = query(landed, """
        select distinct stability_type from marts.client_stability
        where period_grain = 'half' and period_start = '2026-01-01' and stability_type != 'new'""")
    assert half == [("no-base",)]
    # both periods of the pair are in client_period_revenue: base Альфа 1000 + Бета 1000 + Вега 2000
    # + Гамма 700 + Дельта 400 = 5100; current 1500 + 950 + 1200 + 250 + 300 = 4200
    totals = query(landed, """
        select period_start, sum(revenue) from marts.client_period_revenue
        where period_grain = 'custom' group by period_start order by period_start""")
    assert totals == [(date(2025, 10, 1), Decimal(5100)), (date(2026, 3, 1), Decimal(4200))]


def test_whole_history_top_share_by_hand(landed: DbtDatabase) -> None:
    build(landed, "all")
    # revenue over all data: Альфа 2600, Бета 2050, Вега 3700, Гамма 1050, Дельта 400, Эпсилон 250,
    # Зета 900, Эта 170 = 11120 from 8 buying clients. Top 10 %: ceil(0.8) = 1 client, Вега 3700
    # -> 3700 / 11120 = 0.33273 -> 0.3327; top 20 %: ceil(1.6) = 2, Вега + Альфа = 6300 -> 0.56655 -> 0.5665
    shares = query(landed, """
        select top_share_of_clients, buying_clients, company_revenue, top_clients, top_clients_revenue,
            top_clients_revenue_share
        from marts.client_concentration where period_grain = 'custom' order by top_share_of_clients""")
    assert shares == [
        (Decimal("0.10"), 8, Decimal(11120), 1, Decimal(3700), Decimal("0.3327")),
        (Decimal("0.20"), 8, Decimal(11120), 2, Decimal(6300), Decimal("0.5665")),
    ]
    # the whole history has no base: every client's first purchase is in it, so all are new
    kinds = query(landed, "select stability_type, count(*) from marts.client_stability "
                          "where period_grain = 'custom' group by stability_type")
    assert kinds == [("new", 8)]
    labels = query(landed, "select distinct period_label from marts.client_period_revenue where period_grain = 'custom'")
    assert labels == [("all",)]


def test_malformed_pair_fails_compile_naming_the_var(landed: DbtDatabase) -> None:
    out = landed.dbt("compile", "--select", "int_periods", "--vars",
                     json.dumps({"compare_periods": "2026-03-01..2026-04-30:2026-04-01..2026-05-31"}), check=False)
    assert out.returncode != 0 and "compare_periods" in out.stdout and "overlap" in out.stdout
