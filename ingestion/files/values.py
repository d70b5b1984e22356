"""Parsers for the values found in Russian spreadsheet and 1C report exports.

Each parser takes the cell (a string from a text file, or a number/date from XLSX) and returns
the typed value or raises `ValueError` with a message saying what was expected. Nothing is
guessed (the rules are in the README's «Files» section):

- numbers: ASCII digits, an optional sign, `,` or `.` as the decimal separator, thousands
  grouped by spaces (`1 234,56`) or, with both separators present, `1.234,56` / `1,234.56`.
  A lone `.` followed by exactly three digits (`1.234`) is ambiguous in a Russian export (one
  thousand two hundred thirty-four, or one point two three four) and is rejected; a lone `,`
  is always the decimal separator (`1,234` = 1.234). Exponents (`1e5`), `_`, `%` (except in
  `percent` columns), non-ASCII digits and more than 15 digits before the decimal separator
  are rejected (the warehouse column is numeric(28,6); 15 digits keep every number exact).
- dates: `dd.mm.yyyy`, `dd.mm.yy` (two-digit years are always 20yy), ISO `yyyy-mm-dd`,
  `yyyymmdd`, each optionally with a time `hh:mm[:ss]`; anything after the date that is not a
  time is rejected. Bounds (before FILES_DATE_MIN, after today + FILES_FUTURE_DAYS) are
  checked by the validator (`DateBounds`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from ingestion.inn import is_valid_inn

_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\u2007'")
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?"
_DMY = re.compile(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{2}|[0-9]{4})" + _TIME)
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})" + _TIME + r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_MONTH_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_MONTH_DMY = re.compile(r"([0-9]{1,2})\.([0-9]{4})")

# numbers (fullmatch): plain, grouped by spaces, German 1.234,56, English 1,234.56
_PLAIN = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
_AMBIGUOUS = re.compile(r"[+-]?[0-9]{1,3}\.[0-9]{3}")
_SPACED = re.compile(r"[+-]?[0-9]{1,3}(?:[ \u00a0\u202f\u2009\u2007'][0-9]{3})+(?:[.,][0-9]+)?")
_DOTS_COMMA = re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[+-]?[0-9]{1,3}(?:\.[0-9]{3}){2,}")
_COMMAS_DOT = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+|[+-]?[0-9]{1,3}(?:,[0-9]{3}){2,}")
MAX_ABS = 1e15  # at most 15 digits before the decimal separator
NUMBER_HINT = "expected a number like 1 234,56"
# a text cell a spreadsheet would run as a formula (=HYPERLINK(...), @SUM, +A1, -cmd)
_FORMULA = re.compile(r"[=@]|[+-][^0-9\s.,]")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value: Any) -> str:
    if value.__class__ is str:
        text = value.strip()
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # XLSX stores codes typed as numbers as floats
        text = str(value).strip()
    if text and _FORMULA.match(text):
        raise ValueError("looks like a spreadsheet formula (starts with = + - or @); "
                         "such text is not loaded (it would run when exported to Excel)")
    return text


def parse_number(value: Any) -> int | float:
    """`1 234,56`, `1\u00a0234,56`, `1234.56`, `-5`, `1.234,56`, `1,234.56` -> a number (int when integral)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    number = float(value) if isinstance(value, (int, float)) else _parse_number_text(str(value).strip())
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    if abs(number) >= MAX_ABS:
        raise ValueError("number too large: at most 15 digits before the decimal separator")
    return int(number) if number.is_integer() else number


def _parse_number_text(text: str) -> float:
    if _PLAIN.fullmatch(text):
        if _AMBIGUOUS.fullmatch(text):
            raise ValueError("ambiguous number: «1.234» may mean 1234 or 1,234; write 1234 or 1,234")
        return float(text.replace(",", "."))
    if _SPACED.fullmatch(text):
        plain = text.replace("\u00a0", "").replace(" ", "")
        return float((plain if plain.isascii() and "'" not in plain else plain.translate(_SPACES)).replace(",", "."))
    if _DOTS_COMMA.fullmatch(text):
        return float(text.replace(".", "").replace(",", "."))
    if _COMMAS_DOT.fullmatch(text):
        return float(text.replace(",", ""))
    if text.endswith("%"):
        raise ValueError("a percent sign in a number column; write the number without %")
    if "e" in text.lower() and any(c.isdigit() for c in text):
        raise ValueError(f"{NUMBER_HINT} (no exponent notation such as 1e5)")
    if any(c.isdigit() and not c.isascii() for c in text):
        raise ValueError(f"{NUMBER_HINT} (digits 0-9 only)")
    raise ValueError(NUMBER_HINT)


def parse_percent(value: Any) -> int | float:
    """A percentage: a number, optionally with a trailing `%` (`12,5%` -> 12.5)."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            value = text[:-1].rstrip()
    return parse_number(value)


def parse_int(value: Any) -> int:
    number = parse_number(value)
    if isinstance(number, float):
        raise ValueError("expected a whole number")
    return number


def parse_date(value: Any) -> date:
    """`dd.mm.yyyy`, `dd.mm.yy` (20yy), ISO `yyyy-mm-dd`, `yyyymmdd` (each optionally with a
    time), or an XLSX date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 20250305 typed as a number in XLSX
    return _parse_date_text(str(value).strip())


@lru_cache(maxsize=8192)
def _parse_date_text(text: str) -> date:  # exports repeat the same few hundred dates
    try:
        m = _DMY.fullmatch(text)
        if m:
            year = int(m.group(3))
            if len(m.group(3)) == 2:
                year += 2000  # the documented two-digit-year rule: 99 -> 2099 (then out of bounds)
            return date(year, int(m.group(2)), int(m.group(1)))
        m = _ISO.fullmatch(text) or _COMPACT.fullmatch(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError("not a real calendar date") from None
    raise ValueError("expected a date dd.mm.yyyy, yyyy-mm-dd or yyyymmdd")


@dataclass(frozen=True)
class DateBounds:
    """Accepted dates: from `earliest` to today + `future_days`; dates after today are loaded
    with a warning (FILES_DATE_MIN, FILES_FUTURE_DAYS)."""

    earliest: date = date(1990, 1, 1)
    future_days: int = 366
    today: date | None = None

    @property
    def latest(self) -> date:
        return (self.today or date.today()) + timedelta(days=self.future_days)

    def check(self, day: date) -> date:
        if day < self.earliest:
            raise ValueError(f"date {day.isoformat()} is before {self.earliest.isoformat()} (FILES_DATE_MIN)")
        if day > self.latest:
            raise ValueError(f"date {day.isoformat()} is more than {self.future_days} days after today "
                             "(FILES_FUTURE_DAYS; two-digit years are read as 20yy)")
        return day

    def is_future(self, day: date) -> bool:
        return day > (self.today or date.today())


def parse_month(value: Any) -> date:
    """A month as its first day: `01.03.2025`, `03.2025`, `2025-03`, `2025-03-01` or a date cell."""
    if isinstance(value, (date, datetime)) or not isinstance(value, str):
        day = parse_date(value)
        return day.replace(day=1)
    text = value.strip()
    for pattern, year_group, month_group in ((_MONTH_ISO, 1, 2), (_MONTH_DMY, 2, 1)):
        m = pattern.fullmatch(text)
        if m:
            month = int(m.group(month_group))
            if not 1 <= month <= 12:
                raise ValueError("month must be 1..12")
            return date(int(m.group(year_group)), month, 1)
    try:
        return parse_date(text).replace(day=1)
    except ValueError:
        raise ValueError("expected a month like 01.03.2025, 03.2025 or 2025-03") from None


def parse_inn(value: Any) -> str:
    """ИНН: 10 digits (organisation) or 12 digits (person), with valid check digits."""
    return _parse_inn_text(parse_text(value))


@lru_cache(maxsize=65536)
def _parse_inn_text(value: str) -> str:  # a client's ИНН repeats on every line
    text = value.translate(_SPACES)
    if not (text.isascii() and text.isdigit()) or len(text) not in (10, 12):
        raise ValueError("expected an ИНН of 10 or 12 digits")
    if not is_valid_inn(text):
        raise ValueError("ИНН check digits are wrong")
    return text


PARSERS = {
    "text": parse_text,
    "number": parse_number,
    "percent": parse_percent,
    "int": parse_int,
    "date": parse_date,
    "month": parse_month,
    "inn": parse_inn,
}
