"""Russian taxpayer numbers (ИНН): check digits and validation.

ИНН of a legal entity has 10 digits, the last one a check digit; ИНН of a person or sole
trader has 12 digits, the last two check digits. Each check digit is a weighted sum of the
preceding digits modulo 11, then modulo 10 (the weights are fixed by the Federal Tax Service).
The first two digits are the region code of the tax office that issued the number.

The file loader checks ИНН with `is_valid_inn`; the demo generator (`demo.inn`) makes valid ones.
"""

from __future__ import annotations

_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def is_valid_inn(value: object) -> bool:
    """True when `value` is a 10- or 12-digit string whose check digits are correct.

    Surrounding whitespace is ignored; anything else (letters, other lengths, None) is invalid.
    """
    if not isinstance(value, str):
        return False
    s = value.strip()
    if not s.isascii() or not s.isdigit() or len(s) not in (10, 12):
        return False
    d = [int(c) for c in s]
    if len(s) == 10:
        return _check_digit(d[:9], _W10) == d[9]
    return _check_digit(d[:10], _W11) == d[10] and _check_digit(d[:11], _W12) == d[11]


def complete_inn(prefix: str) -> str:
    """Append the check digit(s) to a 9-digit (legal entity) or 10-digit (person) prefix."""
    if not prefix.isdigit() or len(prefix) not in (9, 10):
        raise ValueError(f"ИНН prefix must be 9 or 10 digits, got {prefix!r}")
    d = [int(c) for c in prefix]
    if len(prefix) == 9:
        return prefix + str(_check_digit(d, _W10))
    d.append(_check_digit(d, _W11))
    d.append(_check_digit(d, _W12))
    return "".join(str(x) for x in d)
