"""Per-client predictions from the sales marts: BG/NBD + Gamma-Gamma -> `predictions.client_predictions`.

Input: `marts.fct_sales_lines` (client_id, document_date, revenue; returns are negative lines).
A purchase is a client-day whose net revenue is positive. In the BG/NBD notation, in DAYS:

- frequency = number of purchase days after the first one (repeat purchases);
- recency   = days from the first to the last purchase day;
- t         = days from the first purchase day to `as_of`;
- monetary_avg = mean net revenue of the repeat purchase days (0 when frequency = 0), the
  Gamma-Gamma input (the first purchase is excluded, as in Fader-Hardie-Lee 2005).

Output (one row per client and as_of, replaced on every run for that as_of): p_alive,
expected_purchases_90d / _365d, expected_order_value (Gamma-Gamma conditional mean),
clv_12m (12 months, discounted monthly) and churn_risk (`high` p_alive < 0.5,
`medium` < 0.8, `low` otherwise; Russian label in churn_risk_label). The thresholds are dbt vars
(`predictions_*` in dbt_project.yml, read by `predictions.settings`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from hc_base.clickhouse import engine_of, warehouse
from hc_base.redact import redact

from . import bgnbd, gamma_gamma
from .settings import prediction_settings

log = logging.getLogger(__name__)

SALES_TABLE = "marts.fct_sales_lines"
OUTPUT_TABLE = "predictions.client_predictions"
FITS_TABLE = "predictions.model_fits"
CHURN_LABELS = {"high": "высокий", "medium": "средний", "low": "низкий"}

DDL = """
create schema if not exists predictions;
create table if not exists predictions.client_predictions (
    client_id text not null,
    as_of date not null,
    first_purchase_date date not null,
    last_purchase_date date not null,
    frequency integer not null,
    recency integer not null,
    t integer not null,
    monetary_avg numeric(18, 2) not null,
    p_alive double precision not null,
    expected_purchases_90d double precision not null,
    expected_purchases_365d double precision not null,
    expected_order_value numeric(18, 2) not null,
    clv_12m numeric(18, 2) not null,
    churn_risk text not null,
    churn_risk_label text not null,
    computed_at timestamptz not null,
    primary key (client_id, as_of)
);
create table if not exists predictions.model_fits (
    as_of date not null,
    model text not null,
    params jsonb not null,
    n_clients integer not null,
    log_likelihood double precision not null,
    computed_at timestamptz not null,
    primary key (as_of, model)
);
"""


# The same tables on a ClickHouse warehouse (issue 13): one database, a ReplacingMergeTree per table
CLICKHOUSE_DDL = [
    "create database if not exists predictions",
    """create table if not exists predictions.client_predictions (
        client_id String, as_of Date, first_purchase_date Date, last_purchase_date Date,
        frequency Int32, recency Int32, t Int32, monetary_avg Decimal(18, 2), p_alive Float64,
        expected_purchases_90d Float64, expected_purchases_365d Float64, expected_order_value Decimal(18, 2),
        clv_12m Decimal(18, 2), churn_risk String, churn_risk_label String, computed_at DateTime64(6, 'UTC'))
        engine = ReplacingMergeTree order by (client_id, as_of)""",
    """create table if not exists predictions.model_fits (
        as_of Date, model String, params String, n_clients Int32, log_likelihood Float64,
        computed_at DateTime64(6, 'UTC'))
        engine = ReplacingMergeTree order by (as_of, model)""",
]
OUTPUT_COLUMNS = (
    "client_id", "as_of", "first_purchase_date", "last_purchase_date", "frequency", "recency", "t", "monetary_avg",
    "p_alive", "expected_purchases_90d", "expected_purchases_365d", "expected_order_value", "clv_12m",
    "churn_risk", "churn_risk_label", "computed_at",
)
FITS_COLUMNS = ("as_of", "model", "params", "n_clients", "log_likelihood", "computed_at")


def _create_tables(conn: Any) -> None:
    if engine_of(conn) == "clickhouse":
        for ddl in CLICKHOUSE_DDL:
            conn.execute(ddl)
    else:
        conn.execute(DDL)


def ensure_tables(warehouse_url: str) -> None:
    """The (empty) prediction tables on either engine, so the dbt models reading them build."""
    with warehouse(warehouse_url) as conn:
        _create_tables(conn)


class PredictionError(RuntimeError):
    """The data cannot support a fit; the message says what is missing."""


def summarise_purchases(daily: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """From rows (client_id, purchase_date, revenue), one per client-day, to the RFM summary.

    Days after `as_of` and days with net revenue <= 0 (only returns) are ignored.
    """
    frame = daily.copy()
    frame["purchase_date"] = pd.to_datetime(frame["purchase_date"]).dt.normalize()
    frame["revenue"] = frame["revenue"].astype(float)
    frame = frame[frame["purchase_date"] <= pd.Timestamp(as_of)]
    frame = frame.groupby(["client_id", "purchase_date"], as_index=False)["revenue"].sum()
    frame = frame[frame["revenue"] > 0]
    frame = frame.sort_values(["client_id", "purchase_date"])
    first = frame.groupby("client_id")["purchase_date"].transform("min")
    frame["is_repeat"] = frame["purchase_date"] > first
    grouped = frame.groupby("client_id")
    summary = pd.DataFrame(
        {
            "first_purchase_date": grouped["purchase_date"].min(),
            "last_purchase_date": grouped["purchase_date"].max(),
            "frequency": grouped["is_repeat"].sum().astype(int),
            "repeat_revenue": frame[frame["is_repeat"]].groupby("client_id")["revenue"].sum(),
        }
    )
    summary["repeat_revenue"] = summary["repeat_revenue"].fillna(0.0)
    summary["recency"] = (summary["last_purchase_date"] - summary["first_purchase_date"]).dt.days.astype(int)
    summary["t"] = (pd.Timestamp(as_of) - summary["first_purchase_date"]).dt.days.astype(int)
    summary["monetary_avg"] = np.where(
        summary["frequency"] > 0, summary["repeat_revenue"] / summary["frequency"].clip(lower=1), 0.0
    )
    summary.index.name = "client_id"
    summary = summary.drop(columns="repeat_revenue").reset_index()
    return summary


def churn_risk(p_alive: np.ndarray) -> np.ndarray:
    """high below `predictions_churn_high_risk_below` (0.5), medium below
    `predictions_churn_medium_risk_below` (0.8), low otherwise."""
    s = prediction_settings()
    return np.where(
        p_alive < s.churn_high_risk_below, "high", np.where(p_alive < s.churn_medium_risk_below, "medium", "low")
    )


def predict(
    summary: pd.DataFrame, *, monthly_discount_rate: float | None = None
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Fit both models on `summary` (from `summarise_purchases`) and add the prediction columns."""
    settings = prediction_settings()
    if monthly_discount_rate is None:
        monthly_discount_rate = settings.monthly_discount_rate
    if len(summary) < settings.min_clients_bgnbd:
        raise PredictionError(
            f"BG/NBD needs purchases of at least {settings.min_clients_bgnbd} clients in {SALES_TABLE}, "
            f"found {len(summary)}"
        )
    x = summary["frequency"].to_numpy(float)
    t_x = summary["recency"].to_numpy(float)
    t_obs = summary["t"].to_numpy(float)
    m = summary["monetary_avg"].to_numpy(float)
    bg = bgnbd.fit(x, t_x, t_obs)
    repeat = (x > 0) & (m > 0)
    if repeat.sum() < settings.min_clients_gamma_gamma:
        raise PredictionError(
            f"Gamma-Gamma needs at least {settings.min_clients_gamma_gamma} clients with a repeat purchase in {SALES_TABLE}, "
            f"found {int(repeat.sum())}"
        )
    gg = gamma_gamma.fit(x[repeat], m[repeat])
    out = summary.copy()
    out["p_alive"] = bgnbd.probability_alive(bg, x, t_x, t_obs)
    out["expected_purchases_90d"] = bgnbd.conditional_expected_purchases(bg, 90.0, x, t_x, t_obs)
    out["expected_purchases_365d"] = bgnbd.conditional_expected_purchases(bg, 365.0, x, t_x, t_obs)
    out["expected_order_value"] = gamma_gamma.conditional_expected_average_profit(gg, x, m)
    out["clv_12m"] = gamma_gamma.customer_lifetime_value(
        bg, gg, x, t_x, t_obs, m, months=12, monthly_discount_rate=monthly_discount_rate
    )
    out["churn_risk"] = churn_risk(out["p_alive"].to_numpy())
    out["churn_risk_label"] = out["churn_risk"].map(CHURN_LABELS)
    fits = {
        "bgnbd": {
            **asdict(bg),
            "n_clients": float(len(x)),
            "log_likelihood": float(np.sum(bgnbd.log_likelihood(bg, x, t_x, t_obs))),
        },
        "gamma_gamma": {
            **asdict(gg),
            "n_clients": float(repeat.sum()),
            "log_likelihood": float(np.sum(gamma_gamma.log_likelihood(gg, x[repeat], m[repeat]))),
        },
    }
    return out, fits


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


def _read_daily(conn: Any, as_of: date | None) -> tuple[pd.DataFrame, date]:
    if engine_of(conn) == "clickhouse" and not conn.table_exists(SALES_TABLE):
        raise PredictionError(f"{SALES_TABLE} does not exist: run dbt (dbt build) before the predictions")
    try:
        if as_of is None:
            row = conn.execute(f"select max(document_date) from {SALES_TABLE}").fetchone()
            if row is None or row[0] is None:
                raise PredictionError(f"{SALES_TABLE} is empty: run the pipeline (ingestion + dbt) first")
            as_of = row[0].date() if isinstance(row[0], datetime) else row[0]
        assert as_of is not None
        rows = conn.execute(
            f"""
            select client_id, cast(document_date as date) as purchase_date, sum(revenue) as revenue
            from {SALES_TABLE}
            where client_id is not null and cast(document_date as date) <= %s
            group by client_id, cast(document_date as date)
            """,
            (as_of.isoformat(),),
        ).fetchall()
    except psycopg.errors.UndefinedTable:
        raise PredictionError(f"{SALES_TABLE} does not exist: run dbt (dbt build) before the predictions") from None
    daily = pd.DataFrame(rows, columns=["client_id", "purchase_date", "revenue"])
    daily["client_id"] = daily["client_id"].astype(str)
    assert as_of is not None
    return daily, as_of


def run_predictions(
    warehouse_url: str, as_of: date | None = None, *, monthly_discount_rate: float | None = None
) -> int:
    """Compute the predictions as of `as_of` (default: the latest document date in the sales mart),
    replace the rows of that as_of in `predictions.client_predictions`, return the number of clients."""
    with warehouse(warehouse_url) as conn:
        daily, as_of = _read_daily(conn, as_of)
        summary = summarise_purchases(daily, as_of)
        result, fits = predict(summary, monthly_discount_rate=monthly_discount_rate)
        now = datetime.now(UTC)
        rows = [
            (
                str(r.client_id),
                as_of,
                r.first_purchase_date.date(),
                r.last_purchase_date.date(),
                int(r.frequency),
                int(r.recency),
                int(r.t),
                _money(r.monetary_avg),
                float(r.p_alive),
                float(r.expected_purchases_90d),
                float(r.expected_purchases_365d),
                _money(r.expected_order_value),
                _money(r.clv_12m),
                str(r.churn_risk),
                str(r.churn_risk_label),
                now,
            )
            for r in result.itertuples(index=False)
        ]
        fit_rows = [
            (
                as_of,
                name,
                json.dumps({k: v for k, v in values.items() if k not in ("n_clients", "log_likelihood")}),
                int(values["n_clients"]),
                values["log_likelihood"],
                now,
            )
            for name, values in fits.items()
        ]
        _create_tables(conn)
        if engine_of(conn) == "clickhouse":
            # no transaction: the new rows replace the old ones of this as_of (same key, newer part);
            # rows of clients gone since are deleted first
            conn.execute(f"delete from {OUTPUT_TABLE} where as_of = %s", (as_of.isoformat(),))
            conn.execute(f"delete from {FITS_TABLE} where as_of = %s", (as_of.isoformat(),))
            conn.insert(OUTPUT_TABLE, rows, OUTPUT_COLUMNS)
            conn.insert(FITS_TABLE, fit_rows, FITS_COLUMNS)
        else:
            conn.execute(f"delete from {OUTPUT_TABLE} where as_of = %s", (as_of,))
            conn.execute(f"delete from {FITS_TABLE} where as_of = %s", (as_of,))
            with conn.cursor() as cur:
                cur.executemany(
                    f"insert into {OUTPUT_TABLE} ({', '.join(OUTPUT_COLUMNS)})"
                    f" values ({', '.join(['%s'] * len(OUTPUT_COLUMNS))})",
                    rows,
                )
                cur.executemany(
                    f"insert into {FITS_TABLE} ({', '.join(FITS_COLUMNS)}) values (%s, %s, %s, %s, %s, %s)",
                    fit_rows,
                )
        conn.commit()
    log.info("predictions as of %s: %d clients, BG/NBD %s", as_of, len(result), redact(fits["bgnbd"]))
    return len(result)
