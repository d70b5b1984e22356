"""Gamma-Gamma model of spend per transaction, and customer lifetime value.

Fader, Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note), following
Fader, Hardie, Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis".
A customer's transaction values are Gamma(p, nu) around a personal mean; ``nu ~ Gamma(q, gamma)``
across customers. Fitted on customers with at least one repeat purchase (``x`` = number of
transactions averaged, ``m`` = their mean value); assumes value is independent of frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import gammaln

from . import bgnbd

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float  # the paper's gamma

    @property
    def population_mean(self) -> float:
        """E[M] = p * gamma / (q - 1) (finite only for q > 1)."""
        if self.q <= 1:
            return float("inf")
        return self.p * self.v / (self.q - 1)


def _as_arrays(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    if x.shape != m.shape:
        raise ValueError(f"frequency and monetary_value must have the same shape, got {x.shape} and {m.shape}")
    return x, m


def log_likelihood(params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
    """Per-customer log density of the observed mean value m over x transactions:

    f(m | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q)
    """
    x, m = _as_arrays(frequency, monetary_value)
    if np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs frequency > 0 and monetary_value > 0 for every customer it is fitted on")
    p, q, v = params.p, params.q, params.v
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + m * x)
    )


def fit(
    frequency: ArrayLike, monetary_value: ArrayLike, *, initial: GammaGammaParams | None = None
) -> GammaGammaParams:
    """Maximum-likelihood (p, q, gamma) on log-parameters. Pass only customers with frequency > 0."""
    x, m = _as_arrays(frequency, monetary_value)
    if x.size == 0:
        raise ValueError("Gamma-Gamma: cannot fit on zero customers (nobody has a repeat purchase)")
    start = initial or GammaGammaParams(1.0, 1.0, 1.0)
    x0 = np.log([start.p, start.q, start.v])
    # work in units of the median spend: keeps the optimiser well scaled, rescale gamma back
    scale = float(np.median(m)) or 1.0
    m_scaled = m / scale
    x0[2] -= np.log(scale)

    def negative_ll(log_params: FloatArray) -> float:
        p, q, v = np.exp(np.clip(log_params, -30.0, 30.0))
        value = -float(np.mean(log_likelihood(GammaGammaParams(p, q, v), x, m_scaled)))
        return value if np.isfinite(value) else 1e100

    # Nelder-Mead finds the basin, bounded L-BFGS-B polishes it; the bounds (e^-12..e^12 in
    # scaled units) keep a misspecified sample from drifting to a degenerate corner for ever
    bounds = [(-12.0, 12.0)] * len(x0)
    coarse = minimize(
        negative_ll, x0, method="Nelder-Mead", bounds=bounds, options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000}
    )
    polished = minimize(negative_ll, coarse.x, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10})
    best = polished.x if polished.fun <= coarse.fun else coarse.x
    p, q, v = (float(val) for val in np.exp(best))
    return GammaGammaParams(p, q, v * scale)


def conditional_expected_average_profit(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """E[M | p, q, gamma, m, x] = p (gamma + x m) / (p x + q - 1), a weighted mean of the
    population mean p gamma/(q-1) and the customer's own mean m. Customers with x = 0 get the
    population mean."""
    x, m = _as_arrays(frequency, monetary_value)
    p, q, v = params.p, params.q, params.v
    own = np.where(x > 0, m, 0.0)
    return p * (v + x * own) / (p * x + q - 1)


def customer_lifetime_value(
    bgnbd_params: bgnbd.BgNbdParams,
    gg_params: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    months: int = 12,
    days_per_month: float = 30.4375,
    time_units_per_day: float = 1.0,
    monthly_discount_rate: float = 0.01,
) -> FloatArray:
    """Discounted value of the next `months` months:

    CLV = sum_{i=1..months} (E[Y(i months)] - E[Y((i-1) months)]) * E[M] / (1 + d)^i

    with E[Y] from BG/NBD (conditional on the customer's history) and E[M] from Gamma-Gamma.
    `time_units_per_day` converts a month into the time unit of frequency/recency/T (1 for days,
    1/7 for weeks).
    """
    if months < 1:
        raise ValueError(f"months must be >= 1, got {months}")
    if monthly_discount_rate <= -1:
        raise ValueError(f"monthly_discount_rate must be > -1, got {monthly_discount_rate}")
    x, t_x, t_obs = bgnbd._as_arrays(frequency, recency, T)
    value = conditional_expected_average_profit(gg_params, x, monetary_value)
    unit = days_per_month * time_units_per_day
    clv = np.zeros_like(x)
    previous = np.zeros_like(x)
    for i in range(1, months + 1):
        current = bgnbd.conditional_expected_purchases(bgnbd_params, i * unit, x, t_x, t_obs)
        clv += (current - previous) * value / (1 + monthly_discount_rate) ** i
        previous = current
    return clv
