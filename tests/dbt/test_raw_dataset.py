"""The shared raw test dataset itself (tests/dbt/raw_dataset.py, raw_dataset_bitrix24.py)."""

from __future__ import annotations

from raw_dataset import generate
from raw_dataset_bitrix24 import add_bitrix24_and_files


def test_every_deal_has_a_creation_record_in_its_history() -> None:
    ds = add_bitrix24_and_files(generate(12))
    created = {p["OWNER_ID"] for _, p in ds.rows["bitrix24__deal_stage_history"] if p["TYPE_ID"] == "1"}
    deals = {k for k, _ in ds.rows["bitrix24__deals"]}
    assert deals and created == deals
