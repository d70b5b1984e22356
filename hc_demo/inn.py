"""Random ИНН for the demo data set: valid ones and ones with a typo.

The check digits themselves are the product's (`ingestion.inn`).
"""

from __future__ import annotations

import random

from ingestion.inn import complete_inn, is_valid_inn


def make_inn(rng: random.Random, length: int = 10, region_code: str | None = None) -> str:
    """A random valid ИНН of `length` (10 or 12) digits, optionally in a 2-digit region."""
    if length not in (10, 12):
        raise ValueError(f"ИНН length must be 10 or 12, got {length}")
    region = region_code if region_code is not None else f"{rng.randint(1, 99):02d}"
    if len(region) != 2 or not region.isdigit():
        raise ValueError(f"region code must be 2 digits, got {region!r}")
    body_len = (9 if length == 10 else 10) - 2
    body = "".join(str(rng.randint(0, 9)) for _ in range(body_len))
    return complete_inn(region + body)


def corrupt_inn(rng: random.Random, inn: str) -> str:
    """The same-length ИНН with one digit changed so that the check fails (a typo)."""
    for _ in range(100):
        pos = rng.randrange(len(inn) - 1)
        new_digit = str((int(inn[pos]) + rng.randint(1, 9)) % 10)
        candidate = inn[:pos] + new_digit + inn[pos + 1 :]
        if not is_valid_inn(candidate):
            return candidate
    raise RuntimeError("could not corrupt ИНН")  # pragma: no cover - every typo in one digit fails
