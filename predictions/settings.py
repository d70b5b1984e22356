"""The thresholds of the predictions and the write-back: dbt vars, like every other threshold.

They live in `dbt_project/dbt_project.yml` (`vars:`, the `predictions_*` and `writeback_*` keys)
next to the marts' thresholds, so a company changes them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hc_base.settings import PROJECT_ROOT

DBT_PROJECT_FILE = PROJECT_ROOT / "dbt_project" / "dbt_project.yml"


@dataclass(frozen=True)
class PredictionSettings:
    churn_high_risk_below: float  # p_alive below this: churn risk "high"
    churn_medium_risk_below: float  # p_alive below this (and not high): "medium"; else "low"
    min_clients_bgnbd: int  # fewer clients with a purchase: BG/NBD is not fitted
    min_clients_gamma_gamma: int  # fewer clients with a repeat purchase: Gamma-Gamma is not fitted
    monthly_discount_rate: float  # CLV discounting
    tasks_per_manager: int  # write-back: top actions per manager turned into Bitrix24 tasks

    @classmethod
    def from_vars(cls, dbt_vars: dict[str, Any]) -> PredictionSettings:
        def var(name: str) -> Any:
            if name not in dbt_vars:
                raise KeyError(f"dbt var {name} is missing from {DBT_PROJECT_FILE}")
            return dbt_vars[name]

        return cls(
            churn_high_risk_below=float(var("predictions_churn_high_risk_below")),
            churn_medium_risk_below=float(var("predictions_churn_medium_risk_below")),
            min_clients_bgnbd=int(var("predictions_min_clients_bgnbd")),
            min_clients_gamma_gamma=int(var("predictions_min_clients_gamma_gamma")),
            monthly_discount_rate=float(var("predictions_monthly_discount_rate")),
            tasks_per_manager=int(var("writeback_tasks_per_manager")),
        )


@cache
def prediction_settings(path: Path = DBT_PROJECT_FILE) -> PredictionSettings:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    return PredictionSettings.from_vars(config.get("vars") or {})
