"""The board on a phone: at 390 CSS pixels wide (an iPhone 12-15), Chromium emulating a mobile viewport, the
status table's four columns (Service, Status, Endpoint / FQDN, Last Updated) are all on screen and nothing on
the page scrolls sideways, the table of ended incidents included."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from dashapp.status_table import COLUMNS
from tests.browser.board_support import count
from tests.browser.test_accessibility import WAIT_S, PageState, start, wait_for_board, with_incidents

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True}
# What a phone must show, in the table's first columns.
FOUR = list(COLUMNS[:4])

MEASURE = """
const table = document.getElementById('status-table');
const frame = table.parentElement;  // Bootstrap's .table-responsive, which would scroll sideways
const shown = Array.from(table.querySelectorAll('thead th'))
    .filter(th => th.getBoundingClientRect().width > 0)
    .map(th => [th.textContent, Math.round(th.getBoundingClientRect().right)]);
const incidents = document.getElementById('recent-incidents').parentElement;
return {
    viewport: document.documentElement.clientWidth,
    incidents: [incidents.scrollWidth, incidents.clientWidth],
    page: document.documentElement.scrollWidth,
    frame: [frame.scrollWidth, frame.clientWidth],
    shown: shown,
};
"""


def test_the_four_columns_fit_a_390_px_phone_without_sideways_scrolling(dash_duo, base_env, monkeypatch) -> None:
    start(dash_duo, base_env, monkeypatch, PageState("phone", seed=with_incidents))
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    dash_duo.driver.refresh()
    wait_for_board(dash_duo)
    WebDriverWait(dash_duo.driver, WAIT_S).until(lambda _: count(dash_duo, "#recent-incidents tbody tr") == 1)
    measured = dash_duo.driver.execute_script(MEASURE)
    assert measured["viewport"] == PHONE["width"], measured
    assert [name for name, _ in measured["shown"]] == FOUR, measured
    assert all(right <= measured["viewport"] for _, right in measured["shown"]), measured
    scroll, client = measured["frame"]
    assert scroll <= client, f"the status table scrolls sideways: {measured}"
    scroll, client = measured["incidents"]
    assert scroll <= client, f"the ended incidents scroll sideways: {measured}"
    assert measured["page"] <= measured["viewport"], f"the page scrolls sideways: {measured}"
