"""The steps of `happyclient demo`, reused by the end-to-end test: demo data (cached by seed and
size), the fake Bitrix24 and 1C servers, and the environment the pipeline runs with."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from happyclient.console import Console
from happyclient.processes import BackgroundProcess
from hc_base.redact import register_secret
from hc_base.settings import PROJECT_ROOT, Settings

DEFAULT_SEED = 42
DEFAULT_CLIENTS = 3000
FAKES = ("fake-bitrix24", "fake-onec")
# the demo portal answers faster than a real one (2 requests/s); the connector stays below it
FAKE_RATE_PER_S = 50
FAKE_BURST = 250
CLIENT_RATE_PER_S = 40
CLIENT_BURST = 200


class DemoError(RuntimeError):
    """A demo step failed; the message says which and where to look."""


@dataclass(frozen=True)
class DemoData:
    path: Path
    as_of: date
    seed: int
    clients: int

    @property
    def files_dir(self) -> Path:
        return self.path / "files"


@dataclass(frozen=True)
class FakeEndpoints:
    bitrix24_webhook_url: str
    onec_odata_url: str
    onec_user: str
    onec_password: str

    def __repr__(self) -> str:
        return f"FakeEndpoints(bitrix24=***, onec_odata_url={self.onec_odata_url!r}, onec_user={self.onec_user!r})"


def demo_data_path(base: Path, seed: int, clients: int) -> Path:
    return base / f"data-seed{seed}-clients{clients}"


def _generator_version() -> int:
    from hc_demo.generator import GENERATOR_VERSION

    return int(GENERATOR_VERSION)


def cached_demo_data(path: Path) -> DemoData | None:
    """The demo data already in `path`, when it is complete and from this generator version."""
    manifest_file = path / "manifest.json"
    if not manifest_file.exists():
        return None
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    if manifest.get("generator_version") != _generator_version():
        return None
    return DemoData(path, date.fromisoformat(manifest["as_of"]), int(manifest["seed"]), int(manifest["clients"]))


def ensure_demo_data(base: Path, *, seed: int = DEFAULT_SEED, clients: int = DEFAULT_CLIENTS) -> tuple[DemoData, bool]:
    """Generate the demo data set unless the same seed and size are cached. Returns (data, generated)."""
    from hc_demo.generator import generate

    path = demo_data_path(base, seed, clients)
    cached = cached_demo_data(path)
    if cached is not None:
        return cached, False
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    manifest = generate(partial, seed=seed, clients=clients)
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    return DemoData(path, manifest.as_of, seed, clients), True


def fake_processes(settings: Settings) -> dict[str, BackgroundProcess]:
    return {name: BackgroundProcess(name, settings.run_dir, settings.log_dir) for name in FAKES}


# generous: a fake that dies is reported at once (wait_for_file watches the process); a slow one
# (3,000 clients to index on a busy 2-core machine took over 60 s) just gets time
def start_fakes(settings: Settings, data: DemoData, *, timeout: float = 600) -> FakeEndpoints:
    """Start (or reuse) the fake Bitrix24 and 1C servers over `data`. Their URLs and
    credentials are kept in `<data dir>/demo/*.url`, files readable by their owner only."""
    procs = fake_processes(settings)
    state = settings.demo_dir
    state.mkdir(parents=True, exist_ok=True)
    b24_url_file = state / "bitrix24-webhook.url"
    onec_url_file = state / "onec-odata.url"
    python = sys.executable
    if not procs["fake-bitrix24"].is_running():
        b24_url_file.unlink(missing_ok=True)
        procs["fake-bitrix24"].start(
            [
                python,
                "-m",
                "hc_demo.fakes.bitrix24",
                "--data",
                str(data.path),
                "--port",
                "0",
                "--url-file",
                str(b24_url_file),
                "--state-file",
                str(state / "bitrix24-writeback.json"),
                "--rate",
                str(FAKE_RATE_PER_S),
                "--burst",
                str(FAKE_BURST),
            ],
            cwd=PROJECT_ROOT,
        )
    if not procs["fake-onec"].is_running():
        onec_url_file.unlink(missing_ok=True)
        procs["fake-onec"].start(
            [
                python,
                "-m",
                "hc_demo.fakes.onec",
                "--data",
                str(data.path),
                "--port",
                "0",
                "--url-file",
                str(onec_url_file),
            ],
            cwd=PROJECT_ROOT,
        )
    webhook = procs["fake-bitrix24"].wait_for_file(b24_url_file, timeout)
    register_secret(webhook)
    onec = json.loads(procs["fake-onec"].wait_for_file(onec_url_file, timeout))
    register_secret(onec["password"])
    return FakeEndpoints(webhook, onec["base_url"], onec["user"], onec["password"])


def stop_fakes(settings: Settings) -> list[str]:
    return [name for name, proc in fake_processes(settings).items() if proc.stop()]


def source_env(endpoints: FakeEndpoints, data: DemoData) -> dict[str, str]:
    """The connector variables pointing at the fakes and the demo files."""
    return {
        "BITRIX24_WEBHOOK_URL": endpoints.bitrix24_webhook_url,
        "ONEC_ODATA_URL": endpoints.onec_odata_url,
        "ONEC_USER": endpoints.onec_user,
        "ONEC_PASSWORD": endpoints.onec_password,
        "FILES_DIR": str(data.files_dir),
        "BITRIX24_RATE_PER_S": str(CLIENT_RATE_PER_S),
        "BITRIX24_BURST": str(CLIENT_BURST),
        # the demo's own mapping (its fakes use today's names), never a company's config/mapping.yml
        "HAPPYCLIENT_MAPPING": str(PROJECT_ROOT / "config" / "mapping.example.yml"),
    }


def prepare_demo(
    settings: Settings, warehouse_url: str, *, clients: int, seed: int, console: Console
) -> tuple[DemoData, dict[str, str]]:
    """Demo data + fake servers; returns the data and the environment the pipeline runs with
    (WAREHOUSE_URL, the connector variables pointing at the fakes, HAPPYCLIENT_AS_OF, Superset login).
    `happyclient demo` and the end-to-end test both call this."""
    with console.step(f"demo data: {clients} clients, seed {seed}"):
        data, generated = ensure_demo_data(settings.demo_data_dir, seed=seed, clients=clients)
        console.info(f"{'generated' if generated else 'cached'}: {data.path} (as of {data.as_of})")
    settings.demo_dir.mkdir(parents=True, exist_ok=True)
    (settings.demo_dir / "current").write_text(str(data.path), encoding="utf-8")
    with console.step("fake Bitrix24 and 1C servers"):
        endpoints = start_fakes(settings, data)
        console.info(f"1C OData: {endpoints.onec_odata_url}")
    password, _ = settings.admin_password()
    env = {
        "WAREHOUSE_URL": warehouse_url,
        "SUPERSET_URL": settings.superset_base_url,
        "SUPERSET_ADMIN_USER": settings.superset_admin_user,
        "SUPERSET_ADMIN_PASSWORD": password,
        "DAGSTER_HOME": str(settings.dagster_home),
        **source_env(endpoints, data),
        "HAPPYCLIENT_AS_OF": (settings.as_of or data.as_of).isoformat(),
        # the demo's Bitrix24 is its own fake portal, so the write-back runs live there
        # (fields and tasks land in .data/demo/bitrix24-writeback.json) unless switched off
        "WRITEBACK_ENABLED": os.environ.get("WRITEBACK_ENABLED", "true"),
    }
    return data, env
