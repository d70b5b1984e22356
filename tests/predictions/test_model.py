from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest

from predictions import model


def test_summarise_purchases_worked_by_hand() -> None:
    d0 = date(2026, 1, 1)
    rows = [
        ("A", d0, 100.0),
        ("A", d0, 50.0),  # same day: one purchase of 150
        ("A", d0 + timedelta(days=10), 200.0),
        ("A", d0 + timedelta(days=30), 300.0),
        ("A", d0 + timedelta(days=30), -100.0),  # return on the same day: net 200
        ("B", d0 + timedelta(days=19), 500.0),
        ("B", d0 + timedelta(days=24), -500.0),  # a return-only day is no purchase
        ("B", d0 + timedelta(days=60), 70.0),  # after as_of: ignored
    ]
    daily = pd.DataFrame(rows, columns=["client_id", "purchase_date", "revenue"])
    summary = model.summarise_purchases(daily, d0 + timedelta(days=40)).set_index("client_id")
    a, b = summary.loc["A"], summary.loc["B"]
    assert (a.frequency, a.recency, a.t) == (2, 30, 40)
    assert a.monetary_avg == pytest.approx((200 + 200) / 2)  # first purchase excluded
    assert (b.frequency, b.recency, b.t, b.monetary_avg) == (0, 0, 21, 0.0)


def test_churn_risk_bands() -> None:
    bands = model.churn_risk(np.array([0.0, 0.49, 0.5, 0.79, 0.8, 1.0]))
    assert bands.tolist() == ["high", "high", "medium", "medium", "low", "low"]


def _simulated_sales(n_clients: int, as_of: date, seed: int = 7) -> list[tuple[str, date, float]]:
    """Purchases from the BG/NBD story: Poisson rate per client, dropout after each purchase."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, date, float]] = []
    for i in range(n_clients):
        rate = rng.gamma(2.0, 1 / 60.0)  # about one purchase a month
        dropout = rng.beta(1.0, 6.0)
        nu = rng.gamma(4.0, 1 / 3000.0)  # Gamma-Gamma: nu ~ Gamma(q=4, rate gamma=3000)
        day = int(rng.integers(0, 500))
        while day <= 730:
            rows.append(
                (f"c{i:04d}", date(2024, 11, 27) + timedelta(days=day), round(float(rng.gamma(6.0, 1 / nu)), 2))
            )
            if rng.random() < dropout:
                break
            day += max(1, int(rng.exponential(1 / rate)))
    return [r for r in rows if r[1] <= as_of]


def _load_sales(url: str, rows: list[tuple[str, date, float]]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.fct_sales_lines (sales_line_id text, client_id text, document_date date, revenue numeric(18,2))"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "insert into marts.fct_sales_lines values (%s, %s, %s, %s)",
                [(f"l{n}", c, d, r) for n, (c, d, r) in enumerate(rows)],
            )


def test_run_predictions_writes_one_row_per_client_idempotently(make_database: Callable[[str], str]) -> None:
    url = make_database("pred_model")
    as_of = date(2026, 11, 27)
    rows = _simulated_sales(300, as_of)
    _load_sales(url, rows)
    clients = {c for c, _, _ in rows}

    assert model.run_predictions(url, as_of) == len(clients)
    assert model.run_predictions(url, as_of) == len(clients)  # re-run replaces, never appends
    with psycopg.connect(url) as conn:
        out = pd.DataFrame(
            conn.execute(
                "select client_id, frequency, recency, t, p_alive, expected_purchases_90d, expected_purchases_365d,"
                " expected_order_value, clv_12m, churn_risk from predictions.client_predictions where as_of = %s",
                (as_of,),
            ).fetchall(),
            columns=["client_id", "frequency", "recency", "t", "p_alive", "e90", "e365", "aov", "clv", "risk"],
        )
        fits = dict(conn.execute("select model, n_clients from predictions.model_fits").fetchall())
    assert len(out) == len(clients) and out["client_id"].is_unique
    assert fits == {"bgnbd": len(clients), "gamma_gamma": int((out["frequency"] > 0).sum())}
    assert out["p_alive"].between(0, 1).all()
    assert (out["e365"] >= out["e90"]).all()
    assert (out["clv"] >= 0).all()
    # clients who never came back have p_alive exactly 1 under BG/NBD (no evidence of dropout)
    assert (out.loc[out["frequency"] == 0, "p_alive"] == 1.0).all()
    # among repeat buyers with the same history length, a long silence lowers p_alive
    repeaters = out[out["frequency"] >= 3].copy()
    repeaters["silence"] = repeaters["t"] - repeaters["recency"]
    quiet, recent = repeaters.nlargest(10, "silence"), repeaters.nsmallest(10, "silence")
    assert quiet["p_alive"].mean() < recent["p_alive"].mean()
    assert set(out["risk"]) <= {"high", "medium", "low"}


def test_run_predictions_explains_missing_mart(make_database: Callable[[str], str]) -> None:
    url = make_database("pred_model")
    with pytest.raises(model.PredictionError, match="fct_sales_lines does not exist"):
        model.run_predictions(url, date(2026, 1, 1))
