"""Demo data generator: a deterministic distributor with 1C, Bitrix24 and file data."""

from ingestion.demo.generator import DemoManifest, generate

__all__ = ["DemoManifest", "generate"]
