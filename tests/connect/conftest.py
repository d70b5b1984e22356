from __future__ import annotations

from pathlib import Path

import pytest

from hc_demo import generate
from hc_demo.fakes.real_portal import make_real_portal


@pytest.fixture(scope="session")
def connect_demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo data set (read-only)."""
    out = tmp_path_factory.mktemp("connect-demo")
    generate(out, seed=21, clients=120)
    return out


@pytest.fixture(scope="session")
def real_portal_dir(connect_demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same data shaped like a real portal (numbered fields, region in addresses, custom pipelines)."""
    return make_real_portal(connect_demo_dir, tmp_path_factory.mktemp("connect-real"))
