"""The two README commands and CI's entry point."""

from __future__ import annotations

import os
import subprocess

import pytest

from hc_base.settings import PROJECT_ROOT


def _run_test_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAPPYCLIENT_SKIP_BOOTSTRAP": "1"}
    return subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "test"), *args, "-p", "no:cacheprovider", "-q"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ci_runs_exactly_the_test_script() -> None:
    lines = [
        line for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")
    ]
    assert lines[-1] == "exec ./scripts/test"
    for name in ("bootstrap", "test", "demo"):
        assert os.access(PROJECT_ROOT / "scripts" / name, os.X_OK), f"scripts/{name} is not executable"
    assert os.access(PROJECT_ROOT / ".ci" / "run", os.X_OK)


def test_no_tests_collected_is_a_failure() -> None:
    result = _run_test_script("tests/platform/test_settings.py", "-k", "no_such_test_name")
    assert result.returncode == 1
    assert "collected no tests" in result.stderr


def test_failures_give_a_non_zero_exit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    failing = tmp_path / "test_fails.py"
    failing.write_text("def test_fails():\n    assert 1 + 1 == 3\n")
    result = _run_test_script(str(failing), "--rootdir", str(tmp_path))
    assert result.returncode == 1
    passing = tmp_path / "test_passes.py"
    passing.write_text("def test_passes():\n    assert 1 + 1 == 2\n")
    assert _run_test_script(str(passing), "--rootdir", str(tmp_path)).returncode == 0


@pytest.mark.slow
def test_bootstrap_skips_what_is_in_place() -> None:
    """Run after ./scripts/test bootstrapped: a second run installs nothing."""
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "bootstrap")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[bootstrap] .venv is up to date" in result.stdout
    assert "installing" not in result.stdout
