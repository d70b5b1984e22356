"""The simulated clients and prospects of the demo company and their purchase schedules.

Everything here is drawn from one `random.Random`, in a fixed order, so a seed gives the same
population every time. Dates are plain `date`s; the writers turn them into source formats.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from hc_demo import reference as ref
from hc_demo.inn import corrupt_inn, make_inn

BEHAVIOURS: tuple[tuple[str, float], ...] = (
    ("one_off", 0.08),
    ("returned", 0.07),
    ("growing", 0.20),
    ("falling", 0.15),
    ("stable", 0.50),
)
TREND_PER_YEAR: dict[str, float] = {
    "growing": 1.45, "falling": 0.6, "stable": 1.0, "returned": 1.0, "one_off": 1.0, "rare": 1.0,
}
# the long tail (Population(long_tail=...)): one-off buyers and rare ones, who buy a few times
# over the whole history whatever the others' purchase frequency; their number of purchases does
# not scale with `target_lines`
TAIL_BEHAVIOURS = ("one_off", "rare")
RARE_GAP_DAYS = (60, 420)  # between a rare buyer's purchases
RARE_MAX_REPEATS = 4
LEGACY_SHARE = 0.45


@dataclass
class Party:
    """A legal entity or sole trader: a 1C counterparty and/or a Bitrix24 company."""

    idx: int
    inn: str
    kpp: str  # "" for sole traders
    is_legal: bool
    name: str
    full_name: str
    region: int  # index into ref.REGIONS
    channel: str
    size: str
    potential_rub: int
    manager: int  # index into ref.MANAGERS
    source_id: str
    # buyers only
    acquired: date | None = None
    legacy: bool = False
    behaviour: str = "prospect"
    regular: bool = True
    contract: bool = False  # buys once a month on a contract: steady monthly revenue (XYZ X/Y)
    churn: date | None = None
    pause: tuple[date, date] | None = None
    base_gap: float = 30.0
    base_order: float = 10_000.0
    # identity-matching mess
    in_bitrix: bool = True
    requisite: str = "ok"  # ok / none / invalid
    bad_inn: str = ""
    # keys filled by the writers
    keys: dict[str, str] = field(default_factory=dict)
    schedule: list[int] = field(default_factory=list)  # date ordinals of real purchases


def weighted(rng: random.Random, options: tuple[str, ...] | list[str], weights: tuple[float, ...] | list[float]) -> str:
    return rng.choices(list(options), weights=list(weights), k=1)[0]


def latest_full_year(as_of: date) -> int:
    return as_of.year if (as_of.month, as_of.day) == (12, 31) else as_of.year - 1


def history_start(as_of: date, years: int) -> date:
    try:
        start = as_of.replace(year=as_of.year - years)
    except ValueError:  # 29 February
        start = as_of.replace(year=as_of.year - years, day=28)
    return start + timedelta(days=1)


class Population:
    """Builds the parties, their behaviour and the potential-client lists."""

    def __init__(self, rng: random.Random, *, clients: int, as_of: date, years: int, long_tail: float = 0.0) -> None:
        if not 0.0 <= long_tail < 1.0:
            raise ValueError(f"long_tail must be in [0, 1), got {long_tail}")
        self.rng = rng
        self.long_tail = long_tail
        self.as_of = as_of
        self.start = history_start(as_of, years)
        self.full_year = latest_full_year(as_of)
        self._inns: set[str] = set()
        self.buyers: list[Party] = []
        self.prospects: list[Party] = []
        self._build_buyers(clients)

    # -- parties -------------------------------------------------------------------------
    def _unique_inn(self, length: int, region_code: str) -> str:
        while True:
            inn = make_inn(self.rng, length, region_code)
            if inn not in self._inns:
                self._inns.add(inn)
                return inn

    def _company_name(self, is_legal: bool) -> tuple[str, str, str]:
        """(short name, full name, person last name or '')."""
        rng = self.rng
        if is_legal:
            form = rng.choice(ref.LEGAL_FORMS)
            core = f"{rng.choice(ref.NAME_WORDS_1)} {rng.choice(ref.NAME_WORDS_2)}"
            full_form = {
                "ООО": "Общество с ограниченной ответственностью",
                "АО": "Акционерное общество",
                "ПАО": "Публичное акционерное общество",
            }[form]
            return f"{form} «{core}»", f"{full_form} «{core}»", ""
        last = rng.choice(ref.PERSON_LAST)
        first = rng.choice(ref.PERSON_FIRST)
        initials = f"{first[0]}.{rng.choice(ref.PATRONYMIC_INITIALS)}."
        return f"ИП {last} {initials}", f"Индивидуальный предприниматель {last} {first}", last

    def _manager_for(self, region: int, size: str, channel: str) -> int:
        rng = self.rng
        if (size == "крупный" or channel == "Торговые сети") and rng.random() < 0.75:
            dept = "key"
        else:
            dept = ref.REGIONS[region].department
        candidates = [i for i, m in enumerate(ref.MANAGERS) if m.department == dept]
        return candidates[region % len(candidates)] if rng.random() < 0.6 else rng.choice(candidates)

    def _new_party(self, idx: int, region: int) -> Party:
        rng = self.rng
        is_legal = rng.random() < 0.85
        inn = self._unique_inn(10 if is_legal else 12, ref.REGIONS[region].inn_code)
        kpp = f"{ref.REGIONS[region].inn_code}{rng.randint(1, 99):02d}01001" if is_legal else ""
        name, full_name, _ = self._company_name(is_legal)
        size = weighted(rng, ref.SIZES, ref.SIZE_WEIGHTS) if is_legal else "мелкий"
        channel = weighted(rng, ref.CHANNELS, ref.CHANNEL_WEIGHTS)
        lo, hi = ref.SIZE_POTENTIAL_RUB[size]
        potential = int(round(rng.uniform(lo, hi), -3))
        source = weighted(rng, [s[0] for s in ref.SOURCES], [s[2] for s in ref.SOURCES])
        return Party(
            idx,
            inn,
            kpp,
            is_legal,
            name,
            full_name,
            region,
            channel,
            size,
            potential,
            self._manager_for(region, size, channel),
            source,
        )

    def _region_weights(self) -> list[float]:
        return [r.seed_active + r.seed_attracted for r in ref.REGIONS]

    def _build_buyers(self, n: int) -> None:
        rng = self.rng
        weights = self._region_weights()
        span = (self.as_of - self.start).days
        for i in range(n):
            region = rng.choices(range(len(ref.REGIONS)), weights=weights, k=1)[0]
            p = self._new_party(i, region)
            if self.buyers and p.is_legal and rng.random() < 0.015:
                # a branch: same ИНН as an earlier legal entity, its own КПП
                head = self.buyers[rng.randrange(len(self.buyers))]
                if head.is_legal:
                    p.inn, p.region, p.name = head.inn, head.region, head.name + " (филиал)"
                    p.kpp = f"{ref.REGIONS[head.region].inn_code}{rng.randint(1, 99):02d}02001"
                    p.full_name = head.full_name + " (обособленное подразделение)"
            self._set_behaviour(p, span)
            # identity matching must have work to do
            r = rng.random()
            p.in_bitrix = r >= 0.04
            r = rng.random()
            p.requisite = "none" if r < 0.05 else ("invalid" if r < 0.07 else "ok")
            if p.requisite == "invalid":
                p.bad_inn = corrupt_inn(rng, p.inn)
            self.buyers.append(p)

    def _set_behaviour(self, p: Party, span: int) -> None:
        rng = self.rng
        p.legacy = rng.random() < LEGACY_SHARE
        if p.legacy:
            p.acquired = self.start + timedelta(days=rng.randrange(0, 60))
        else:
            p.acquired = self.start + timedelta(days=rng.randrange(60, max(61, span - 3)))
        p.behaviour = weighted(rng, [b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])
        p.regular = rng.random() < 0.6
        # every fourth stable, regular buyer is on a supply contract (no extra random draw)
        p.contract = p.behaviour == "stable" and p.regular and p.idx % 4 == 0
        p.base_gap = {"крупный": 12.0, "средний": 20.0, "мелкий": 32.0}[p.size] * rng.uniform(0.7, 1.4)
        p.base_order = ref.SIZE_ORDER_RUB[p.size] * rng.uniform(0.6, 1.6)
        yearly_churn = ref.CHANNEL_CHURN[p.channel]
        years_to_churn = rng.expovariate(yearly_churn)
        churn = p.acquired + timedelta(days=int(90 + years_to_churn * 365))
        if churn < self.as_of and p.behaviour != "one_off":
            p.churn = churn
        if p.behaviour == "returned":
            base_year_start = date(self.full_year - 1, 1, 1)
            if p.acquired < base_year_start - timedelta(days=5) and rng.random() < 0.5:
                # silent through the whole year before the latest full year: "returned" in it
                pause_start = max(
                    p.acquired + timedelta(days=5), base_year_start - timedelta(days=rng.randrange(0, 40))
                )
                p.pause = (pause_start, date(self.full_year, 1, 1) + timedelta(days=rng.randrange(10, 120)))
            else:
                pause_start = p.acquired + timedelta(days=rng.randrange(45, 300))
                p.pause = (pause_start, pause_start + timedelta(days=rng.randrange(380, 480)))
            p.churn = None
        # the long tail: drawn only when asked for, so the default population is unchanged
        if self.long_tail and rng.random() < self.long_tail:
            p.behaviour = "one_off" if rng.random() < 0.5 else "rare"
            p.contract, p.churn, p.pause = False, None, None

    # -- purchases -------------------------------------------------------------------------
    def schedule(self, p: Party, frequency: float, rng: random.Random) -> list[int]:
        """Date ordinals of the real (posted) purchases of a buyer; the first is `acquired`."""
        assert p.acquired is not None
        first = p.acquired
        days = [first.toordinal()]
        if p.behaviour == "one_off":
            return days
        if p.behaviour == "rare":
            t = first
            for _ in range(rng.randint(1, RARE_MAX_REPEATS)):
                t = t + timedelta(days=rng.randrange(*RARE_GAP_DAYS))
                if t > self.as_of:
                    break
                days.append(t.toordinal())
            return days
        end = min(self.as_of, p.churn) if p.churn else self.as_of
        if p.contract:
            return days + self._contract_schedule(first, end, rng)
        cv = 0.2 if p.regular else 0.9
        k = 1.0 / (cv * cv)
        t = first
        while True:
            gap = p.base_gap / frequency * rng.gammavariate(k, 1.0 / k) / ref.SEASONALITY[t.month - 1]
            t = t + timedelta(days=max(1, int(round(gap))))
            if p.pause and p.pause[0] <= t < p.pause[1]:
                t = p.pause[1] + timedelta(days=rng.randrange(0, 20))
            if t > end:
                return days
            days.append(t.toordinal())

    @staticmethod
    def _contract_schedule(first: date, end: date, rng: random.Random) -> list[int]:
        """One delivery a month, on the contract day of the month give or take two days."""
        day_of_month = min(first.day, 26)
        year, month = first.year, first.month
        days: list[int] = []
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, 1
            t = date(year, month, day_of_month) + timedelta(days=rng.randrange(-2, 3))
            if t > end:
                return days
            days.append(t.toordinal())

    def order_amount(self, p: Party, day: date, rng: random.Random) -> float:
        """Target document amount (rubles with VAT) of a purchase on `day`."""
        assert p.acquired is not None
        if p.contract:  # contract volume: no seasonality, little noise (half of them a bit more)
            return p.base_order * 2.5 * math.exp(rng.gauss(0.0, 0.04 if p.idx % 8 == 0 else 0.16))
        years = (day - p.acquired).days / 365.0
        trend = TREND_PER_YEAR[p.behaviour] ** years
        return p.base_order * trend * ref.SEASONALITY[day.month - 1] * math.exp(rng.gauss(0.0, 0.3))

    # -- potential-client lists ----------------------------------------------------------
    def potential_lists(self) -> dict[int, dict[int, list[Party]]]:
        """year -> region -> parties on that year's potential list.

        A list holds future clients (acquired in the year or later) and never-clients. Its size
        is chosen so that attracted / potential follows the seed case table for the latest full
        year (two regions above 100%) and a similar, noisier ratio for the other years.
        """
        rng = self.rng
        years = list(range(self.start.year + 1, self.as_of.year + 1))
        need_never: dict[int, int] = {}
        plan: dict[int, dict[int, tuple[list[Party], int]]] = {}
        for year in years:
            plan[year] = {}
            for r, region in enumerate(ref.REGIONS):
                attracted = sum(
                    1
                    for p in self.buyers
                    if p.region == r and not p.legacy and p.acquired is not None and p.acquired.year == year
                )
                ratio = region.seed_attracted / region.seed_potential
                if year != self.full_year:
                    ratio *= rng.uniform(0.75, 1.05)
                # floor above 100% so even a small data set shows attraction over 100%
                size = max(1, math.floor(attracted / ratio) if ratio > 1 else round(attracted / ratio))
                future = [
                    p
                    for p in self.buyers
                    if p.region == r and not p.legacy and p.acquired is not None and p.acquired.year >= year
                ]
                n_future = min(len(future), round(size * 0.55))
                chosen = rng.sample(future, n_future) if n_future else []
                chosen.sort(key=lambda p: p.idx)
                plan[year][r] = (chosen, size - n_future)
                need_never[r] = max(need_never.get(r, 0), size - n_future)
        pool: dict[int, list[Party]] = {}
        next_idx = len(self.buyers)
        for r in range(len(ref.REGIONS)):
            pool[r] = []
            for _ in range(need_never.get(r, 0) + 3):
                p = self._new_party(next_idx, r)
                next_idx += 1
                p.requisite = "none" if rng.random() < 0.1 else "ok"
                pool[r].append(p)
                self.prospects.append(p)
        lists: dict[int, dict[int, list[Party]]] = {}
        for year in years:
            lists[year] = {}
            for r in range(len(ref.REGIONS)):
                chosen, n_never = plan[year][r]
                offset = (year * 7) % max(1, len(pool[r]) - n_never + 1)
                lists[year][r] = chosen + pool[r][offset : offset + n_never]
        return lists
