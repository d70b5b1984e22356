"""Client-development and KPI-panel numbers recomputed in plain Python from the generated demo
files (never from the warehouse), following docs/kpi.md (the KPI definitions) with the default
variables of docs/kpi_variables.md:

- revenue = posted, not deletion-marked 1C sales lines minus posted, not deletion-marked
  returns, excluding VAT (Сумма − СуммаНДС when ЦенаВключаетНДС);
- client = valid ИНН (branch КПП → ИНН-КПП), else `<system>:<record id>`
  (docs/architecture.md «Client identity»); a document of a deletion-marked counterparty stays
  `onec:<Ref_Key>`;
- client attributes: 1C wins (partner's channel, partner's main manager matched to a
  Bitrix24 user by «Фамилия Имя»), else the Bitrix24 company (UF_CRM_HC_CHANNEL,
  ASSIGNED_BY_ID).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, getcontext
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.demo_truth import _csv, client_key

getcontext().prec = 40

ABC_MONTHS = 12
ABC_A_MAX_SHARE = Decimal("0.80")
ABC_B_MAX_SHARE = Decimal("0.95")
XYZ_X_MAX_CV = Decimal("0.10")
XYZ_Y_MAX_CV = Decimal("0.25")
STABILITY_CHANGE = Decimal("0.10")
FUNNEL_TARGET_PCT_DEFAULT = Decimal("37")
PORTAL_TZ = ZoneInfo("Europe/Moscow")
NORM_ACTIVITY_TYPES = ("1", "2", "3")  # meeting, call, task


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line, parse_float=Decimal)


def round_half_up(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _norm_name(name: str | None) -> str | None:
    text = " ".join((name or "").split()).lower()
    return text or None


def _portal_date(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(PORTAL_TZ).date()


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _plan_decimal(value: str | None) -> Decimal | None:
    text = (value or "").strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
    return Decimal(text) if text else None


@dataclass(frozen=True)
class Line:
    client_id: str
    day: date
    kind: str  # 'sale' | 'return'
    revenue: Decimal
    document: str  # document number
    manager_id: str | None  # Bitrix24 user id of the document's 1C manager


@dataclass(frozen=True)
class Abc:
    abc: str
    xyz: str
    revenue_t12: Decimal
    cv: Decimal | None


@dataclass(frozen=True)
class Stability:
    stability_type: str
    revenue_period: Decimal
    revenue_base: Decimal


@dataclass
class ManagerMonth:
    """Additive KPI components of one manager and month. As in marts.kpi_components, a manager
    that has any component has every other one at 0 (not null)."""

    revenue: Decimal = Decimal(0)
    revenue_plan: Decimal = Decimal(0)
    new_clients: int = 0
    new_clients_plan: int = 0
    deals_created: int = 0
    deals_won: int = 0
    conversion_target_sum: Decimal = Decimal(0)
    plan_rows: int = 0
    activities_done: int = 0
    activities_norm: int = 0

    def add(self, name: str, value: Any) -> None:
        setattr(self, name, getattr(self, name) + value)

    def kpis(self) -> dict[str, tuple[Decimal | None, Decimal | None]]:
        """(fact, target) per KPI code, unrounded (marts.kpi_panel rounds both to 2 places)."""

        conversion = None
        if self.deals_created:
            conversion = Decimal(100) * Decimal(self.deals_won or 0) / Decimal(self.deals_created)
        conversion_target = FUNNEL_TARGET_PCT_DEFAULT
        if self.plan_rows:
            conversion_target = self.conversion_target_sum / Decimal(self.plan_rows)
        return {
            "sales_plan": (self.revenue, self.revenue_plan),
            "new_clients": (Decimal(self.new_clients), Decimal(self.new_clients_plan)),
            "funnel_conversion": (conversion, conversion_target),
            "activity_norms": (Decimal(self.activities_done), Decimal(self.activities_norm)),
        }


@dataclass
class Client:
    client_id: str
    channel: str = "Не указан"
    manager_id: str | None = None
    sale_days: set[date] = field(default_factory=set)


class MartsTruth:
    def __init__(self, data_dir: Path, as_of: date) -> None:
        self.as_of = as_of
        onec = data_dir / "onec"
        b24 = data_dir / "bitrix24"
        files = data_dir / "files"

        users = list(_jsonl(b24 / "users.jsonl"))
        self.department_of: dict[str, str] = {
            str(u["ID"]): str(u["UF_DEPARTMENT"][0]) for u in users if u.get("UF_DEPARTMENT")
        }
        b24_by_name: dict[str, str] = {}
        for user in sorted(users, key=lambda u: (len(str(u["ID"])), str(u["ID"]))):
            name = _norm_name(f"{user.get('LAST_NAME') or ''} {user.get('NAME') or ''}")
            if name is not None:
                b24_by_name.setdefault(name, str(user["ID"]))
        self.manager_of_onec_user: dict[str, str] = {}
        for user in _jsonl(onec / "Catalog_Пользователи.jsonl"):
            matched = b24_by_name.get(_norm_name(user.get("Description")) or "")
            if matched is not None:
                self.manager_of_onec_user[user["Ref_Key"]] = matched

        # clients: 1C side first (Ref_Key order among a client's counterparties), then Bitrix24
        partners = {p["Ref_Key"]: p for p in _jsonl(onec / "Catalog_Партнеры.jsonl")}
        self.clients: dict[str, Client] = {}
        self.client_of_counterparty: dict[str, str] = {}
        onec_attrs: dict[str, tuple[str, str | None, str | None]] = {}
        for c in sorted(_jsonl(onec / "Catalog_Контрагенты.jsonl"), key=lambda c: c["Ref_Key"]):
            if c.get("DeletionMark"):
                continue
            key = client_key(c.get("ИНН"), c.get("КПП"), c["Ref_Key"])
            self.client_of_counterparty[c["Ref_Key"]] = key
            partner = partners.get(c.get("Партнер_Key") or "", {})
            manager = self.manager_of_onec_user.get(partner.get("ОсновнойМенеджер_Key") or "")
            onec_attrs.setdefault(key, (c["Ref_Key"], partner.get("КаналСбыта") or None, manager))
        requisites: dict[str, dict[str, Any]] = {}
        for rq in sorted(_jsonl(b24 / "requisites.jsonl"), key=lambda r: (len(str(r["ID"])), str(r["ID"]))):
            if str(rq.get("ENTITY_TYPE_ID")) == "4" and rq.get("ENTITY_ID") is not None:
                requisites.setdefault(str(rq["ENTITY_ID"]), rq)
        b24_attrs: dict[str, tuple[str | None, str | None]] = {}
        for company in sorted(_jsonl(b24 / "companies.jsonl"), key=lambda c: (len(str(c["ID"])), str(c["ID"]))):
            company_id = str(company["ID"])
            rq = requisites.get(company_id, {})
            key = client_key(rq.get("RQ_INN"), rq.get("RQ_KPP"), company_id)
            if key.startswith("onec:"):
                key = f"bitrix24:{company_id}"
            b24_attrs.setdefault(
                key, (company.get("UF_CRM_HC_CHANNEL") or None, str(company.get("ASSIGNED_BY_ID") or "") or None)
            )
        for key in set(onec_attrs) | set(b24_attrs):
            _, onec_channel, onec_manager = onec_attrs.get(key, ("", None, None))
            b24_channel, b24_manager = b24_attrs.get(key, (None, None))
            self.clients[key] = Client(key, onec_channel or b24_channel or "Не указан", onec_manager or b24_manager)
        self.identity_clients = frozenset(self.clients)

        self.lines: list[Line] = []
        for kind, entity in (
            ("sale", "Document_РеализацияТоваровУслуг"),
            ("return", "Document_ВозвратТоваровОтКлиента"),
        ):
            for doc in _jsonl(onec / f"{entity}.jsonl"):
                if not doc.get("Posted") or doc.get("DeletionMark"):
                    continue
                day = date.fromisoformat(doc["Date"][:10])
                if day > as_of:
                    continue
                counterparty = doc.get("Контрагент_Key") or "без контрагента"
                client = self.client_of_counterparty.get(counterparty, f"onec:{counterparty}")
                manager = self.manager_of_onec_user.get(doc.get("Менеджер_Key") or "")
                sign = 1 if kind == "sale" else -1
                for item in doc.get("Товары") or []:
                    revenue = _decimal(item.get("Сумма"))
                    if doc.get("ЦенаВключаетНДС"):
                        revenue -= _decimal(item.get("СуммаНДС"))
                    self.lines.append(Line(client, day, kind, sign * revenue, doc["Number"], manager))
        for line in self.lines:
            client = self.clients.setdefault(line.client_id, Client(line.client_id))
            if line.kind == "sale":
                client.sale_days.add(line.day)
        first_any: dict[str, date] = {}
        for line in self.lines:
            first_any[line.client_id] = min(first_any.get(line.client_id, line.day), line.day)
        # the month of the client's first purchase (first line when it never bought) opens its
        # zero-filled monthly series: lines before that month do not count
        self.first_purchase: dict[str, date | None] = {
            c: (min(self.clients[c].sale_days) if self.clients[c].sale_days else None) for c in first_any
        }
        self.anchor: dict[str, date] = {c: self.first_purchase[c] or first_any[c] for c in first_any}
        self.monthly: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for line in self.lines:
            self.monthly[line.client_id][line.day.replace(day=1)] += line.revenue

        self.deals = list(_jsonl(b24 / "deals.jsonl"))
        self.activities = list(_jsonl(b24 / "activities.jsonl"))
        self.plans = _csv(files / "sales_plans.csv")

    # ---- revenue per client and period ---------------------------------------------------

    def revenue(self, client: str, start: date, end: date) -> Decimal:
        """Revenue of [start, end) counted by whole months (periods are whole months)."""
        months = self.monthly.get(client, {})
        anchor_month = self.anchor[client].replace(day=1)
        return sum((v for m, v in months.items() if start <= m < end and m >= anchor_month), Decimal(0))

    # ---- ABC / XYZ -------------------------------------------------------------------------

    def abc_xyz(self, period_end: date) -> dict[str, Abc]:
        """Classes of every client with a first purchase before `period_end` (exclusive), over
        the `ABC_MONTHS` months before it."""
        start = add_months(period_end, -ABC_MONTHS)
        totals: dict[str, Decimal] = {}
        cvs: dict[str, Decimal | None] = {}
        for client, anchor in self.anchor.items():
            if anchor >= period_end:
                continue
            values = [self.revenue(client, add_months(start, i), add_months(start, i + 1)) for i in range(ABC_MONTHS)]
            total = sum(values, Decimal(0))
            totals[client] = total
            mean = total / ABC_MONTHS
            variance = sum((v * v for v in values), Decimal(0)) / ABC_MONTHS - mean * mean
            cvs[client] = round_half_up(max(variance, Decimal(0)).sqrt() / mean, 4) if mean > 0 else None
        positive = sum((t for t in totals.values() if t > 0), Decimal(0))
        result: dict[str, Abc] = {}
        cumulative = Decimal(0)
        for client in sorted(totals, key=lambda c: (-totals[c], c)):
            total = totals[client]
            cumulative += max(total, Decimal(0))
            if total <= 0:
                abc = "C"
            elif cumulative <= ABC_A_MAX_SHARE * positive:
                abc = "A"
            elif cumulative <= ABC_B_MAX_SHARE * positive:
                abc = "B"
            else:
                abc = "C"
            cv = cvs[client]
            xyz = "Z" if cv is None or cv > XYZ_Y_MAX_CV else ("X" if cv <= XYZ_X_MAX_CV else "Y")
            result[client] = Abc(abc, xyz, total, cv)
        return result

    # ---- stability (base: same period last year) --------------------------------------------

    def stability(self, start: date, months: int) -> dict[str, Stability]:
        end = add_months(start, months)
        base_start, base_end = add_months(start, -12), add_months(end, -12)
        result: dict[str, Stability] = {}
        for client, anchor in self.anchor.items():
            if anchor >= end:
                continue
            days = self.clients[client].sale_days
            first = self.first_purchase[client]
            days_p = sum(1 for d in days if start <= d < end)
            days_b = sum(1 for d in days if base_start <= d < base_end)
            days_to_date = sum(1 for d in days if d < end)
            rev_p = self.revenue(client, start, end)
            rev_b = round_half_up(self.revenue(client, base_start, base_end), 2)
            kind: str | None
            if first is not None and start <= first < end:
                kind = "new"
            elif days_p == 0 and days_b > 0 and days_to_date == 1:
                kind = "one-off"
            elif days_p == 0 and days_b > 0:
                kind = "lost"
            elif days_p == 0:
                kind = None
            elif days_b == 0 and first is not None and first < base_start:
                kind = "returned"
            elif rev_p >= rev_b * (1 + STABILITY_CHANGE):
                kind = "growing"
            elif rev_p <= rev_b * (1 - STABILITY_CHANGE):
                kind = "falling"
            else:
                kind = "stable"
            if kind is not None:
                result[client] = Stability(kind, rev_p, rev_b)
        return result

    @staticmethod
    def stability_summary(rows: dict[str, Stability]) -> dict[str, tuple[int, Decimal, Decimal | None, Decimal]]:
        """Company level per type: (clients, clients share, revenue share or None, revenue)."""
        n = len(rows)
        total = sum((r.revenue_period for r in rows.values()), Decimal(0))
        out: dict[str, tuple[int, Decimal, Decimal | None, Decimal]] = {}
        for kind in sorted({r.stability_type for r in rows.values()}):
            group = [r for r in rows.values() if r.stability_type == kind]
            revenue = sum((r.revenue_period for r in group), Decimal(0))
            out[kind] = (len(group), Decimal(len(group)) / n, revenue / total if total else None, revenue)
        return out

    def lost_sales_by_channel(self, rows: dict[str, Stability]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
        """Per channel: (Σ falling B − P, Σ lost B, thousand rubles rounded to 3 places)."""
        falling: dict[str, Decimal] = defaultdict(Decimal)
        lost: dict[str, Decimal] = defaultdict(Decimal)
        for client, row in rows.items():
            channel = self.clients[client].channel
            falling[channel] += row.revenue_base - row.revenue_period if row.stability_type == "falling" else 0
            lost[channel] += row.revenue_base if row.stability_type == "lost" else 0
        return {
            ch: (falling[ch], lost[ch], round_half_up((falling[ch] + lost[ch]) / 1000, 3))
            for ch in set(falling) | set(lost)
        }

    # ---- KPI panel ----------------------------------------------------------------------

    def kpi_components(self, month: date, months: int = 1) -> dict[str | None, ManagerMonth]:
        """Components per manager (None = no responsible manager) for the `months` calendar
        months from `month` (1 = a month, 3 = a quarter, 12 = a year)."""
        end = add_months(month, months)
        out: dict[str | None, ManagerMonth] = defaultdict(ManagerMonth)
        for line in self.lines:
            if month <= line.day < end:
                out[line.manager_id].add("revenue", line.revenue)
        for client_id, first in self.first_purchase.items():
            if first is not None and month <= first < end and client_id in self.identity_clients:
                out[self.clients[client_id].manager_id].add("new_clients", 1)
        for deal in self.deals:
            if month <= _portal_date(deal["DATE_CREATE"]) < end:
                manager = str(deal.get("ASSIGNED_BY_ID") or "") or None
                out[manager].add("deals_created", 1)
                out[manager].add("deals_won", 1 if deal.get("STAGE_SEMANTIC_ID") == "S" else 0)
        for activity in self.activities:
            if activity.get("COMPLETED") != "Y" or str(activity.get("TYPE_ID")) not in NORM_ACTIVITY_TYPES:
                continue
            stamp = next(activity[k] for k in ("END_TIME", "START_TIME", "DEADLINE", "CREATED") if activity.get(k))
            if month <= _portal_date(stamp) < end:
                out[str(activity.get("RESPONSIBLE_ID") or "") or None].add("activities_done", 1)
        for plan in self.plans:
            if not month <= datetime.strptime(plan["Месяц"].strip(), "%d.%m.%Y").date().replace(day=1) < end:
                continue
            manager = plan["ID менеджера"].strip() or None
            row = out[manager]
            row.add("revenue_plan", _plan_decimal(plan["План выручки, руб"]) or Decimal(0))
            row.add("new_clients_plan", int(_plan_decimal(plan["План новых клиентов"]) or 0))
            target = _plan_decimal(plan["Целевая конверсия, %"])
            row.add("conversion_target_sum", FUNNEL_TARGET_PCT_DEFAULT if target is None else target)
            row.add("plan_rows", 1)
            norms = [
                _plan_decimal(plan[k]) or Decimal(0) for k in ("Норматив звонков", "Норматив встреч", "Норматив задач")
            ]
            row.add("activities_norm", int(sum(norms, Decimal(0))))
        return dict(out)

    @staticmethod
    def company(rows: Iterable[ManagerMonth]) -> ManagerMonth:
        total = ManagerMonth()
        for row in rows:
            for name in total.__dataclass_fields__:
                total.add(name, getattr(row, name))
        return total
