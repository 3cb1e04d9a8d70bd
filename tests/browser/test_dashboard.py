"""The dashboard in a real headless Chromium, against the app reading real stored results."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.factory import PLOTLY_BUNDLE, PLOTLY_BUNDLE_VERSION, create_app
from dashapp.status import utc_text
from jobs import settings as settings_module
from jobs.result import SERVICE_NAMES, utcnow
from tests.browser.board_support import DRAG_ZOOM, click, texts
from tests.web_support import ENDPOINTS, seed_history, write_cycle

WAIT_S = 15
GRAPH = "return document.querySelector('#chart-postgres .js-plotly-plot')"
REFRESH_S = 2
# When each refresh tick's board request left the page: dash-renderer calls window.fetch for every callback.
RECORD_REFRESHES = """
window.refreshes = {};
const send = window.fetch;
window.fetch = function (url, options) {
    try {
        const body = JSON.parse(options.body);
        const tick = body.inputs.find(i => i.id === 'refresh' && i.property === 'n_intervals');
        if (body.output.includes('status-rows.children') && tick && !(tick.value in window.refreshes)) {
            window.refreshes[tick.value] = performance.now();
        }
    } catch (e) {}
    return send.apply(this, arguments);
};
"""


@pytest.fixture
def dashboard(dash_duo, base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    env = {**base_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5", "DASH_REFRESH_S": str(REFRESH_S)}
    env["APP_ENVIRONMENT"] = "local sandbox"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_module.load()
    seed_history(settings, utcnow())
    dash_duo.start_server(create_app(settings))
    dash_duo.wait_for_text_to_equal("#row-postgres .status-badge", "up", timeout=WAIT_S)
    return dash_duo, settings


def plot(duo, expression: str):
    """Evaluate `expression` against the PostgreSQL chart's Plotly element (`gd`)."""
    # null while plotly is (re)drawing, so waits simply try again.
    return duo.driver.execute_script(
        f"try {{ const gd = {GRAPH[7:]}; return {expression}; }} catch (e) {{ return null; }}"
    )


def test_board_charts_range_and_live_refresh(dashboard) -> None:
    duo, settings = dashboard
    wait = WebDriverWait(duo.driver, WAIT_S)

    # The header and the four rows: names, status words on coloured badges, endpoints, in the fixed order.
    assert texts(duo, "#environment") == ["local sandbox"]
    assert texts(duo, "#status-rows tr th") == list(SERVICE_NAMES.values())
    assert texts(duo, "#status-rows .status-badge") == ["up", "degraded", "down", "not configured"]
    colours = [c.split() for c in texts(duo, "#status-rows .status-badge", "className")]
    assert [c for cs in colours for c in cs if c.startswith("bg-")] == [
        "bg-success",
        "bg-warning",
        "bg-danger",
        "bg-secondary",
    ]
    assert texts(duo, "#status-rows .endpoint") == list(ENDPOINTS.values())
    assert re.fullmatch(r"just now|\d+ s ago", texts(duo, "#row-postgres .when")[0])

    # The worker health line, from RQ's own records in Valkey (no worker runs in this test).
    health = texts(duo, "#worker-health", "innerText")[0]
    assert "0 workers online" in health and "queue depth 0" in health and "0 failed jobs" in health

    # The charts have data: 24 h of checks every 10 minutes.
    wait.until(lambda _: (plot(duo, "gd.data[1].x.length") or 0) > 100)
    day_points = plot(duo, "gd.data[1].x.length")
    assert plot(duo, "gd.data[2].x.length") > 0  # failed checks are marked
    assert texts(duo, "#uptime-postgres")[0].startswith("uptime ")
    # Drawn by plotly.js's partial "basic" bundle from /assets; Dash's full bundle is never fetched.
    assert duo.driver.execute_script("return Plotly.version") == PLOTLY_BUNDLE_VERSION
    fetched = duo.driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    bundle = f"{duo.server_url}/assets/{PLOTLY_BUNDLE}?v={PLOTLY_BUNDLE_VERSION}"
    assert [url for url in fetched if "plotly" in url] == [bundle]

    # Switching the range redraws the chart with that range's data.
    click(duo, "label[for='_dbcprivate_radioitems_range_input_1h']")
    wait.until(lambda _: 0 < (plot(duo, "gd.data[1].x.length") or 0) < 10)
    assert plot(duo, "gd.data[1].x.length") < day_points
    wait.until(lambda _: texts(duo, "#uptime-postgres")[0].endswith("over 1h"))
    # The longer ranges: the axis spans them, and the day of checks is still drawn.
    span_days = "(new Date(gd.layout.xaxis.range[1]) - new Date(gd.layout.xaxis.range[0])) / 86400000"
    for span, days in (("7d", 7), ("30d", 30)):
        click(duo, f"label[for='_dbcprivate_radioitems_range_input_{span}']")
        wait.until(lambda _, span=span: texts(duo, "#uptime-postgres")[0].endswith(f"over {span}"))
        wait.until(lambda _, days=days: abs((plot(duo, span_days) or 0) - days) < 0.01)
        assert (plot(duo, "gd.data[1].x.length") or 0) > 0, span
    click(duo, "label[for='_dbcprivate_radioitems_range_input_1h']")
    wait.until(lambda _: texts(duo, "#uptime-postgres")[0].endswith("over 1h"))

    # Zoom in; a new cycle then shows up without a reload, and the refresh keeps the zoom.
    duo.driver.execute_script("window.notReloaded = true;")
    # Drag-to-zoom with mouse events on the plot area: plotly's own GUI path (a scripted Plotly.relayout
    # would not count as a user interaction, and only those survive a refresh).
    duo.driver.execute_script(DRAG_ZOOM, "#chart-postgres")
    wait.until(lambda _: plot(duo, "gd.layout.xaxis.autorange") is False)
    zoom = plot(duo, "gd.layout.xaxis.range")
    first = texts(duo, "#row-postgres .when", "title")[0]
    checked_at = utcnow()
    write_cycle(settings, checked_at, latency_ms=987.0)
    wait.until(lambda _: texts(duo, "#row-postgres .when", "title") == [utc_text(checked_at)])
    assert utc_text(checked_at) != first
    wait.until(lambda _: 987.0 in (plot(duo, "gd.data[0].y") or []))
    assert duo.driver.execute_script("return window.notReloaded === true")
    assert plot(duo, "gd.layout.xaxis.range") == zoom

    # The detail panel opens to the last check's phases and the strip of recent checks.
    click(duo, "#details .accordion-button")
    wait.until(lambda _: "Phases of the last check" in texts(duo, "#detail-postgres", "innerText")[0])
    assert len(texts(duo, "#detail-postgres .strip .cell", "title")) == 60

    assert duo.get_logs() == []


def test_the_page_refreshes_every_dash_refresh_s(dashboard) -> None:
    duo, _settings = dashboard
    duo.driver.execute_script(RECORD_REFRESHES)
    ticks = 6
    WebDriverWait(duo.driver, ticks * REFRESH_S + WAIT_S).until(
        lambda _: len(duo.driver.execute_script("return Object.keys(window.refreshes)")) >= ticks
    )
    sent = {int(n): at for n, at in duo.driver.execute_script("return window.refreshes").items()}
    gaps = sorted((sent[n + 1] - sent[n]) / 1000 for n in sent if n + 1 in sent)
    median = gaps[len(gaps) // 2]
    # One tick per DASH_REFRESH_S (the median: a loaded machine may delay one request).
    assert 0.75 * REFRESH_S <= median <= 1.25 * REFRESH_S, gaps
