"""The conformance corpus itself: every JSON fixture parses."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def test_every_json_fixture_parses() -> None:
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) >= 30
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))
