"""What the write-back wants Bitrix24 to hold: company custom fields and tasks, read from the warehouse.

Pure data: no Bitrix24 calls here (see `predictions.writeback`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from hc_base.clickhouse import engine_of

from .settings import prediction_settings

ACTIONS_TABLE = "marts.next_best_actions"
CLIENTS_TABLE = "marts.dim_clients"
PREDICTIONS_TABLE = "predictions.client_predictions"
# tasks per manager pushed on one run: the top of the ranked list, not the whole backlog
MARKER_RE = re.compile(r"\[HC:([^\]]+)\]")


class WritebackError(RuntimeError):
    """The warehouse is not ready for a write-back; the message says what to run."""


@dataclass(frozen=True)
class CompanyField:
    """A company custom field. `name` is without the `UF_CRM_` prefix Bitrix24 adds."""

    name: str
    label: str
    user_type: str  # "string" | "double"
    source_column: str

    @property
    def field_name(self) -> str:
        return f"UF_CRM_{self.name}"


COMPANY_FIELDS: tuple[CompanyField, ...] = (
    CompanyField("HC_ABC", "ABC-класс (Счастливый клиент)", "string", "abc_class"),
    CompanyField("HC_XYZ", "XYZ-класс (Счастливый клиент)", "string", "xyz_class"),
    CompanyField("HC_STABILITY", "Тип стабильности (Счастливый клиент)", "string", "stability_type_ru"),
    CompanyField("HC_SEGMENT", "Сегмент (Счастливый клиент)", "string", "segment_cell"),
    CompanyField("HC_CHURN_RISK", "Риск оттока (Счастливый клиент)", "string", "churn_risk_label"),
    CompanyField("HC_CLV_12M", "Ценность клиента за 12 мес., руб. (Счастливый клиент)", "double", "clv_12m"),
)


@dataclass(frozen=True)
class TaskAction:
    action_key: str
    responsible_id: int
    title: str
    description: str
    bitrix24_company_id: int | None

    @property
    def marker(self) -> str:
        return f"[HC:{self.action_key}]"

    @property
    def task_title(self) -> str:
        return f"{self.marker} {self.title}"


def normalise(field: CompanyField, value: Any) -> str | None:
    """The value as Bitrix24 returns it in a legacy list (strings), for comparison and writing.
    Numbers are compared as decimals rounded to kopecks, so "12.50" equals "12.5"."""
    if value is None or value == "" or value is False:
        return None
    if field.user_type == "double":
        try:
            number = Decimal(str(value)).quantize(Decimal("0.01"))
        except InvalidOperation:
            return str(value)
        return format(number.normalize(), "f") if number != number.to_integral() else str(int(number))
    return str(value)


def _table_exists(conn: Any, qualified: str) -> bool:
    """On Postgres (psycopg) or ClickHouse (hc_base.clickhouse.ClickHouseConnection)."""
    if engine_of(conn) == "clickhouse":
        return bool(conn.table_exists(qualified))
    row = conn.execute("select to_regclass(%s)", (qualified,)).fetchone()
    return row is not None and row[0] is not None


def desired_company_values(conn: Any) -> dict[int, dict[str, str | None]]:
    """{company id: {UF_CRM_...: value}} for every client linked to a Bitrix24 company.
    Predictions (churn risk, CLV) come from the latest as_of; absent predictions leave those
    fields out (nothing is cleared)."""
    if not _table_exists(conn, CLIENTS_TABLE):
        raise WritebackError(f"{CLIENTS_TABLE} does not exist: run dbt (dbt build) before the write-back")
    have_predictions = _table_exists(conn, PREDICTIONS_TABLE)
    # the latest as_of's rows, filtered before the join (ClickHouse takes no subquery in a join's ON)
    prediction_join = (
        f"""left join (
                select p.client_id as client_id, p.churn_risk_label as churn_risk_label, p.clv_12m as clv_12m
                from {PREDICTIONS_TABLE} as p
                where p.as_of = (select max(latest.as_of) from {PREDICTIONS_TABLE} as latest)
            ) as pred
            on pred.client_id = cast(dim.client_id as text)"""
        if have_predictions
        else ""
    )
    prediction_cols = (
        "pred.churn_risk_label, pred.clv_12m" if have_predictions else "null as churn_risk_label, null as clv_12m"
    )
    rows = conn.execute(
        f"""select cast(dim.bitrix24_company_id as text), dim.abc_class, dim.xyz_class, dim.stability_type_ru,
                   dim.segment_cell, {prediction_cols}
            from {CLIENTS_TABLE} as dim {prediction_join}
            where dim.bitrix24_company_id is not null
            order by 1"""
    ).fetchall()
    columns = ["abc_class", "xyz_class", "stability_type_ru", "segment_cell", "churn_risk_label", "clv_12m"]
    out: dict[int, dict[str, str | None]] = {}
    for company, *values in rows:
        try:
            company_id = int(company)
        except (TypeError, ValueError):
            continue  # not a Bitrix24 id: nothing to write to
        by_column = dict(zip(columns, values, strict=True))
        wanted: dict[str, str | None] = {}
        for field in COMPANY_FIELDS:
            if field.source_column in ("churn_risk_label", "clv_12m") and by_column[field.source_column] is None:
                continue
            value = by_column[field.source_column]
            wanted[field.field_name] = normalise(field, value)
        out[company_id] = wanted
    return out


def desired_tasks(conn: Any, *, per_manager: int | None = None) -> list[TaskAction]:
    """The top `per_manager` actions of each manager from the ranked action list (default: the dbt
    var `writeback_tasks_per_manager`)."""
    if per_manager is None:
        per_manager = prediction_settings().tasks_per_manager
    if not _table_exists(conn, ACTIONS_TABLE):
        return []
    rows = conn.execute(
        f"""select action_key, cast(manager_id as text), action_title, reason, revenue_at_stake,
                   cast(bitrix24_company_id as text)
            from {ACTIONS_TABLE}
            where manager_id is not null and action_rank <= %s
            order by manager_id, action_rank""",
        (per_manager,),
    ).fetchall()
    tasks = []
    for key, manager, title, reason, at_stake, company in rows:
        try:
            responsible = int(manager)
        except (TypeError, ValueError):
            continue
        money = f"{Decimal(str(at_stake or 0)).quantize(Decimal('1')):,}".replace(",", " ")
        tasks.append(
            TaskAction(
                action_key=str(key),
                responsible_id=responsible,
                title=str(title),
                description=f"{reason}\nВыручка под риском / потенциал: {money} руб.\n"
                "Создано «Счастливым клиентом»; метка в названии не даёт создать задачу повторно.",
                bitrix24_company_id=int(company) if company and str(company).isdigit() else None,
            )
        )
    return tasks
