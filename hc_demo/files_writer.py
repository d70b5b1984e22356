"""Writes the user-maintained reference files of the demo (Russian headers, `;`, decimal commas).

Formats are deliberately mixed so the file readers are exercised: rosstat_outlets.csv is
windows-1251, nps_answers.xlsx is an Excel workbook, the rest are UTF-8 text.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

from hc_demo import reference as ref
from hc_demo.bitrix_writer import BitrixTotals, manager_user_id
from hc_demo.formats import ru_date, ru_decimal
from hc_demo.onec_writer import Product, SalesTotals
from hc_demo.population import Party, Population

ROSSTAT = "rosstat_outlets.csv"
POTENTIAL = "potential_clients.csv"
PLANS = "sales_plans.csv"
ASSORTMENT = "assortment_matrix.csv"
NPS = "nps_answers.xlsx"
MARKETING = "marketing_spend.csv"


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> int:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return len(rows)


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return out


def write_rosstat(files: Path, pop: Population, rng: random.Random, outlets_scale: float = 1.0) -> int:
    """Outlets per region and year; the latest year (as_of's) equals the seed's «Общая КБ» times
    `outlets_scale` (the generator scales it with the clients above the default 3,000, so a large
    company's clients stay a fraction of its regions' outlets)."""
    rows = []
    latest = pop.as_of.year
    for region in ref.REGIONS:
        value = region.outlets if outlets_scale == 1.0 else int(round(region.outlets * outlets_scale))
        for year in range(latest, pop.start.year - 1, -1):
            rows.append([region.name, str(year), str(value)])
            value = int(round(value * rng.uniform(1.005, 1.04)))  # outlets shrink over time
    rows.sort(key=lambda r: (r[0], r[1]))
    return _write_csv(files / ROSSTAT, ["Регион", "Год", "Количество торговых точек"], rows, "cp1251")


def write_potential(files: Path, lists: dict[int, dict[int, list[Party]]]) -> int:
    rows = []
    for year, by_region in lists.items():
        for r, parties in by_region.items():
            for p in parties:
                rows.append(
                    [
                        str(year),
                        ref.REGIONS[r].name,
                        p.inn,
                        p.name,
                        str(manager_user_id(p.manager)),
                        ru_decimal(float(p.potential_rub)),
                    ]
                )
    header = ["Год", "Регион", "ИНН", "Наименование", "Менеджер", "Потенциальная емкость, руб/год"]
    return _write_csv(files / POTENTIAL, header, rows)


def write_plans(files: Path, pop: Population, sales: SalesTotals, b24: BitrixTotals, rng: random.Random) -> int:
    """Per manager and month. Plans follow the actuals times a manager-specific ambition, so some
    managers over- and some under-fulfil."""
    rows = []
    months = _months(pop.start, date(pop.as_of.year, 12, 1))
    ambition = [rng.uniform(0.85, 1.25) for _ in ref.MANAGERS]
    for m_idx, person in enumerate(ref.MANAGERS):
        for month in months:
            actual = sales.revenue_by_manager_month.get((m_idx, month))
            if actual is None or month > pop.as_of:
                last_year = month.replace(year=month.year - 1)
                actual = sales.revenue_by_manager_month.get((m_idx, last_year), 0.0) * 1.1
            plan = round(actual * ambition[m_idx] * rng.uniform(0.93, 1.07), -3)
            new_clients = sales.new_clients_by_manager_month.get((m_idx, month), 0)
            norms = [
                b24.activities_by_manager_month.get((m_idx, month, kind), 0) for kind in ("CALL", "MEETING", "TASK")
            ]
            rows.append(
                [
                    ru_date(month),
                    str(manager_user_id(m_idx)),
                    person.full_name,
                    ru_decimal(plan),
                    str(max(0, round(new_clients * ambition[m_idx]))),
                    str(rng.randint(0, 4)),
                    ru_decimal(rng.choice([3.0, 5.0, 7.5, 10.0]), 1),
                    ru_decimal(37.0, 1),
                    *[str(max(1, round(n * ambition[m_idx]))) for n in norms],
                ]
            )
    header = [
        "Месяц",
        "ID менеджера",
        "Менеджер",
        "План выручки, руб",
        "План новых клиентов",
        "План прироста стабильной КБ",
        "План роста среднего заказа, %",
        "Целевая конверсия, %",
        "Норматив звонков",
        "Норматив встреч",
        "Норматив задач",
    ]
    return _write_csv(files / PLANS, header, rows)


def write_assortment(files: Path, products: list[Product], rng: random.Random) -> int:
    rows = []
    for channel in ref.CHANNELS:
        cats = rng.sample(range(len(ref.CATEGORIES)), 2)
        for c in sorted(cats):
            rows.append([channel, ref.CATEGORIES[c][0], ""])
        for product in sorted(rng.sample(products, 4), key=lambda pr: pr.sku):
            rows.append([channel, ref.CATEGORIES[product.category][0], product.sku])
    return _write_csv(files / ASSORTMENT, ["Канал сбыта", "Категория", "Артикул"], rows)


def write_marketing(files: Path, pop: Population, b24: BitrixTotals, rng: random.Random) -> int:
    rows = []
    for month in _months(pop.start, pop.as_of):
        for sid, _, _, cost in ref.SOURCES:
            leads = b24.leads_by_source_month.get((sid, month), 0)
            spend = round((leads + 1) * cost * rng.uniform(0.8, 1.2), 2)
            rows.append([ru_date(month), sid, ru_decimal(spend)])
    return _write_csv(files / MARKETING, ["Месяц", "Источник", "Затраты, руб"], rows)


def write_nps(files: Path, pop: Population, rng: random.Random) -> int:
    """Survey answers per department with deliberately different NPS levels, as XLSX."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Ответы"
    ws.append(["Дата", "ИНН", "Отдел", "Оценка"])
    n = 0
    for p in pop.buyers:
        if p.acquired is None or rng.random() > 0.4:
            continue
        dept_code = ref.MANAGERS[p.manager].department
        promoters, detractors = ref.NPS_PROFILE[dept_code]
        day = p.acquired + timedelta(days=rng.randrange(10, 400))
        if day > pop.as_of:
            continue
        r = rng.random()
        score = (
            rng.randint(9, 10)
            if r < promoters
            else (rng.randint(0, 6) if r < promoters + detractors else rng.randint(7, 8))
        )
        ws.append([datetime(day.year, day.month, day.day), p.inn, ref.DEPARTMENTS[dept_code][1], score])
        ws.cell(row=ws.max_row, column=1).number_format = "DD.MM.YYYY"
        n += 1
    fixed = datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    buffer = io.BytesIO()
    wb.save(buffer)
    _write_reproducible_zip(files / NPS, buffer.getvalue())
    return n


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _write_reproducible_zip(path: Path, data: bytes) -> None:
    """Re-pack a zip with fixed entry timestamps and a fixed document `modified` time (openpyxl
    stamps the wall clock on save) so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            dst.writestr(entry, content)
    path.write_bytes(out.getvalue())
