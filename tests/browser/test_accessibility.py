"""The board checked by axe-core in headless Chromium, in each state a user can meet, and walked by keyboard.

axe-core comes with axe-selenium-python-nhsuk (its bundled axe.min.js, injected through the WebDriver
protocol, which the page's CSP does not govern). Every page added later gets a PageState in STATES.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from axe_selenium_python import Axe
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.factory import create_app
from dashapp.ranges import CHART_RANGES, DEFAULT_RANGE
from jobs import settings as settings_module
from jobs.result import SERVICE_NAMES, utcnow
from jobs.settings import Settings
from sandbox.embedded import free_port
from tests.web_support import seed_history

WAIT_S = 20
# WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@dataclass(frozen=True)
class PageState:
    """One state of one page to check: its settings, what is stored first, and the chart ranges to visit."""

    name: str
    seed: Callable[[Settings, datetime], None] | None = seed_history
    unset: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    ranges: tuple[str, ...] = (DEFAULT_RANGE,)


def _stale(settings: Settings, now: datetime) -> None:
    seed_history(settings, now - timedelta(hours=2))


STATES = [
    # Up, degraded, down and not configured side by side, on every chart range.
    PageState("every status", ranges=tuple(CHART_RANGES)),
    PageState("stale", seed=_stale),
    PageState("nothing stored, Valkey not configured", seed=None, unset=("VALKEY_URL",)),
    PageState(
        "results store unreachable", seed=None, env={"DATABASE_URL": f"postgresql://x:y@127.0.0.1:{free_port()}/x"}
    ),
]


def axe_violations(driver) -> list[dict]:
    axe = Axe(driver)
    axe.inject()
    return axe.run(options=json.dumps({"runOnly": {"type": "tag", "values": AXE_TAGS}}))["violations"]


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
    duo.start_server(create_app(settings))
    duo.driver.set_script_timeout(60)
    if state.path != "/":
        duo.driver.get(duo.server_url + state.path)
    return settings


def count(duo, selector: str) -> int:
    return duo.driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def wait_for_board(duo) -> None:
    wait = WebDriverWait(duo.driver, WAIT_S)
    wait.until(lambda _: count(duo, "#status-rows tr") == len(SERVICE_NAMES))
    wait.until(lambda _: count(duo, ".chart .main-svg") >= len(SERVICE_NAMES))


def open_every_panel(duo) -> None:
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
            duo.driver.execute_script(caption).endswith(f"over {span}")
            or "unavailable" in duo.driver.execute_script(caption)
        )
    )


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_no_axe_violations(dash_duo, base_env, monkeypatch, state: PageState) -> None:
    start(dash_duo, base_env, monkeypatch, state)
    wait_for_board(dash_duo)
    open_every_panel(dash_duo)
    found = {}
    for span in state.ranges:
        choose_range(dash_duo, span)
        violations = axe_violations(dash_duo.driver)
        if violations:
            found[span] = describe(violations)
    report = "\n".join(f"range {span}:\n{text}" for span, text in found.items())
    assert not found, f"axe-core found violations on '{state.name}':\n{report}"
    # Nothing the page did was refused by its CSP or failed in the console.
    assert dash_duo.get_logs() == []
