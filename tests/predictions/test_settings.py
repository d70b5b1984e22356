"""The predictions read their thresholds from the dbt vars (dbt_project.yml), like the marts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from predictions import model
from predictions.settings import PredictionSettings, prediction_settings


def test_the_thresholds_are_the_dbt_vars_of_the_project() -> None:
    s = prediction_settings()
    # dbt_project/dbt_project.yml, block "predictions and write-back" (docs/kpi_variables.md)
    assert (s.churn_high_risk_below, s.churn_medium_risk_below) == (0.5, 0.8)
    assert (s.min_clients_bgnbd, s.min_clients_gamma_gamma) == (10, 5)
    assert s.monthly_discount_rate == 0.01
    assert s.tasks_per_manager == 10


def test_churn_bands_follow_the_vars() -> None:
    # p_alive 0.49 < 0.5 → high; 0.5 is not < 0.5 but < 0.8 → medium; 0.79 → medium; 0.8 → low
    assert list(model.churn_risk(np.array([0.49, 0.5, 0.79, 0.8]))) == ["high", "medium", "medium", "low"]


def test_another_project_file_gives_other_thresholds(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text(
        "vars:\n  predictions_churn_high_risk_below: 0.3\n  predictions_churn_medium_risk_below: 0.6\n"
        "  predictions_min_clients_bgnbd: 20\n  predictions_min_clients_gamma_gamma: 8\n"
        "  predictions_monthly_discount_rate: 0.02\n  writeback_tasks_per_manager: 5\n",
        encoding="utf-8",
    )
    assert prediction_settings(project) == PredictionSettings(0.3, 0.6, 20, 8, 0.02, 5)
    with pytest.raises(KeyError, match="predictions_churn_medium_risk_below"):
        PredictionSettings.from_vars({"predictions_churn_high_risk_below": 0.5})
