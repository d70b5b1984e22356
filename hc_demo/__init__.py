"""Demo data generator (a deterministic distributor with 1C, Bitrix24 and file data) and the fake
source servers (`hc_demo.fakes`): tools for the demo and the tests, not part of the product's ingestion."""

from hc_demo.generator import DemoManifest, generate

__all__ = ["DemoManifest", "generate"]
