"""The declared markers select what they say: `-m "not browser"` leaves out every browser test,
`-m "not superset"` every test that starts Superset (markers come from the fixtures a test uses,
tests/conftest.py)."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def _collected(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode in (0, 5), out.stdout[-2000:] + out.stderr[-2000:]
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_not_browser_leaves_out_the_browser_tests() -> None:
    everything = _collected("tests/browser", "tests/platform/test_settings.py")
    assert any(t.startswith("tests/browser/") for t in everything)
    kept = _collected("-m", "not browser", "tests/browser", "tests/platform/test_settings.py")
    assert kept and not any(t.startswith("tests/browser/") for t in kept)


def test_not_superset_leaves_out_tests_that_start_superset() -> None:
    kept = _collected("-m", "not superset", "tests/superset", "tests/browser")
    everything = _collected("tests/superset", "tests/browser")
    dropped = set(everything) - set(kept)
    # the Superset server tests go; the pure YAML checks of the assets stay
    assert any("test_rls" in t for t in dropped)
    assert any("test_assets_format" in t for t in kept)
    assert not any("test_assets_format" in t for t in dropped)
