"""The reference recomputation itself (marts_truth.py) on a tiny hand-made demo directory with
numbers worked out by hand (no database needed)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.marts_truth import MartsTruth


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _doc(number: str, day: str, counterparty: str, amount: str, vat: str, *, includes_vat: bool, **flags: Any) -> dict:
    return {
        "Ref_Key": number,
        "Number": number,
        "Date": f"{day}T10:00:00",
        "Posted": flags.get("posted", True),
        "DeletionMark": flags.get("deleted", False),
        "Контрагент_Key": counterparty,
        "Менеджер_Key": "u1",
        "ЦенаВключаетНДС": includes_vat,
        "Товары": [{"LineNumber": "1", "Сумма": float(amount), "СуммаНДС": float(vat)}],
    }


def _demo(tmp_path: Path) -> MartsTruth:
    onec, b24 = tmp_path / "onec", tmp_path / "bitrix24"
    _write(b24 / "users.jsonl", [{"ID": "11", "NAME": "Алексей", "LAST_NAME": "Иванов", "UF_DEPARTMENT": [3]}])
    _write(onec / "Catalog_Пользователи.jsonl", [{"Ref_Key": "u1", "Description": " иванов  Алексей"}])
    _write(onec / "Catalog_Партнеры.jsonl", [{"Ref_Key": "p1", "КаналСбыта": "Опт", "ОсновнойМенеджер_Key": "u1"}])
    inns = {"r1": "7707083893", "r2": "500100732259", "r3": "123", "r4": "456", "r5": "789"}
    _write(
        onec / "Catalog_Контрагенты.jsonl",
        [{"Ref_Key": k, "ИНН": v, "КПП": None, "Партнер_Key": "p1", "DeletionMark": False} for k, v in inns.items()],
    )
    for name in ("requisites", "companies", "deals", "activities"):
        _write(b24 / f"{name}.jsonl", [])
    _write(
        onec / "Document_РеализацияТоваровУслуг.jsonl",
        [
            _doc("1", "2025-06-01", "r1", "840", "140", includes_vat=True),  # 700 without VAT
            _doc("2", "2026-01-10", "r1", "960", "160", includes_vat=True),  # 800
            _doc("3", "2026-02-10", "r2", "200", "33.33", includes_vat=False),  # 200: VAT on top
            _doc("4", "2024-02-01", "r3", "10", "0", includes_vat=False),
            _doc("5", "2026-03-01", "r3", "50", "0", includes_vat=False),
            _doc("6", "2026-03-02", "r3", "1000", "0", includes_vat=False, posted=False),
            _doc("7", "2026-03-03", "r3", "1000", "0", includes_vat=False, deleted=True),
            _doc("8", "2025-05-01", "r4", "30", "0", includes_vat=False),
            _doc("9", "2025-04-01", "r5", "40", "0", includes_vat=False),
            _doc("10", "2025-05-01", "r5", "60", "0", includes_vat=False),
        ],
    )
    _write(
        onec / "Document_ВозвратТоваровОтКлиента.jsonl",
        [_doc("В1", "2026-03-05", "r2", "60", "10", includes_vat=True)],  # −50
    )
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "sales_plans.csv").write_text(
        "Месяц;ID менеджера;План выручки, руб;План новых клиентов;Целевая конверсия, %;"
        "Норматив звонков;Норматив встреч;Норматив задач\n"
        "01.01.2026;11;1000,50;1;;4;2;1\n",
        encoding="utf-8",
    )
    return MartsTruth(tmp_path, date(2026, 10, 31))


def test_abc_xyz_by_hand(tmp_path: Path) -> None:
    truth = _demo(tmp_path)
    # window Oct 2025 – Sep 2026: r1 800, r2 200 − 50 = 150, r3 50 (unposted and deleted
    # documents ignored), r4 and r5 0; total 1000 → r1 0.80 (A, inclusive), r2 0.95 (B), rest C
    result = truth.abc_xyz(date(2026, 10, 1))
    assert {c: (r.abc, r.revenue_t12) for c, r in result.items()} == {
        "7707083893": ("A", Decimal("800")),
        "500100732259": ("B", Decimal("150")),
        "onec:r3": ("C", Decimal("50")),
        "onec:r4": ("C", Decimal("0")),
        "onec:r5": ("C", Decimal("0")),
    }
    # one month of 800 in 12: σ / mean = sqrt(11) = 3.3166 → Z; no revenue → Z without a CV
    assert (result["7707083893"].cv, result["7707083893"].xyz) == (Decimal("3.3166"), "Z")
    assert (result["onec:r4"].cv, result["onec:r4"].xyz) == (None, "Z")


def test_stability_and_lost_sales_by_hand(tmp_path: Path) -> None:
    truth = _demo(tmp_path)
    rows = truth.stability(date(2026, 1, 1), 12)  # 2026 vs 2025
    assert {c: (r.stability_type, r.revenue_period, r.revenue_base) for c, r in rows.items()} == {
        "7707083893": ("growing", Decimal("800"), Decimal("700.00")),  # 800 ≥ 700 × 1.1
        "500100732259": ("new", Decimal("150"), Decimal("0.00")),
        "onec:r3": ("returned", Decimal("50"), Decimal("0.00")),  # bought in 2024, not in 2025
        "onec:r4": ("one-off", Decimal("0"), Decimal("30.00")),
        "onec:r5": ("lost", Decimal("0"), Decimal("100.00")),
    }
    summary = truth.stability_summary(rows)
    assert summary["growing"] == (1, Decimal("0.2"), Decimal(800) / Decimal(1000), Decimal(800))
    # lost sales: only the lost client's base (one-off clients are their own type)
    assert truth.lost_sales_by_channel(rows) == {"Опт": (Decimal(0), Decimal("100.00"), Decimal("0.100"))}


def test_kpi_components_by_hand(tmp_path: Path) -> None:
    truth = _demo(tmp_path)
    manager = truth.kpi_components(date(2026, 1, 1))["11"]
    kpis = manager.kpis()
    assert kpis["sales_plan"] == (Decimal("800"), Decimal("1000.50"))
    assert kpis["new_clients"] == (Decimal(0), Decimal(1))  # r2 starts in February
    assert kpis["funnel_conversion"] == (None, Decimal("37"))  # no deals; empty target → default 37 %
    assert kpis["activity_norms"] == (Decimal(0), Decimal(7))
    quarter = truth.kpi_components(date(2026, 1, 1), 3)["11"].kpis()
    assert quarter["sales_plan"] == (Decimal("1000"), Decimal("1000.50"))  # 800 + 200 + 50 − 50
    assert quarter["new_clients"][0] == Decimal(1)
