from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from predictions import bgnbd
from predictions.bgnbd import BgNbdParams

from .cdnow import cdnow_summary

UNIT = BgNbdParams(r=1.0, alpha=1.0, a=1.0, b=1.0)


def test_log_likelihood_small_case_worked_by_hand() -> None:
    # r = alpha = a = b = 1.
    # x=0, T=1: L = B(1,1)/B(1,1) * G(1)/G(1) * 1 / (1+1)^1 = 1/2
    # x=1, t_x=1, T=2: B(1,2)/B(1,1) * 1/(1+2)^2 + B(2,1)/B(1,1) * 1/(1+1)^2 = 1/18 + 1/8 = 13/72
    ll = bgnbd.log_likelihood(UNIT, [0, 1], [0, 1], [1, 2])
    assert ll[0] == pytest.approx(math.log(1 / 2), rel=1e-12)
    assert ll[1] == pytest.approx(math.log(13 / 72), rel=1e-12)


def test_probability_alive_small_case_worked_by_hand() -> None:
    # x=1, t_x=1, T=2: 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) = 1 / (1 + 9/4) = 4/13
    # x=0: never bought again, no evidence of dropping out -> 1
    alive = bgnbd.probability_alive(UNIT, [1, 0], [1, 0], [2, 5])
    assert alive[0] == pytest.approx(4 / 13, rel=1e-12)
    assert alive[1] == 1.0


def test_expected_purchases_small_case_worked_by_hand() -> None:
    # new customer, r=1, alpha=1, a=2, b=1, t=1: (a+b-1)/(a-1) = 2;
    # 2F1(1, 1; 2; 1/2) = -ln(1-z)/z = 2 ln 2; E[X(1)] = 2 * (1 - 1/2 * 2 ln 2) = 2 - 2 ln 2
    params = BgNbdParams(r=1.0, alpha=1.0, a=2.0, b=1.0)
    assert bgnbd.expected_purchases_new_customer(params, 1.0) == pytest.approx(2 - 2 * math.log(2), rel=1e-12)
    # a customer with x=0, T=0 is a new customer: the conditional formula must agree
    conditional = bgnbd.conditional_expected_purchases(params, 1.0, [0], [0], [0])
    assert conditional[0] == pytest.approx(2 - 2 * math.log(2), rel=1e-12)


def test_fit_reproduces_fader_hardie_lee_on_cdnow() -> None:
    data = cdnow_summary()
    params = bgnbd.fit(data["frequency"], data["recency"], data["T"])
    # FHL 2005, section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    assert params.r == pytest.approx(0.243, abs=0.001)
    assert params.alpha == pytest.approx(4.414, abs=0.001)
    assert params.a == pytest.approx(0.793, abs=0.001)
    assert params.b == pytest.approx(2.426, abs=0.001)
    # and the published log-likelihood -9582.4
    total = float(np.sum(bgnbd.log_likelihood(params, data["frequency"], data["recency"], data["T"])))
    assert total == pytest.approx(-9582.4, abs=0.1)


def test_predictions_agree_with_lifetimes_on_cdnow() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    data = cdnow_summary()
    params = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    reference = lifetimes.BetaGeoFitter()
    reference.params_ = pd.Series({"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b})
    ours = bgnbd.conditional_expected_purchases(params, 39.0, data["frequency"], data["recency"], data["T"])
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(
        39.0, data["frequency"], data["recency"], data["T"]
    )
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-9)
    ours_alive = bgnbd.probability_alive(params, data["frequency"], data["recency"], data["T"])
    theirs_alive = reference.conditional_probability_alive(data["frequency"], data["recency"], data["T"])
    np.testing.assert_allclose(ours_alive, np.asarray(theirs_alive), rtol=1e-9)


def test_rejects_recency_beyond_T() -> None:
    with pytest.raises(ValueError, match="recency <= T"):
        bgnbd.log_likelihood(UNIT, [1], [5], [3])
