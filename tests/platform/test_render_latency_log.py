"""bench/dashboards/render_latency.py's access-log summary, on lines written by hand in gunicorn's
format '%(t)s %(r)s %(s)s %(D)s' (microseconds)."""
from __future__ import annotations

from bench.dashboards.render_latency import access_log_summary

LINES = [
    "[05/Dec/2026:08:50:00 +0000] POST /api/v1/chart/data?form_data=%7B%22slice_id%22%3A3%7D HTTP/1.1 200 600000",
    "[05/Dec/2026:08:50:00 +0000] POST /api/v1/chart/data HTTP/1.1 200 200000",
    "[05/Dec/2026:08:50:01 +0000] GET /api/v1/dataset/12/drill_info/?q=(dashboard_id:4) HTTP/1.1 200 250000",
    "[05/Dec/2026:08:50:01 +0000] GET /api/v1/dataset/7/drill_info/ HTTP/1.1 200 150000",
    "[05/Dec/2026:08:50:02 +0000] GET /static/assets/spa.3c707e.entry.js HTTP/1.1 304 1000",
    "[05/Dec/2026:08:50:02 +0000] GET /static/assets/vendors.6f4e.entry.js HTTP/1.1 200 3000",
    "not an access log line",
]


def test_requests_are_grouped_by_endpoint_with_ids_and_queries_dropped() -> None:
    rows = access_log_summary(LINES)
    # chart/data: 0.6 + 0.2 = 0.8 s over 2; drill_info: 0.25 + 0.15 = 0.4 s over 2; static: 0.004 s
    assert [(endpoint, count) for endpoint, count, _, _ in rows] == [
        ("POST /api/v1/chart/data", 2), ("GET /api/v1/dataset/N/drill_info/", 2), ("GET /static/…", 2)]
    totals = {endpoint: (round(total, 6), round(longest, 6)) for endpoint, _, total, longest in rows}
    assert totals["POST /api/v1/chart/data"] == (0.8, 0.6)
    assert totals["GET /api/v1/dataset/N/drill_info/"] == (0.4, 0.25)
    assert totals["GET /static/…"] == (0.004, 0.003)


def test_a_tab_counts_as_rendered_only_once_its_own_charts_are_shown_and_settled() -> None:
    from tests.browser.dashboard_page import ChartState, tab_settled

    def chart(chart_id: int, visible: bool = True, loading: bool = False, content: bool = True, error: str | None = None) -> ChartState:
        return ChartState(chart_id, "table", loading, error, content, visible)

    previous = {1, 2}
    # just after the click: the previous tab's charts are still the visible ones
    assert tab_settled([chart(1), chart(2), chart(3, visible=False)], 1, previous) is None
    # the new tab is shown, its chart still loading
    assert tab_settled([chart(1, visible=False), chart(3, loading=True)], 1, previous) is None
    # shown, but not every chart of the tab is in the page yet
    assert tab_settled([chart(3)], 2, previous) is None
    # a chart with neither content nor an error has not rendered
    assert tab_settled([chart(3, content=False), chart(4)], 2, previous) is None
    # rendered: one with content, one with an error; hidden charts do not count
    settled = tab_settled([chart(1, visible=False), chart(3), chart(4, content=False, error="boom")], 2, previous)
    assert settled is not None and [s.id for s in settled] == [3, 4]
