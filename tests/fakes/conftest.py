from __future__ import annotations

from pathlib import Path

import pytest

from hc_demo import generate


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo data set shared by the fake-server tests (read-only)."""
    out = tmp_path_factory.mktemp("fakes-demo")
    generate(out, seed=21, clients=120)
    return out
