"""ИНН check digits against numbers checked by hand."""

from __future__ import annotations

import random

import pytest

from hc_demo.inn import corrupt_inn, make_inn
from ingestion.inn import complete_inn, is_valid_inn


def test_known_valid_ten_digit() -> None:
    # Sberbank: 7*2+7*4+0*10+7*3+0*5+8*9+3*4+8*6+9*8 = 267; 267 % 11 = 3 -> last digit 3
    assert is_valid_inn("7707083893")


def test_known_valid_twelve_digit() -> None:
    # 500100732259: n11 = (5*7+0*2+0*4+1*10+0*3+0*5+7*9+3*4+2*6+2*8) % 11 % 10 = 148 % 11 = 5
    #               n12 = (5*3+0*7+0*2+1*4+0*10+0*3+7*5+3*9+2*4+2*6+5*8) % 11 % 10 = 141 % 11 = 9
    assert is_valid_inn("500100732259")


@pytest.mark.parametrize(
    "value",
    ["7707083894", "500100732258", "500100732269", "770708389", "77070838933", "77070838a3", "", None, 7707083893],
)
def test_invalid(value: object) -> None:
    assert not is_valid_inn(value)


def test_complete_inn_matches_hand_computation() -> None:
    assert complete_inn("770708389") == "7707083893"
    assert complete_inn("5001007322") == "500100732259"


def test_make_inn_is_valid_and_regional() -> None:
    rng = random.Random(1)
    for length in (10, 12):
        for _ in range(200):
            inn = make_inn(rng, length, "78")
            assert len(inn) == length and inn.startswith("78") and is_valid_inn(inn)


def test_corrupt_inn_fails_the_check() -> None:
    rng = random.Random(2)
    for _ in range(100):
        good = make_inn(rng, 10)
        bad = corrupt_inn(rng, good)
        assert len(bad) == 10 and bad != good and not is_valid_inn(bad)
