"""The CDNOW sample (Fader-Hardie) as shipped in the `lifetimes` package (a test-only dependency)."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd


def cdnow_summary() -> pd.DataFrame:
    """2,357 customers: frequency, recency, T in weeks (FHL 2005)."""
    return pd.read_csv(str(files("lifetimes") / "datasets" / "cdnow_customers_summary.csv"))


def cdnow_with_value() -> pd.DataFrame:
    """The same customers with x, t_x, T and zbar (mean spend of the repeat transactions)."""
    return pd.read_csv(str(files("lifetimes") / "datasets" / "cdnow_customers_summary_with_transactions.csv"))
