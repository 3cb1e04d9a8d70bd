"""The board and the public status page checked by axe-core in headless Chromium, in each state a user can meet,
and the board walked by keyboard.

axe-core comes with axe-selenium-python-nhsuk (its bundled axe.min.js, injected through the WebDriver
protocol, which the page's CSP does not govern). Every page added later gets a PageState in STATES.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_selenium_python import Axe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.factory import create_app
from dashapp.ranges import CHART_RANGES, DEFAULT_RANGE
from jobs import settings as settings_module
from jobs import store
from jobs.result import SERVICE_NAMES, Status, utcnow
from jobs.settings import Settings
from tests.access_support import PASSWORD, USERNAME, access_env
from tests.browser.board_support import DRAG_ZOOM, count, texts
from tests.web_support import LATEST, seed_attempts, seed_history, seed_incidents, write_cycle

WAIT_S = 20
# WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def wait_for_board(duo) -> None:
    wait = WebDriverWait(duo.driver, WAIT_S)
    wait.until(lambda _: count(duo, "#status-rows tr") == len(SERVICE_NAMES))
    wait.until(lambda _: count(duo, ".chart .main-svg") >= len(SERVICE_NAMES))


def open_every_panel(duo) -> None:
    wait_for_board(duo)
    wait = WebDriverWait(duo.driver, WAIT_S)
    for opened in range(1, len(SERVICE_NAMES) + 1):
        # Clicked from script: the page grows as panels open, so a pointer click could land on what moved in.
        duo.driver.execute_script("document.querySelector('#details .accordion-button.collapsed').click()")
        wait.until(lambda _, opened=opened: count(duo, "#details .accordion-button:not(.collapsed)") == opened)
    wait.until(lambda _: count(duo, "#details .collapsing") == 0)


def choose_range(duo, span: str) -> None:
    choice = f"_dbcprivate_radioitems_range_input_{span}"
    duo.driver.execute_script("document.getElementById(arguments[0]).click()", choice)
    caption = "return document.querySelector('#uptime-postgres').textContent"
    WebDriverWait(duo.driver, WAIT_S).until(
        lambda _: (
            # With several locations each one's uptime follows: "... over 1h · fra1 99.9 % · nyc3 ..."
            duo.driver.execute_script(caption).split(" · ")[0].endswith(f"over {span}")
            or "unavailable" in duo.driver.execute_script(caption)
        )
    )


@dataclass(frozen=True)
class PageState:
    """One state of one page to check: its settings and what is stored first, the page's path, how to bring
    it to the state to check (wait for it, open what is collapsed), and the views to check in turn (each one a
    value `choose` sets on the page's controls: for the board, a chart range)."""

    name: str
    seed: Callable[[Settings, datetime], None] | None = seed_history
    unset: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    ready: Callable[[Any], None] = open_every_panel
    views: tuple[str, ...] = (DEFAULT_RANGE,)
    choose: Callable[[Any, str], None] = choose_range
    # The page's own HTTP status; the browser notes one that is not 200 in the console, as expected.
    answers: int = 200
    # HTTP basic-auth credentials the page asks for (user, password), given in its URL.
    credentials: tuple[str, str] | None = None
    # The board is behind the sign-in: the browser is not sent to it before the page's path.
    signs_in: bool = False


def _stale(settings: Settings, now: datetime) -> None:
    seed_history(settings, now - timedelta(hours=2))


def _with_incidents(settings: Settings, now: datetime) -> None:
    """Every status, and open incidents of both levels."""
    seed_history(settings, now)
    conn = store.connect(settings.postgres, 10)
    with store.transaction(conn) as cur:
        store.open_incident(cur, "roles_anywhere", "test", "critical", now - timedelta(hours=1), None, None)
        store.open_incident(cur, "valkey", "test", "warning", now - timedelta(minutes=5), None, None)
    conn.close()


def wait_for_status_page(duo) -> None:
    WebDriverWait(duo.driver, WAIT_S).until(lambda _: texts(duo, "h1") == ["Service status"])


def _static(duo, view: str) -> None:
    """A page without controls: one view."""


def status_page(name: str, **given: Any) -> PageState:
    """A state of the public status page (server-rendered, no controls)."""
    env = {"STATUS_PAGE": "on", **given.pop("env", {})}
    return PageState(name, path="/status", env=env, ready=wait_for_status_page, views=("",), choose=_static, **given)


def with_incidents(settings: Settings, now: datetime) -> None:
    """Every status, two open incidents (one caused by the other) and ended ones."""
    seed_history(settings, now)
    seed_incidents(settings, now)


def with_deliveries(settings: Settings, now: datetime) -> None:
    seed_history(settings, now)
    seed_attempts(settings)


def delivery_log_shown(duo) -> None:
    WebDriverWait(duo.driver, WAIT_S).until(lambda _: count(duo, "#delivery-log tbody tr") == 3)


OPERATOR = ("operator", "a-long-enough-secret")
# Three probing locations: fra1 as LATEST, nyc3 with PostgreSQL down there alone (partial across them) and
# Valkey up, sgp1's worker gone for two hours (stale there).
LOCATIONS = {"PROBE_LOCATIONS": "fra1,nyc3,sgp1", "PROBE_LOCATION": "fra1"}


def from_three_locations(settings: Settings, now: datetime) -> None:
    seed_history(settings, now, "fra1")
    seed_history(settings, now, "nyc3", {**LATEST, "postgres": Status.DOWN, "valkey": Status.UP})
    seed_history(settings, now - timedelta(hours=2), "sgp1")


def location_grid_shown(duo) -> None:
    """Every panel open, the grid's cell of each service at each location, one latency line per location."""
    open_every_panel(duo)
    wait = WebDriverWait(duo.driver, WAIT_S)
    places = LOCATIONS["PROBE_LOCATIONS"].split(",")
    wait.until(lambda _: count(duo, "#location-table td .status-badge") == len(SERVICE_NAMES) * len(places))
    wait.until(lambda _: texts(duo, "#chart-postgres .legendtext")[: len(places)] == places)


# Tab stops within which the board's sign-out link comes (it is in the header, before the board).
SIGN_OUT_TABS = 5


def sign_in_step(duo, step: str) -> None:
    """Walk the basic sign-in: its form, a wrong password, the board signed in, the sign-out page, signed out."""
    wait, driver, base = WebDriverWait(duo.driver, WAIT_S), duo.driver, duo.server.url
    heading = lambda: texts(duo, "h1")  # noqa: E731
    if step in ("wrong password", "board"):
        driver.find_element(By.ID, "username").send_keys(USERNAME)
        driver.find_element(By.ID, "password").send_keys(PASSWORD if step == "board" else "wrong-password-1")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if step == "sign-in form":
        wait.until(lambda _: heading() == ["Sign in"])
    elif step == "wrong password":
        wait.until(lambda _: "Wrong username or password." in texts(duo, ".alert")[:1])
    elif step == "board":
        wait_for_board(duo)
    elif step == "sign-out page":
        # The board's sign-out link, reached and followed by keyboard, with a visible focus ring.
        driver.get(base + "/")
        wait_for_board(duo)
        stops = [press(duo, Keys.TAB)]
        while stops[-1]["name"] != "/logout" and len(stops) < SIGN_OUT_TABS:
            stops.append(press(duo, Keys.TAB))
        assert stops[-1]["name"] == "/logout" and stops[-1]["ring"], stops
        press(duo, Keys.ENTER)
        wait.until(lambda _: heading() == ["Sign out"])
    else:
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda _: heading() == ["Signed out"])


STATES = [
    # Up, degraded, down and not configured side by side, on every chart range.
    PageState("every status", views=CHART_RANGES),
    # Open incidents at the top, ended ones below, their periods shaded on the charts; alerting configured.
    PageState(
        "open and past incidents",
        seed=with_incidents,
        env={"ALERT_URLS": "json://127.0.0.1:9/hook"},
        views=("1h", "7d"),
    ),
    PageState("stale", seed=_stale),
    PageState("nothing stored, Valkey not configured", seed=None, unset=("VALKEY_URL",)),
    # Several probing locations: the grid of services by location, one latency line per location.
    PageState(
        "several locations", seed=from_three_locations, env=LOCATIONS, ready=location_grid_shown, views=CHART_RANGES
    ),
    # The basic sign-in's pages (a wrong password answers 401), and the board signed in, with its sign-out link.
    PageState(
        "sign-in and sign-out",
        env=access_env("basic"),
        path="/login",
        ready=lambda _duo: None,
        views=("sign-in form", "wrong password", "board", "sign-out page", "signed out"),
        choose=sign_in_step,
        answers=401,
        signs_in=True,
    ),
    # The operators' delivery log, failures among the attempts, with its test notification button.
    PageState(
        "delivery log",
        seed=with_deliveries,
        env={
            "RQ_DASHBOARD_USERNAME": OPERATOR[0],
            "RQ_DASHBOARD_PASSWORD": OPERATOR[1],
            "ALERT_URLS": "json://127.0.0.1:9/hook",
        },
        path="/operator/alerts",
        credentials=OPERATOR,
        ready=delivery_log_shown,
        views=("log",),
        choose=lambda _duo, _view: None,
    ),
    # Nothing listens on port 1: every read is refused at once.
    PageState("results store unreachable", seed=None, env={"DATABASE_URL": "postgresql://x:y@127.0.0.1:1/x"}),
    status_page("status page, every status, open incidents", seed=_with_incidents),
    status_page("status page, stale", seed=_stale),
    status_page("status page, nothing stored", seed=None),
    status_page(
        "status page, unavailable", seed=None, env={"DATABASE_URL": "postgresql://x:y@127.0.0.1:1/x"}, answers=503
    ),
]


def axe_violations(driver) -> list[dict]:
    axe = Axe(driver)
    axe.inject()
    return axe.run(options=json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}}))["violations"]


def test_readme_names_the_axe_core_version_that_checks() -> None:
    """The README's claim names the axe-core these tests inject, not an older one."""
    bundled = re.match(r"/\*! axe v(\S+)\n", Path(Axe(None).script_url).read_text(encoding="utf-8"))
    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8").split())
    claimed = re.findall(r"as checked by axe-core (\d\S*\d)", readme)
    assert bundled, "no version at the head of the bundled axe.min.js"
    assert claimed == [bundled.group(1)]


def describe(violations: list[dict]) -> str:
    """Each violated rule with its elements, as a person fixing them needs it."""
    lines = []
    for rule in violations:
        lines.append(f"{rule['id']} ({rule['impact']}): {rule['help']} {rule['helpUrl']}")
        for node in rule["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def start(duo, base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, state: PageState) -> Settings:
    env = {**base_env, "PROBE_INTERVAL_S": "60", "DASH_REFRESH_S": "30", **state.env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in state.unset:
        monkeypatch.delenv(name, raising=False)
    settings = settings_module.load()
    if state.seed is not None:
        state.seed(settings, utcnow())
    duo.start_server(create_app(settings), navigate=not state.signs_in)
    duo.driver.set_script_timeout(60)
    if state.credentials:
        user, password = state.credentials
        duo.driver.get(duo.server.url.replace("://", f"://{user}:{password}@", 1) + state.path)
    elif state.path != "/":
        duo.driver.get(duo.server.url + state.path)
    return settings


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_no_axe_violations(dash_duo, base_env, monkeypatch, state: PageState) -> None:
    start(dash_duo, base_env, monkeypatch, state)
    state.ready(dash_duo)
    found = {}
    for view in state.views:
        state.choose(dash_duo, view)
        violations = axe_violations(dash_duo.driver)
        if violations:
            found[view] = describe(violations)
    report = "\n".join(f"view {view}:\n{text}" for view, text in found.items())
    assert not found, f"axe-core found violations on '{state.name}':\n{report}"
    # Nothing the page did was refused by its CSP or failed in the console.
    noted = f"{dash_duo.server.url}{state.path} - Failed to load resource: the server responded with a status of "
    expected = (noted + f"{state.answers} ",) if state.answers != 200 else ()
    assert [log for log in dash_duo.get_logs() if not log["message"].startswith(expected)] == []


# What has the keyboard focus, and whether it shows a ring (a radio button's ring is on its label).
FOCUSED = """
const el = document.activeElement;
const shown = el.matches('.btn-check') ? document.querySelector(`label[for="${el.id}"]`) : el;
const style = getComputedStyle(shown);
const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
const name = el.getAttribute('href') || el.id || el.getAttribute('aria-label') || '';
const chart = el.closest('.chart');
return {name: name, text: (el.innerText || '').trim(), ring: ring, chart: chart ? chart.id : null,
        expanded: el.getAttribute('aria-expanded'), checked: el.checked === true};
"""
# The hours the PostgreSQL chart's x axis shows; null while plotly (re)draws, so waits simply try again.
SHOWN_HOURS = """
try {
    const range = document.querySelector('#chart-postgres .js-plotly-plot').layout.xaxis.range;
    return (new Date(range[1]) - new Date(range[0])) / 3600000;
} catch (e) { return null; }
"""
RANGE_INPUT = "_dbcprivate_radioitems_range_input_"
# Plotly's own toolbar button that undoes a zoom, and how many buttons its toolbar has at most.
RESET_ZOOM = "Reset axes"
TOOLBAR_BUTTONS = 10


def press(duo, *keys: str) -> dict:
    """Send keys to whatever has the focus, as a keyboard would, and say what has it afterwards."""
    ActionChains(duo.driver).send_keys(*keys).perform()
    return duo.driver.execute_script(FOCUSED)


def caption_ends(duo, text: str) -> None:
    WebDriverWait(duo.driver, WAIT_S).until(lambda _: texts(duo, "#uptime-postgres")[0].endswith(text))


def test_keyboard_alone_reaches_and_works_every_control(dash_duo, base_env, monkeypatch) -> None:
    rq = {"RQ_DASHBOARD_USERNAME": "operator", "RQ_DASHBOARD_PASSWORD": "a-long-enough-secret", "DASH_REFRESH_S": "2"}
    start(dash_duo, base_env, monkeypatch, PageState("keyboard", env=rq))
    wait_for_board(dash_duo)
    duo, wait = dash_duo, WebDriverWait(dash_duo.driver, WAIT_S)
    # A click on the page's title puts the window's focus, and the start of the tab order, at the top.
    duo.find_element("h1").click()
    stops = []

    def tab() -> dict:
        stops.append(press(duo, Keys.TAB))
        return stops[-1]

    # Tab order follows the page: the RQ and delivery log links in the health line, the accordion, the range
    # picker, each chart's toolbar (plotly's, shown while it has the focus), the footer's links; nothing else
    # takes a stop.
    assert tab()["name"] == "/rq/"
    assert tab()["name"] == "/operator/alerts"
    first_panel = tab()
    assert first_panel["text"] == SERVICE_NAMES["postgres"] and first_panel["expanded"] == "false"
    # Enter opens a panel, Space closes it again.
    assert press(duo, Keys.ENTER)["expanded"] == "true"
    wait.until(lambda _: count(duo, "#details .accordion-collapse.show") == 1)
    wait.until(lambda _: "Recent checks" in texts(duo, "#detail-postgres", "innerText")[0])
    assert press(duo, Keys.SPACE)["expanded"] == "false"
    wait.until(lambda _: count(duo, "#details .accordion-collapse.show, #details .collapsing") == 0)
    for service in list(SERVICE_NAMES)[1:]:
        assert tab()["text"] == SERVICE_NAMES[service]
    # The range picker is one stop; arrows move through its choices and pick them.
    picker = tab()
    assert (picker["name"], picker["checked"]) == (RANGE_INPUT + DEFAULT_RANGE, True)
    following = CHART_RANGES[CHART_RANGES.index(DEFAULT_RANGE) + 1]
    assert press(duo, Keys.ARROW_RIGHT)["name"] == RANGE_INPUT + following
    caption_ends(duo, f"over {following}")
    assert press(duo, *[Keys.ARROW_LEFT] * CHART_RANGES.index(following))["name"] == RANGE_INPUT + CHART_RANGES[0]
    caption_ends(duo, f"over {CHART_RANGES[0]}")
    # A zoom made with the pointer is undone from the keyboard, and stays undone over the next refreshes.
    hours = lambda: duo.driver.execute_script(SHOWN_HOURS) or 0  # noqa: E731
    wait.until(lambda _: abs(hours() - 1) < 0.01)
    duo.driver.execute_script(DRAG_ZOOM, "#chart-postgres")
    wait.until(lambda _: 0 < hours() < 0.5)
    toolbar = []
    while tab()["name"] != RESET_ZOOM and len(toolbar) < TOOLBAR_BUTTONS:
        toolbar.append(stops[-1])
    assert stops[-1]["chart"] == "chart-postgres" and all(b["chart"] == "chart-postgres" for b in toolbar), stops
    press(duo, Keys.ENTER)
    wait.until(lambda _: abs(hours() - 1) < 0.01)
    refreshed = texts(duo, "#row-postgres .when")
    wait.until(lambda _: texts(duo, "#row-postgres .when") != refreshed)
    assert abs(hours() - 1) < 0.01
    while tab()["chart"]:
        assert len(stops) < 100, "the tab order never leaves the charts"
    assert {stop["chart"] for stop in stops if stop["chart"]} == {f"chart-{s}" for s in SERVICE_NAMES}
    assert stops[-1]["name"] == "/api/status"
    assert tab()["name"] == "/metrics"
    unringed = [stop["name"] for stop in stops if not stop["ring"]]
    assert not unringed, f"no visible focus ring on {unringed}"
    # A link followed with Enter.
    press(duo, Keys.ENTER)
    wait.until(lambda _: duo.driver.current_url == duo.server_url + "/metrics")


SUMMARY_MUTATIONS = """
window.mutations = {summary: 0, rows: 0};
const watch = (selector, key) => new MutationObserver(found => { window.mutations[key] += found.length; })
    .observe(document.querySelector(selector), {childList: true, characterData: true, subtree: true});
watch('#status-summary', 'summary'); watch('#status-rows', 'rows');
"""


def test_status_changes_are_announced_politely_and_only_then(dash_duo, base_env, monkeypatch) -> None:
    settings = start(dash_duo, base_env, monkeypatch, PageState("live", env={"DASH_REFRESH_S": "1"}))
    wait_for_board(dash_duo)
    duo, wait = dash_duo, WebDriverWait(dash_duo.driver, WAIT_S)
    said = "; ".join(f"{SERVICE_NAMES[s]}: {status.value.replace('_', ' ')}" for s, status in LATEST.items()) + "."
    wait.until(lambda _: texts(duo, "#status-summary") == [said])
    region = duo.driver.execute_script(
        "const e = document.getElementById('status-summary');"
        "return [e.getAttribute('role'), e.getAttribute('aria-live'), e.getBoundingClientRect().width];"
    )
    assert region == ["status", "polite", 1]  # spoken, not shown (Bootstrap's visually-hidden)
    # Several refreshes redraw the table; the summary is left alone, so nothing is read out again.
    duo.driver.execute_script(SUMMARY_MUTATIONS)
    wait.until(lambda _: duo.driver.execute_script("return window.mutations.rows") >= 3)
    assert duo.driver.execute_script("return window.mutations.summary") == 0
    # A status changes: the summary says so.
    write_cycle(settings, utcnow(), {**LATEST, "postgres": Status.DOWN})
    wait.until(lambda _: texts(duo, "#status-summary")[0].startswith("PostgreSQL: down;"))
    assert duo.driver.execute_script("return window.mutations.summary") > 0
    duo.driver.get("about:blank")  # no refresh in flight when the server stops
