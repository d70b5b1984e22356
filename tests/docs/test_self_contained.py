"""The repository is self-contained: no file refers to a path outside it.

The product spec once lived beside the repository (a `shared` folder next to it, on the
development machine's workspace). Tests and docs pointed there, so a fresh clone could not
follow them. The spec now travels in docs/kpi.md. This test fails when any tracked (or new,
not ignored) text file names the sibling folder or the workspace's absolute paths again.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# spelled in pieces so that this file does not match itself
SIBLING = "../" + "shared"
WORKSPACE = "/" + "work" + "/"
OUTSIDE = re.compile(rf"{re.escape(SIBLING)}\b|(?<![\w.~-]){re.escape(WORKSPACE)}")


def repo_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return [PROJECT_ROOT / name for name in listed.split("\0") if name]


def outside_references(paths: list[Path], root: Path = PROJECT_ROOT) -> list[str]:
    """`file:line: text` of every line naming a path outside the repository."""
    found = []
    for path in paths:
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary (screenshots, fixtures)
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()[:160]}")
    return found


def test_the_pattern_catches_outside_paths(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        f'SPEC = "{SIBLING}/KPI.md"\nDATA = "{WORKSPACE}shared/sources"\nOK = "docs/kpi.md"\n', encoding="utf-8"
    )
    good = tmp_path / "good.md"
    good.write_text("https://example.com/work/x, src/work/y, docs/kpi.md, ../sharedfolder\n", encoding="utf-8")
    assert [hit.split(":")[:2] for hit in outside_references([bad, good], root=tmp_path)] == [
        ["bad.py", "1"],
        ["bad.py", "2"],
    ]


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    files = repo_files()
    assert len(files) > 100, "git ls-files listed too few files: is this a git checkout?"
    found = outside_references(files)
    assert not found, (
        "files refer to paths outside the repository (copy what they need into the repo, e.g. "
        "the KPI definitions are docs/kpi.md):\n" + "\n".join(found)
    )
