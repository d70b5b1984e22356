from __future__ import annotations

import math

import numpy as np
import pytest

from predictions import gamma_gamma
from predictions.bgnbd import BgNbdParams
from predictions.gamma_gamma import GammaGammaParams

from .cdnow import cdnow_summary, cdnow_with_value


def test_log_likelihood_small_case_worked_by_hand() -> None:
    # p=1, q=2, gamma=1, x=1, m=3:
    # G(3)/(G(1) G(2)) * 1^2 * 3^0 * 1^1 / (1 + 3)^3 = 2/64
    ll = gamma_gamma.log_likelihood(GammaGammaParams(1.0, 2.0, 1.0), [1], [3.0])
    assert ll[0] == pytest.approx(math.log(2 / 64), rel=1e-12)
    # p=2, q=3, gamma=4, x=2, m=1: G(7)/(G(4) G(3)) * 4^3 * 1^3 * 2^4 / (4 + 2)^7 = 60 * 64 * 16 / 279936
    ll2 = gamma_gamma.log_likelihood(GammaGammaParams(2.0, 3.0, 4.0), [2], [1.0])
    assert ll2[0] == pytest.approx(math.log(60 * 64 * 16 / 6**7), rel=1e-12)


def test_conditional_expected_average_profit_worked_by_hand() -> None:
    params = GammaGammaParams(p=1.0, q=2.0, v=1.0)
    # x=1, m=3: p (gamma + x m) / (p x + q - 1) = 4 / 2 = 2;  x=0: population mean p gamma/(q-1) = 1
    value = gamma_gamma.conditional_expected_average_profit(params, [1, 0], [3.0, 0.0])
    assert value.tolist() == pytest.approx([2.0, 1.0])
    assert params.population_mean == 1.0


def test_fit_reproduces_fader_hardie_on_cdnow() -> None:
    data = cdnow_with_value()
    repeat = data[data["x"] > 0]
    params = gamma_gamma.fit(repeat["x"], repeat["zbar"])
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": p=6.25, q=3.74, gamma=15.44
    assert params.p == pytest.approx(6.25, abs=0.01)
    assert params.q == pytest.approx(3.74, abs=0.01)
    assert params.v == pytest.approx(15.44, abs=0.01)


def test_clv_one_month_worked_by_hand() -> None:
    # one month, no discount: CLV = E[Y(1 month)] * E[M]; with T=0, x=0 this is the new-customer curve
    bg = BgNbdParams(r=1.0, alpha=30.0, a=2.0, b=1.0)
    gg = GammaGammaParams(p=1.0, q=2.0, v=10.0)  # population mean 10
    clv = gamma_gamma.customer_lifetime_value(
        bg, gg, [0], [0], [0], [0.0], months=1, days_per_month=30.0, monthly_discount_rate=0.0
    )
    # E[X(30)] with alpha=30: 2 * (1 - 1/2 * 2F1(1,1;2;1/2)) = 2 - 2 ln 2
    assert clv[0] == pytest.approx((2 - 2 * math.log(2)) * 10.0, rel=1e-12)
    discounted = gamma_gamma.customer_lifetime_value(
        bg, gg, [0], [0], [0], [0.0], months=1, days_per_month=30.0, monthly_discount_rate=0.25
    )
    assert discounted[0] == pytest.approx(clv[0] / 1.25, rel=1e-12)


def test_clv_agrees_with_lifetimes_on_cdnow() -> None:
    lifetimes = pytest.importorskip("lifetimes")
    import pandas as pd

    summary = cdnow_summary()
    values = cdnow_with_value()
    bg = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    gg = GammaGammaParams(p=6.25, q=3.74, v=15.44)
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series({"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b})
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit() in lifetimes
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series({"p": gg.p, "q": gg.q, "v": gg.v})
    monetary = values["zbar"].where(values["x"] > 0, 0.0)
    # CDNOW is in weeks; lifetimes' freq="W" counts a month as 4.345 weeks
    theirs = ggf.customer_lifetime_value(
        bgf, summary["frequency"], summary["recency"], summary["T"], monetary, time=12, discount_rate=0.01, freq="W"
    )
    ours = gamma_gamma.customer_lifetime_value(
        bg,
        gg,
        summary["frequency"],
        summary["recency"],
        summary["T"],
        monetary,
        months=12,
        days_per_month=4.345 * 7,
        time_units_per_day=1 / 7,
        monthly_discount_rate=0.01,
    )
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-6)
