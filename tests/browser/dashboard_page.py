"""Headless Chromium driving Superset: log in, open a dashboard, wait for every chart."""
from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from hc_superset.assets import DashboardTab

# the same variables Superset's report worker reads (README: Configuration)
CHROMIUM = os.environ.get("CHROMIUM_BINARY") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_PATH") or "/usr/bin/chromedriver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,1800",
    "--lang=ru-RU",
)

# Per chart: done when it shows content and no spinner; failed when it shows an error.
_CHART_STATE_JS = """
return Array.from(document.querySelectorAll('[data-test-chart-id]')).map(function (el) {
  var loading = el.querySelector('[data-test="loading-indicator"], .loading') !== null;
  var error = el.querySelector('.ant-alert-error, [role="alert"], [data-test="error-message"]');
  // a big number is rendered when its number is; an icon (svg) in the chart's header is not content
  var viz = el.getAttribute('data-test-viz-type') || '';
  var content = el.querySelector(viz.indexOf('big_number') === 0 ? '.header-line' : 'canvas, svg, table, .header-line') !== null;
  return {id: el.getAttribute('data-test-chart-id'), viz: el.getAttribute('data-test-viz-type'),
          loading: loading, error: error ? error.textContent : null, content: content,
          visible: el.getClientRects().length > 0};
});
"""


@dataclass
class ChartState:
    id: int
    viz: str
    loading: bool
    error: str | None
    content: bool
    visible: bool = True  # on the tab shown (a chart on another tab is in the page, hidden)

    @property
    def settled(self) -> bool:
        return bool(self.content or self.error) and not self.loading


def make_driver() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='hc-chrome-')}")
    # the network events of the page (chart_data_responses reads the data each chart was given)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last state: {last!r})")


_RESOURCES_JS = "return document.readyState === 'complete' ? performance.getEntriesByType('resource').length : -1"


def _wait_until_quiet(driver: webdriver.Chrome, quiet_s: float = 0.5, timeout: float = 15) -> None:
    """Until the page has loaded and fetched nothing new for `quiet_s`. The login page is Superset's
    single-page app: its own requests come back with a new anonymous session cookie, and one that
    arrives after the login's answer replaces the login (the race superset_config.py's
    _webdriver_auth avoids for reports). A person does not type that fast; the tests wait as if."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        count = driver.execute_script(_RESOURCES_JS)
        if count != last or count < 0:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)


def login(driver: webdriver.Chrome, base_url: str, user: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base_url}/login/")
    wait_for(lambda: driver.find_elements(By.ID, "username"), 30, "the login form")
    _wait_until_quiet(driver)
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "[type=submit]").click()
    wait_for(lambda: "/login" not in driver.current_url, 30, f"login of {user!r} to finish")


# Show a dashboard tab by its title (Superset's tabs are antd tabs inside the dashboard grid).
_SHOW_TAB_JS = """
var title = arguments[0];
var tabs = Array.from(document.querySelectorAll('.dashboard-component-tabs [role="tab"]'));
var tab = tabs.find(function (t) { return t.textContent.trim() === title; });
if (!tab) { return tabs.map(function (t) { return t.textContent.trim(); }); }
tab.click();
return null;
"""

# Show the tab a chart is on (it must have been shown once: Superset adds a tab's charts to the
# page when the tab is first shown). True when the chart is now visible.
_SHOW_CHART_JS = """
var chart = document.querySelector('[data-test-chart-id="' + arguments[0] + '"]');
if (!chart) { return false; }
var panel = chart.closest('[role="tabpanel"]');
if (panel && panel.id) {
  var tab = document.querySelector('[role="tab"][aria-controls="' + panel.id + '"]');
  if (tab) { tab.click(); }
}
return chart.getClientRects().length > 0;
"""


def chart_states(driver: webdriver.Chrome) -> list[ChartState]:
    return [ChartState(int(s["id"]), s["viz"], s["loading"], s["error"], s["content"], s["visible"]) for s in driver.execute_script(_CHART_STATE_JS)]


def show_tab(driver: webdriver.Chrome, title: str) -> None:
    titles = driver.execute_script(_SHOW_TAB_JS, title)
    if titles is not None:
        raise AssertionError(f"no dashboard tab {title!r}; the tabs are {titles}")


def tab_settled(states: list[ChartState], charts: int, before: Collection[int] = ()) -> list[ChartState] | None:
    """The visible charts once `charts` of them are visible and each has rendered content or an
    error, else None. `before`: the charts of the tab shown before (until the page has switched
    they are still the visible ones)."""
    visible = [s for s in states if s.visible]
    if len(visible) < charts or any(s.id in before for s in visible) or not all(s.settled for s in visible):
        return None
    return visible


def wait_for_tab(driver: webdriver.Chrome, charts: int, timeout: float, what: str, before: Collection[int] = ()) -> list[ChartState]:
    return wait_for(lambda: tab_settled(chart_states(driver), charts, before), timeout, what)


def open_dashboard(driver: webdriver.Chrome, base_url: str, dashboard_id: int, tabs: Sequence[DashboardTab], timeout: float = 90, query: str = "") -> list[ChartState]:
    """Open a dashboard (``query``: more URL parameters, e.g. ``&native_filters=...``) and wait
    until each of its charts has rendered content or an error. ``tabs``: its layout
    (hc_superset.assets.dashboard_tabs; one tab for a dashboard without tabs). Each tab is shown
    in turn (Superset queries a tab's charts when it is first shown) and the dashboard is left on
    its first tab; the states of all charts are returned."""
    driver.get(f"{base_url}/superset/dashboard/{dashboard_id}/?standalone=0{query}")
    states: dict[int, ChartState] = {}
    shown: list[ChartState] = []
    for number, tab in enumerate(tabs):
        if number:
            show_tab(driver, tab.title)
        what = f"{len(tab.chart_uuids)} charts of dashboard {dashboard_id}" + (f", tab {tab.title!r}," if tab.id else "") + " to render"
        shown = wait_for_tab(driver, len(tab.chart_uuids), timeout, what, before={s.id for s in shown})
        states.update((s.id, s) for s in shown)
    if len(tabs) > 1:
        show_tab(driver, tabs[0].title)
    time.sleep(0.5)  # let animations (echarts) finish before screenshots
    return list(states.values())


def show_chart(driver: webdriver.Chrome, chart_id: int) -> None:
    """Show the tab the chart is on (a chart on a hidden tab has no text to read)."""
    wait_for(lambda: driver.execute_script(_SHOW_CHART_JS, chart_id), 10, f"chart {chart_id} to be shown")


def screenshot(driver: webdriver.Chrome, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 1200)")
    driver.set_window_size(1600, min(int(height) + 200, 4000))
    driver.save_screenshot(str(path))
    return path


def chart_texts(driver: webdriver.Chrome, chart_id: int, selector: str, timeout: float = 30) -> list[str]:
    """The non-empty texts of `selector` in a chart, waiting up to `timeout` s for the first one
    (a chart can report itself rendered a moment before its text is in the page)."""

    show_chart(driver, chart_id)

    def texts() -> list[str]:
        found = [e.text for e in driver.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] {selector}')]
        return [t for t in found if t.strip()]

    try:
        return wait_for(texts, timeout, f"text {selector!r} in chart {chart_id}")
    except TimeoutError:
        return []


def chart_table(driver: webdriver.Chrome, chart_id: int) -> list[list[str]]:
    """The body rows of a table chart, as the texts of their cells."""
    show_chart(driver, chart_id)
    rows = driver.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] tbody tr')
    # the table chart can keep a hidden copy of its rows (to measure column widths), whose cells
    # have no text: only the rows a reader sees
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows if row.is_displayed()]


def flush_network_log(driver: webdriver.Chrome) -> None:
    """Forget the network events so far (the next chart_data_responses sees only newer ones)."""
    driver.get_log("performance")
    driver.__dict__["_hc_chart_requests"] = {}


def network_events(driver: webdriver.Chrome) -> Iterator[tuple[str, dict]]:
    """(method, params) of each network event Chromium logged since the last read of the log."""
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        yield message.get("method", ""), message.get("params") or {}


def chart_data_responses(driver: webdriver.Chrome) -> list[tuple[dict, dict]]:
    """(form_data, first result) of every /api/v1/chart/data request the page finished since the
    last call: what each chart and each native filter was given to draw, in the order the server
    returned it. A request sent before one call and finished before the next is found then."""
    sent: dict[str, dict] = driver.__dict__.setdefault("_hc_chart_requests", {})
    finished: list[str] = []
    for method, params in network_events(driver):
        if method == "Network.requestWillBeSent":
            request = params.get("request") or {}
            if "/api/v1/chart/data" in request.get("url", "") and request.get("method") == "POST":
                try:
                    sent[params["requestId"]] = json.loads(request.get("postData") or "{}").get("form_data") or {}
                except ValueError:
                    continue
        elif method == "Network.loadingFinished" and params.get("requestId") in sent:
            finished.append(params["requestId"])
    out = []
    for request_id in finished:
        form_data = sent.pop(request_id)
        try:
            body = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})
        except Exception:  # a body the browser already dropped is not a result
            continue
        results = json.loads(body.get("body") or "{}").get("result") or []
        if results:
            out.append((form_data, results[0]))
    return out
