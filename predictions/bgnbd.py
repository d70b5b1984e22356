"""BG/NBD ("beta-geometric / negative binomial distribution") model of repeat purchasing.

Fader, Hardie, Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). Notation of the paper:

- ``x``  (frequency): number of repeat purchases (purchase days after the first one);
- ``t_x`` (recency): time of the last purchase, measured from the first purchase;
- ``T``:  length of observation, from the first purchase to the end of the period.

While alive, a customer buys with a Poisson rate ``lambda ~ Gamma(r, alpha)``; after each
purchase the customer drops out with probability ``p ~ Beta(a, b)``.
The time unit is whatever the inputs use (the paper and CDNOW use weeks; `predictions.model`
uses days). Only ``alpha`` depends on the unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


def _as_arrays(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    x = np.asarray(frequency, dtype=float)
    t_x = np.asarray(recency, dtype=float)
    t_obs = np.asarray(T, dtype=float)
    if not (x.shape == t_x.shape == t_obs.shape):
        raise ValueError(
            f"frequency, recency and T must have the same shape, got {x.shape}, {t_x.shape}, {t_obs.shape}"
        )
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > t_obs + 1e-9):
        raise ValueError("BG/NBD needs frequency >= 0 and 0 <= recency <= T for every customer")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("BG/NBD: a customer with frequency 0 must have recency 0")
    return x, t_x, t_obs


def log_likelihood(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """Per-customer log-likelihood, equation (6) of FHL 2005:

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))
    """
    x, t_x, t_obs = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    term_alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t_obs)
    repeat = x > 0
    term_dropped = np.full_like(x, -np.inf)
    xr = x[repeat]
    term_dropped[repeat] = betaln(a + 1, b + xr - 1) - betaln(a, b) - (r + xr) * np.log(alpha + t_x[repeat])
    return common + np.logaddexp(term_alive, term_dropped)


def fit(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    initial: BgNbdParams | None = None,
) -> BgNbdParams:
    """Maximum-likelihood estimates of (r, alpha, a, b), optimising over their logarithms
    (so every parameter stays positive). `weights` counts identical customers (optional)."""
    x, t_x, t_obs = _as_arrays(frequency, recency, T)
    if x.size == 0:
        raise ValueError("BG/NBD: cannot fit on zero customers")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    start = initial or BgNbdParams(1.0, max(float(np.mean(t_obs)), 1e-3), 1.0, 1.0)
    x0 = np.log([start.r, start.alpha, start.a, start.b])
    scale = float(w.sum())

    def negative_ll(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(np.clip(log_params, -30.0, 30.0))
        ll = log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x, t_obs)
        value = -float(np.sum(w * ll)) / scale
        return value if np.isfinite(value) else 1e100

    # Nelder-Mead finds the basin, bounded L-BFGS-B polishes it; the bounds (e^-12..e^12 in
    # scaled units) keep a misspecified sample from drifting to a degenerate corner for ever
    bounds = [(-12.0, 12.0)] * len(x0)
    coarse = minimize(
        negative_ll, x0, method="Nelder-Mead", bounds=bounds, options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000}
    )
    polished = minimize(negative_ll, coarse.x, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10})
    best = polished.x if polished.fun <= coarse.fun else coarse.x
    r, alpha, a, b = (float(v) for v in np.exp(best))
    return BgNbdParams(r, alpha, a, b)


def _alive_odds(params: BgNbdParams, x: FloatArray, t_x: FloatArray, t_obs: FloatArray) -> FloatArray:
    """[x > 0] * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x): the odds of having dropped out."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.zeros_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_odds = np.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + t_obs[repeat]) - np.log(alpha + t_x[repeat]))
    odds[repeat] = np.exp(np.minimum(log_odds, 700.0))
    return odds


def probability_alive(params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """P(customer still active at T | x, t_x, T), equation (13) of FHL 2005."""
    x, t_x, t_obs = _as_arrays(frequency, recency, T)
    return 1.0 / (1.0 + _alive_odds(params, x, t_x, t_obs))


def expected_purchases_new_customer(params: BgNbdParams, t: ArrayLike) -> FloatArray:
    """E[X(t)] for a customer just acquired, equation (7) of FHL 2005."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    tt = np.asarray(t, dtype=float)
    z = tt / (alpha + tt)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + tt)) ** r * hyp2f1(r, b, a + b - 1, z))


def conditional_expected_purchases(
    params: BgNbdParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next `t` time units, equation (10):

    (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
    / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    """
    x, t_x, t_obs = _as_arrays(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    tt = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    z = tt / (alpha + t_obs + tt)
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
    ratio = np.exp((r + x) * (np.log(alpha + t_obs) - np.log(alpha + t_obs + tt)))
    numerator = (a + b + x - 1) / (a - 1) * (1 - ratio * hyp)
    return numerator / (1.0 + _alive_odds(params, x, t_x, t_obs))
