from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .scripted_server import ScriptedServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
SECRET = "s3cr3tw3bh00kkey"


def fixture_json(relative: str) -> object:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer()
    yield srv
    srv.stop()


@pytest.fixture
def webhook_url(server: ScriptedServer) -> str:
    return f"{server.url}rest/1/{SECRET}/"
