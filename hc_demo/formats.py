"""Value formats of the source systems and a streaming JSON-lines writer."""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
B24_TZ = "+03:00"


def guid(rng: random.Random) -> str:
    """A random version-4 GUID as 1C prints it (lower case, dashed)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def data_version(rng: random.Random) -> str:
    """An opaque base64 value like 1C's DataVersion ("AAAACAAAAAA=")."""
    return base64.b64encode(rng.randint(1, 5000).to_bytes(4, "big") + bytes(4)).decode("ascii")


def b24_dt(value: datetime) -> str:
    """Bitrix24 legacy datetime: ISO with the portal's +03:00 offset."""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + B24_TZ


def onec_dt(value: datetime | date) -> str:
    """1C OData datetime: ISO without a timezone."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def at_time(day: date, rng: random.Random, start_hour: int = 9, end_hour: int = 18) -> datetime:
    """A working-hours moment on `day`."""
    seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
    return datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)


def money(value: float) -> str:
    """Bitrix24 money string: "19999.99"."""
    return f"{value:.2f}"


def ru_decimal(value: float, places: int = 2) -> str:
    """Russian file decimal: comma separator, no thousands grouping ("1234,50")."""
    return f"{value:.{places}f}".replace(".", ",")


def ru_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


class JsonlWriter:
    """Writes one compact JSON object per line and counts them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.count = 0
        self._fh = path.open("w", encoding="utf-8", newline="\n")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        self._fh.write("\n")
        self.count += 1

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
