"""Dashboard render time in headless Chromium: per dashboard, from navigation until every chart
on it has rendered (content or an error, no spinner left), cold cache; p50/p95 over --runs.
A dashboard with tabs is measured per tab, as a reader meets it: its first tab from navigation,
each other tab from the click on it until that tab's charts have rendered (Superset queries a
tab's charts when the tab is first shown).
Target: p95 <= 3 s per dashboard and tab (exit code 1 when one misses it).

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

A/B on a shared, noisy machine: a second Superset over the same warehouse (a scratch one with other
gunicorn workers or other assets, or a running one), its cold runs interleaved with the first's
(A, B, A, B, ...) so that the machine's load falls on both alike; both tables are printed and then B
against A. Besides wall time each dashboard gets the CPU seconds Chromium spent and, for a scratch
Superset, those of its gunicorn processes: which side the time goes to.

    .venv/bin/python bench/dashboards/render_latency.py --warehouse-url postgresql://... --workers 1 --compare-workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import load_average  # noqa: E402
from bench.dashboards.chart_latency import (  # noqa: E402
    SCRATCH_SERVER_PIDS,
    add_environment_arguments,
    environment,
    percentile,
    scratch_superset,
    warehouse_size,
)
from hc_superset.assets import DashboardTab, dashboard_tabs, read_assets  # noqa: E402
from hc_superset.client import SupersetClient  # noqa: E402

TARGET_P95_S = 3.0
POLL_S = 0.05


@dataclass
class DashboardRender:
    """The renders of one dashboard's tab (`tab` 0: opening the dashboard)."""
    title: str
    charts: int
    tab: int = 0
    seconds: list[float] = field(default_factory=list)
    page_s: list[float] = field(default_factory=list)  # of which until the page itself had loaded
    browser_cpu_s: list[float] = field(default_factory=list)  # CPU time of Chromium's processes meanwhile
    server_cpu_s: list[float] = field(default_factory=list)  # CPU time of Superset's gunicorn processes meanwhile
    errors: list[str] = field(default_factory=list)  # chart errors seen in any run

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        return percentile(self.seconds, 0.95)


def dashboards(superset_url: str, user: str, password: str, assets_dir: Path = ROOT / "superset_assets") -> list[tuple[int, str, list[DashboardTab]]]:
    """(live id, title, tabs) of every dashboard in `assets_dir`."""
    client = SupersetClient(superset_url, user, password)
    live = {str(d["uuid"]): d["id"] for d in client.list_all("dashboard", ["id", "uuid"])}
    files = read_assets(assets_dir)
    return [
        (live[dash["uuid"]], dash["dashboard_title"], dashboard_tabs(dash["position"]))
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


def _settle(driver, charts: int, started: float, timeout: float, before: set[int]):  # type: ignore[no-untyped-def]
    """(seconds since `started` until `charts` visible charts have settled, their ids, errors)."""
    from selenium.common.exceptions import TimeoutException

    from tests.browser.dashboard_page import chart_states, tab_settled

    deadline = started + timeout
    while True:
        try:
            states = chart_states(driver)
        except TimeoutException:  # a starved browser (a loaded machine) missed the script timeout: poll again
            states = []
        shown = tab_settled(states, charts, before)
        if shown is not None:
            return time.perf_counter() - started, {s.id for s in shown}, [s.error for s in shown if s.error]
        if time.perf_counter() > deadline:
            visible = [s for s in states if s.visible]
            pending = [s.id for s in visible if not s.settled]
            return float("inf"), set(), [f"not rendered after {timeout:.0f} s: {len(visible)}/{charts} charts, pending {pending}"]
        time.sleep(POLL_S)


def render_once(
    driver, base_url: str, dashboard_id: int, tabs: list[DashboardTab], timeout: float  # type: ignore[no-untyped-def]
) -> list[tuple[float, float, list[str]]]:
    """Per tab: (seconds until its charts have settled, seconds until the page had loaded
    (driver.get returns on the load event; 0 for a tab clicked on), the chart errors). The first
    tab counts from navigation, every other one from the click that shows it."""
    from tests.browser.dashboard_page import show_tab

    started = time.perf_counter()
    driver.get(f"{base_url}/superset/dashboard/{dashboard_id}/?standalone=0&force=true")
    page = time.perf_counter() - started
    results, before = [], set()
    for number, tab in enumerate(tabs):
        if number:
            started, page = time.perf_counter(), 0.0
            show_tab(driver, tab.title)
        seconds, before, errors = _settle(driver, len(tab.chart_uuids), started, timeout, before)
        results.append((seconds, page, errors))
        if seconds == float("inf"):  # the tabs after it would be measured from a page still busy
            results += [(float("inf"), 0.0, [f"not measured: tab {tab.title!r} did not render"])] * (len(tabs) - number - 1)
            break
    return results


@dataclass
class Target:
    """One Superset to measure: its URL, login and the dashboards (live id, title, charts) on it."""
    label: str
    url: str
    user: str
    password: str
    boards: list[tuple[int, str, list[DashboardTab]]]
    server_pid: int | None = None  # gunicorn master of a scratch Superset: its CPU time is counted too
    renders: dict[tuple[int, int], DashboardRender] = field(default_factory=dict)  # by (dashboard id, tab number)

    def __post_init__(self) -> None:
        self.renders = {
            (board_id, number): DashboardRender(title + (f" · {tab.title}" if tab.id else ""), len(tab.chart_uuids), number)
            for board_id, title, tabs in self.boards
            for number, tab in enumerate(tabs)
        }


def one_run(target: Target, timeout: float) -> None:
    """A new Chromium (empty profile), log in, open each dashboard once; adds to target.renders."""
    from tests.browser.dashboard_page import login, make_driver

    driver = make_driver()
    profile = (driver.capabilities.get("chrome") or {}).get("userDataDir")
    try:
        for attempt in range(3):  # a starved browser or server (a loaded machine) can miss login's 30 s
            try:
                login(driver, target.url, target.user, target.password)
                break
            except TimeoutError:
                if attempt == 2:
                    raise
        browser_pid = driver.service.process.pid  # chromedriver: Chromium's processes are its descendants
        for board_id, _title, tabs in target.boards:
            cpu_before = process_tree_cpu_s(browser_pid)
            server_before = process_tree_cpu_s(target.server_pid) if target.server_pid else 0.0
            results = render_once(driver, target.url, board_id, tabs, timeout)
            # CPU seconds are counted per dashboard (every tab) and kept on its opening row
            opening = target.renders[(board_id, 0)]
            opening.browser_cpu_s.append(process_tree_cpu_s(browser_pid) - cpu_before)
            if target.server_pid:
                opening.server_cpu_s.append(process_tree_cpu_s(target.server_pid) - server_before)
            for number, (seconds, page, errors) in enumerate(results):
                render = target.renders[(board_id, number)]
                render.seconds.append(seconds)
                render.page_s.append(page)
                render.errors += errors
    finally:
        driver.quit()
        if profile:
            shutil.rmtree(profile, ignore_errors=True)


def measure(targets: list[Target], runs: int, timeout: float) -> None:
    """`runs` cold runs on each target, interleaved (A, B, A, B, ...) so that the load of a shared
    machine falls on every target alike."""
    for run in range(1, runs + 1):
        for target in targets:
            one_run(target, timeout)
            print(f"  run {run}/{runs}{' ' + target.label if len(targets) > 1 else ''}: "
                  + ", ".join(f"{r.title[:24] if not r.tab else '· ' + str(r.tab + 1)} {r.seconds[-1]:.1f} s" for r in target.renders.values())
                  + f"; load {load_average()}", flush=True)


def report(target: Target, runs: int) -> list[DashboardRender]:
    renders = list(target.renders.values())
    print(f"\n{target.label + ': ' if target.label else ''}{runs} cold runs per dashboard (new browser, ?force=true);"
          " seconds until every chart has rendered; a dashboard with tabs: its first tab from navigation, each"
          " other tab («· tab») from the click on it (page: of which until the page's load event; browser CPU:"
          " CPU seconds Chromium spent meanwhile, Superset CPU: its gunicorn processes' (scratch instances only),"
          " both for the whole dashboard, all its tabs; CPU seconds are what the machine's other jobs do not inflate)")
    head = (f"{'dashboard':44} {'charts':>6} {'p50':>7} {'p95':>7} {'max':>7} {'page p50':>9} {'browser CPU p50':>15}"
            f" {'Superset CPU p50':>16}  target p95 <= {TARGET_P95_S:g} s")
    print(head)
    print("-" * len(head))
    missed = []
    for r in renders:
        ok = r.p95 <= TARGET_P95_S
        if not ok:
            missed.append(r)
        server_cpu = f"{statistics.median(r.server_cpu_s):16.2f}" if r.server_cpu_s else f"{'-':>16}"
        browser_cpu = f"{statistics.median(r.browser_cpu_s):15.2f}" if r.browser_cpu_s else f"{'-':>15}"
        page = f"{statistics.median(r.page_s):9.2f}" if not r.tab else f"{'-':>9}"
        print(f"{r.title[:44]:44} {r.charts:6d} {r.p50:7.2f} {r.p95:7.2f} {max(r.seconds):7.2f}"
              f" {page} {browser_cpu} {server_cpu}  {'ok' if ok else 'MISSED'}")
        for error in sorted(set(r.errors))[:5]:
            print(f"    chart error: {error[:200]}")
    print(f"load average (1, 5, 15 min) at the end: {load_average()}")
    return missed


_ACCESS_LINE = re.compile(r"^\[[^\]]*\] (?P<method>[A-Z]+) (?P<path>\S+) \S+ (?P<status>\d{3}) (?P<micros>\d+)\s*$")


def access_log_summary(lines: Iterable[str]) -> list[tuple[str, int, float, float]]:
    """Requests of a scratch Superset's access log (format '%(t)s %(r)s %(s)s %(D)s') grouped by
    method and path, ids replaced by N and the query string and static file names dropped:
    (endpoint, count, total seconds, max seconds), the most total time first. Shows which of
    Superset's requests a dashboard load waits on."""
    groups: dict[str, list[float]] = {}
    for line in lines:
        match = _ACCESS_LINE.match(line)
        if not match:
            continue
        path = match["path"].split("?", 1)[0]
        path = "/static/…" if path.startswith("/static/") else re.sub(r"/\d+(?=/|$)", "/N", path)
        groups.setdefault(f"{match['method']} {path}", []).append(int(match["micros"]) / 1e6)
    rows = [(endpoint, len(s), sum(s), max(s)) for endpoint, s in groups.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def print_access_log_summary(path: Path, top: int = 12) -> None:
    if not path.exists():
        return
    print(f"\nrequests in {path} (by total time; a request's time is gunicorn's, from its arrival to its answer):")
    for endpoint, count, total, longest in access_log_summary(path.read_text(errors="replace").splitlines())[:top]:
        print(f"  {total:8.2f} s  {count:4d} x  mean {1000 * total / count:6.0f} ms  max {1000 * longest:6.0f} ms  {endpoint}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_environment_arguments(parser)
    parser.add_argument("--runs", type=int, default=10, help="cold runs per dashboard (default 10)")
    parser.add_argument("--timeout", type=float, default=120, help="give up on a dashboard after this long")
    parser.add_argument("--workers", type=int, help="gunicorn workers of the scratch Superset (default: the product's)")
    parser.add_argument("--access-log-dir", type=Path, help="scratch Supersets log every request there (a.log, b.log) "
                                                            "with its duration in microseconds")
    compare = parser.add_argument_group(
        "A/B", "measure a second Superset over the same warehouse, its runs interleaved with the first's "
        "(A, B, A, B, ...): a scratch one with other --compare-workers and/or --compare-assets, or a running one")
    compare.add_argument("--compare-superset-url", help="a running Superset (logged in with --user/--password)")
    compare.add_argument("--compare-workers", type=int, help="a scratch Superset with this many gunicorn workers")
    compare.add_argument("--compare-assets", type=Path, help="a scratch Superset with the assets of this directory "
                                                             "(e.g. DIR/superset_assets after `git archive main superset_assets | tar -x -C DIR`)")
    args = parser.parse_args(argv)
    logs = args.access_log_dir
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        url, user, password, warehouse_url = stack.enter_context(environment(
            parser, args, workers=args.workers, access_log=(logs / "a.log") if logs else None))
        size = warehouse_size(warehouse_url)
        print("warehouse: " + ", ".join(f"{k} {v:,}".replace(",", " ") for k, v in size.items()), flush=True)
        comparing = bool(args.compare_superset_url or args.compare_workers or args.compare_assets)
        targets = [Target("A" if comparing else "", url, user, password, dashboards(url, user, password),
                          SCRATCH_SERVER_PIDS.get(url))]
        if args.compare_superset_url:
            if not args.password:
                parser.error("--compare-superset-url needs --password (or SUPERSET_ADMIN_PASSWORD)")
            b_url, b_assets = args.compare_superset_url, ROOT / "superset_assets"
            user, password = args.user, args.password
        elif comparing:
            b_assets = args.compare_assets or ROOT / "superset_assets"
            b_url, user, password = stack.enter_context(scratch_superset(
                warehouse_url, assets_dir=b_assets, workers=args.compare_workers or args.workers,
                access_log=(logs / "b.log") if logs else None))
        if comparing:
            targets.append(Target("B", b_url, user, password, dashboards(b_url, user, password, b_assets),
                                  SCRATCH_SERVER_PIDS.get(b_url)))
        measure(targets, args.runs, args.timeout)
    missed = [r for target in targets for r in report(target, args.runs)]
    if logs:
        for name in ("a.log", "b.log"):
            print_access_log_summary(logs / name)
    if comparing:
        a, b = targets
        print("\nB against A (p50 / p95, browser CPU p50, Superset CPU p50; by dashboard title and tab number,"
              " so a dashboard's opening compares even when A and B lay it out in different tabs):")
        b_by_key = {(rb.title.split(" · ")[0], rb.tab): rb for rb in b.renders.values()}
        for ra in a.renders.values():
            rb = b_by_key.get((ra.title.split(" · ")[0], ra.tab))
            if rb is None:
                continue
            cpu = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
            print(f"  {ra.title[:44]:44} {ra.p50:.2f} / {ra.p95:.2f} -> {rb.p50:.2f} / {rb.p95:.2f} s;"
                  f" browser {cpu(ra.browser_cpu_s):.2f} -> {cpu(rb.browser_cpu_s):.2f} s;"
                  f" Superset {cpu(ra.server_cpu_s):.2f} -> {cpu(rb.server_cpu_s):.2f} s")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
