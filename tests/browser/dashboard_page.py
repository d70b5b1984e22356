"""Headless Chromium driving Superset: log in, open a dashboard, wait for every chart."""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

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
          loading: loading, error: error ? error.innerText : null, content: content};
});
"""


@dataclass
class ChartState:
    id: int
    viz: str
    loading: bool
    error: str | None
    content: bool


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


def open_dashboard(driver: webdriver.Chrome, base_url: str, dashboard_id: int, expected_charts: int, timeout: float = 90, query: str = "") -> list[ChartState]:
    """Open a dashboard (``query``: more URL parameters, e.g. ``&native_filters=...``) and wait
    until each of its charts has rendered content or an error."""
    driver.get(f"{base_url}/superset/dashboard/{dashboard_id}/?standalone=0{query}")

    def settled() -> list[ChartState] | None:
        states = [ChartState(int(s["id"]), s["viz"], s["loading"], s["error"], s["content"]) for s in driver.execute_script(_CHART_STATE_JS)]
        if len(states) < expected_charts:
            return None
        if all((s.content or s.error) and not s.loading for s in states):
            return states
        return None

    states = wait_for(settled, timeout, f"{expected_charts} charts of dashboard {dashboard_id} to render")
    time.sleep(0.5)  # let animations (echarts) finish before screenshots
    return states


def screenshot(driver: webdriver.Chrome, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 1200)")
    driver.set_window_size(1600, min(int(height) + 200, 4000))
    driver.save_screenshot(str(path))
    return path


def chart_texts(driver: webdriver.Chrome, chart_id: int, selector: str, timeout: float = 30) -> list[str]:
    """The non-empty texts of `selector` in a chart, waiting up to `timeout` s for the first one
    (a chart can report itself rendered a moment before its text is in the page)."""

    def texts() -> list[str]:
        found = [e.text for e in driver.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] {selector}')]
        return [t for t in found if t.strip()]

    try:
        return wait_for(texts, timeout, f"text {selector!r} in chart {chart_id}")
    except TimeoutError:
        return []


def chart_table(driver: webdriver.Chrome, chart_id: int) -> list[list[str]]:
    """The body rows of a table chart, as the texts of their cells."""
    rows = driver.find_elements(By.CSS_SELECTOR, f'[data-test-chart-id="{chart_id}"] tbody tr')
    return [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]


def flush_network_log(driver: webdriver.Chrome) -> None:
    """Forget the network events so far (the next chart_data_responses sees only newer ones)."""
    driver.get_log("performance")
    driver.__dict__["_hc_chart_requests"] = {}


def chart_data_responses(driver: webdriver.Chrome) -> list[tuple[dict, dict]]:
    """(form_data, first result) of every /api/v1/chart/data request the page finished since the
    last call: what each chart and each native filter was given to draw, in the order the server
    returned it. A request sent before one call and finished before the next is found then."""
    sent: dict[str, dict] = driver.__dict__.setdefault("_hc_chart_requests", {})
    finished: list[str] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params") or {}
        if message.get("method") == "Network.requestWillBeSent":
            request = params.get("request") or {}
            if "/api/v1/chart/data" in request.get("url", "") and request.get("method") == "POST":
                try:
                    sent[params["requestId"]] = json.loads(request.get("postData") or "{}").get("form_data") or {}
                except ValueError:
                    continue
        elif message.get("method") == "Network.loadingFinished" and params.get("requestId") in sent:
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
