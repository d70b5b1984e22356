"""`python -m hc_demo.fakes.<name>`: the secret goes to a 0600 file, never to stdout."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import requests

ROOT = Path(__file__).resolve().parents[2]


def _start(module: str, demo_dir: Path, url_file: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--data", str(demo_dir), "--port", "0", "--url-file", str(url_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.strip() == "ready":
            break
    return proc, lines


def test_bitrix24_cli(demo_dir: Path, tmp_path: Path) -> None:
    url_file = tmp_path / "b24.url"
    proc, lines = _start("hc_demo.fakes.bitrix24", demo_dir, url_file)
    try:
        assert lines[-1] == "ready" and lines[0].startswith("port ")
        assert stat.S_IMODE(os.stat(url_file).st_mode) == 0o600
        url = url_file.read_text().strip()
        secret = url.rstrip("/").rsplit("/", 1)[1]
        assert all(secret not in line for line in lines)
        assert f":{lines[0].split()[1]}/rest/1/" in url
        assert requests.post(url + "crm.deal.get", json={"id": 1}, timeout=10).json()["result"]["ID"] == "1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_onec_cli(demo_dir: Path, tmp_path: Path) -> None:
    url_file = tmp_path / "onec.json"
    proc, lines = _start("hc_demo.fakes.onec", demo_dir, url_file)
    try:
        assert lines[-1] == "ready"
        assert stat.S_IMODE(os.stat(url_file).st_mode) == 0o600
        conn = json.loads(url_file.read_text(encoding="utf-8"))
        assert all(conn["password"] not in line for line in lines)
        r = requests.get(
            conn["base_url"] + quote("Catalog_БизнесРегионы"),
            params={"$format": "json"},
            auth=(conn["user"].encode(), conn["password"].encode()),
            timeout=10,
        )
        assert len(r.json()["value"]) == 8
    finally:
        proc.terminate()
        proc.wait(timeout=10)
