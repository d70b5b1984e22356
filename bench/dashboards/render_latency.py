"""Dashboard render time in headless Chromium: per dashboard, from navigation until every chart
on it has rendered (content or an error, no spinner left), cold cache; p50/p95 over --runs.
Target: p95 <= 3 s per dashboard (exit code 1 when a dashboard misses it).

Cold cache: every run starts a new Chromium with an empty profile and logs in (so the page has
the application's scripts, as a user who has just logged in), then opens each dashboard once
with `?force=true`, so Superset runs every chart's query against the warehouse instead of
answering from its results cache. The dashboards open as users see them: native-filter
defaults (the «Период» default is the latest period) applied.

The same environment options as chart_latency.py: a running Superset (--superset-url,
--password, --warehouse-url), a built warehouse with a scratch Superset over it (--warehouse-url
alone, e.g. the database `bench/scale --keep-db` kept at the largest size), or --build:

    .venv/bin/python bench/scale --sizes 100k/10M --keep-db --admin-url postgresql://...
    .venv/bin/python bench/dashboards/render_latency.py --warehouse-url postgresql://.../hcbench_scale_xxxxxxxx
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import load_average  # noqa: E402
from bench.dashboards.chart_latency import (  # noqa: E402
    add_environment_arguments,
    environment,
    percentile,
    warehouse_size,
)
from hc_superset.assets import chart_uuids_in_position, read_assets  # noqa: E402
from hc_superset.client import SupersetClient  # noqa: E402

TARGET_P95_S = 3.0
POLL_S = 0.05


@dataclass
class DashboardRender:
    title: str
    charts: int
    seconds: list[float] = field(default_factory=list)
    page_s: list[float] = field(default_factory=list)  # of which until the page itself had loaded
    browser_cpu_s: list[float] = field(default_factory=list)  # CPU time of Chromium's processes meanwhile
    errors: list[str] = field(default_factory=list)  # chart errors seen in any run

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 0.95)


def dashboards(superset_url: str, user: str, password: str) -> list[tuple[int, str, int]]:
    """(live id, title, number of charts) of every dashboard in superset_assets/."""
    client = SupersetClient(superset_url, user, password)
    live = {str(d["uuid"]): d["id"] for d in client.list_all("dashboard", ["id", "uuid"])}
    files = read_assets(ROOT / "superset_assets")
    return [
        (live[dash["uuid"]], dash["dashboard_title"], len(chart_uuids_in_position(dash["position"])))
        for path, dash in sorted(files.items())
        if path.startswith("dashboards/")
    ]


def process_tree_cpu_s(root_pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants so far (Linux /proc): the
    work Chromium did, which wall time on a machine shared with other jobs does not show."""
    import os

    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += ticks.get(pid, 0)
        stack += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def render_once(
    driver, base_url: str, dashboard_id: int, expected: int, timeout: float  # type: ignore[no-untyped-def]
) -> tuple[float, float, list[str]]:
    """Seconds from navigation until all `expected` charts have settled, seconds until the page
    had loaded (driver.get returns on the load event), the chart errors."""
    from selenium.common.exceptions import TimeoutException

    from tests.browser.dashboard_page import _CHART_STATE_JS

    started = time.perf_counter()
    driver.get(f"{base_url}/superset/dashboard/{dashboard_id}/?standalone=0&force=true")
    page = time.perf_counter() - started
    deadline = started + timeout
    while True:
        try:
            states = driver.execute_script(_CHART_STATE_JS)
        except TimeoutException:  # a starved browser (a loaded machine) missed the script timeout: poll again
            states = []
        if len(states) >= expected and all((s["content"] or s["error"]) and not s["loading"] for s in states):
            return time.perf_counter() - started, page, [s["error"] for s in states if s["error"]]
        if time.perf_counter() > deadline:
            pending = [s["id"] for s in states if s["loading"] or not (s["content"] or s["error"])]
            return float("inf"), page, [f"not rendered after {timeout:.0f} s: {len(states)}/{expected} charts, pending {pending}"]
        time.sleep(POLL_S)


def measure(superset_url: str, user: str, password: str, runs: int, timeout: float) -> list[DashboardRender]:
    from tests.browser.dashboard_page import login, make_driver

    boards = dashboards(superset_url, user, password)
    renders = {board_id: DashboardRender(title, charts) for board_id, title, charts in boards}
    for run in range(1, runs + 1):
        driver = make_driver()
        profile = (driver.capabilities.get("chrome") or {}).get("userDataDir")
        try:
            for attempt in range(3):  # a starved browser or server (a loaded machine) can miss login's 30 s
                try:
                    login(driver, superset_url, user, password)
                    break
                except TimeoutError:
                    if attempt == 2:
                        raise
            browser_pid = driver.service.process.pid  # chromedriver: Chromium's processes are its descendants
            for board_id, _title, charts in boards:
                cpu_before = process_tree_cpu_s(browser_pid)
                seconds, page, errors = render_once(driver, superset_url, board_id, charts, timeout)
                renders[board_id].browser_cpu_s.append(process_tree_cpu_s(browser_pid) - cpu_before)
                renders[board_id].seconds.append(seconds)
                renders[board_id].page_s.append(page)
                renders[board_id].errors += errors
        finally:
            driver.quit()
            if profile:
                shutil.rmtree(profile, ignore_errors=True)
        print(f"  run {run}/{runs}: " + ", ".join(f"{r.title[:24]} {r.seconds[-1]:.1f} s" for r in renders.values())
              + f"; load {load_average()}", flush=True)
    return list(renders.values())


def report(renders: list[DashboardRender], runs: int) -> list[DashboardRender]:
    print(f"\n{runs} cold runs per dashboard (new browser, ?force=true); seconds until every chart has rendered"
          " (page: of which until the page's load event; browser CPU: CPU seconds Chromium spent meanwhile,"
          " which the machine's other jobs do not inflate)")
    head = (f"{'dashboard':44} {'charts':>6} {'p50':>7} {'p95':>7} {'max':>7} {'page p50':>9} {'browser CPU p50':>15}"
            f"  target p95 <= {TARGET_P95_S:g} s")
    print(head)
    print("-" * len(head))
    missed = []
    for r in renders:
        ok = r.p95 <= TARGET_P95_S
        if not ok:
            missed.append(r)
        print(f"{r.title[:44]:44} {r.charts:6d} {r.p50:7.2f} {r.p95:7.2f} {max(r.seconds):7.2f}"
              f" {statistics.median(r.page_s):9.2f} {statistics.median(r.browser_cpu_s):15.2f}  {'ok' if ok else 'MISSED'}")
        for error in sorted(set(r.errors))[:5]:
            print(f"    chart error: {error[:200]}")
    print(f"load average (1, 5, 15 min) at the end: {load_average()}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_environment_arguments(parser)
    parser.add_argument("--runs", type=int, default=10, help="cold runs per dashboard (default 10)")
    parser.add_argument("--timeout", type=float, default=120, help="give up on a dashboard after this long")
    args = parser.parse_args(argv)
    with environment(parser, args) as (url, user, password, warehouse_url):
        size = warehouse_size(warehouse_url)
        print("warehouse: " + ", ".join(f"{k} {v:,}".replace(",", " ") for k, v in size.items()), flush=True)
        renders = measure(url, user, password, args.runs, args.timeout)
    return 1 if report(renders, args.runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
