"""Parsers for the values found in Russian spreadsheet and 1C report exports.

Each parser takes the cell (a string from a text file, or a number/date from XLSX) and returns
the typed value or raises `ValueError` with a message saying what was expected.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from ingestion.demo.inn import is_valid_inn

_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009\u2007'")
_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")
_MONTH_ISO = re.compile(r"^(\d{4})-(\d{1,2})$")
_MONTH_DMY = re.compile(r"^(\d{1,2})\.(\d{4})$")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value: Any) -> str:
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX stores codes typed as numbers as floats
    return str(value).strip()


def parse_number(value: Any) -> int | float:
    """`1 234,56`, `1\u00a0234,56`, `1234.56`, `-5`, `12%` -> a number (int when integral)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        try:
            number = float(text)  # fast path: plain 1234.5
        except ValueError:
            try:
                # `1 234,56` with plain or no-break spaces: the same result as the general path
                # below whenever float() accepts it (any `.`, `%` or second `,` makes it fail)
                number = float(text.replace("\u00a0", "").replace(" ", "").replace(",", ".", 1))
            except ValueError:
                number = _parse_number_text(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _parse_number_text(text: str) -> float:
    text = text.translate(_SPACES).rstrip("%")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    elif "," in text and "." in text:  # 1.234,56 (German style) or 1,234.56
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number like 1 234,56") from None


def parse_int(value: Any) -> int:
    number = parse_number(value)
    if isinstance(number, float):
        raise ValueError("expected a whole number")
    return number


def parse_date(value: Any) -> date:
    """`dd.mm.yyyy` (optionally with a time), ISO `yyyy-mm-dd`, or an XLSX date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return _parse_date_text(str(value).strip())


@lru_cache(maxsize=8192)
def _parse_date_text(text: str) -> date:  # exports repeat the same few hundred dates
    m = _DMY.match(text)
    try:
        if m:
            year = int(m.group(3))
            if len(m.group(3)) == 2:
                year += 2000
            return date(year, int(m.group(2)), int(m.group(1)))
        m = _ISO.match(text)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ValueError("not a real calendar date") from None
    raise ValueError("expected a date dd.mm.yyyy or yyyy-mm-dd")


def parse_month(value: Any) -> date:
    """A month as its first day: `01.03.2025`, `03.2025`, `2025-03`, `2025-03-01` or a date cell."""
    if isinstance(value, (date, datetime)) or not isinstance(value, str):
        day = parse_date(value)
        return day.replace(day=1)
    text = value.strip()
    for pattern, year_group, month_group in ((_MONTH_ISO, 1, 2), (_MONTH_DMY, 2, 1)):
        m = pattern.match(text)
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
    if not text.isdigit() or len(text) not in (10, 12):
        raise ValueError("expected an ИНН of 10 or 12 digits")
    if not is_valid_inn(text):
        raise ValueError("ИНН check digits are wrong")
    return text


PARSERS = {
    "text": parse_text,
    "number": parse_number,
    "int": parse_int,
    "date": parse_date,
    "month": parse_month,
    "inn": parse_inn,
}
