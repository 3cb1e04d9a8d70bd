"""The board's alerting parts, pure: the summary line, the incidents section, the shaded chart periods and the
note while alerting is unconfigured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashapp.figures import incident_periods, latency_figure
from dashapp.incident_views import (
    RECENT_SHOWN,
    alerting_note,
    headline,
    headline_look,
    incidents_section,
    oldest_open,
)
from dashapp.status import board
from jobs.durations import duration
from jobs.result import ProbeResult, Status
from jobs.store import Incident
from tests.test_web_views import text_of

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
SHORT = {"postgres": "pg", "valkey": "vk", "roles_anywhere": "ra", "secrets_manager": "sm"}


def checked(service: str, status: Status, age: timedelta = timedelta(seconds=10)) -> ProbeResult:
    return ProbeResult(service, status, 5.0, "host:1", NOW - age, "ams3", {}, {}, None)


def incident(
    service: str, started: timedelta, ended: timedelta | None = None, level: str = "critical", **fields
) -> Incident:
    values = {"first_error": None, "worst_status": "down", "checks_failed": 3, "root_cause": None, **fields}
    return Incident(
        id=hash((service, started)) % 10_000,
        service=service,
        location="ams3",
        level=level,
        started_at=NOW - started,
        ended_at=None if ended is None else NOW - ended,
        **values,
    )


def views(statuses: dict[str, str], stale_age: timedelta = 2 * 60 * MIN):
    """The board's four views: each short name's status word; 'stale' is a result `stale_age` old,
    'nothing' is no result at all."""
    latest = {}
    for short, word in statuses.items():
        service = next(s for s, n in SHORT.items() if n == short)
        if word == "stale":
            latest[service] = checked(service, Status.UP, stale_age)
        elif word != "nothing":
            latest[service] = checked(service, Status(word))
    return board(latest, NOW, 60, {})


ALL_UP = {"pg": "up", "vk": "up", "ra": "up", "sm": "up"}


@pytest.mark.parametrize(
    ("statuses", "opened", "text"),
    [
        (ALL_UP, [], "All 4 services operational"),
        # An open incident of a service that works again (it resolves after checks in a row) changes nothing.
        (ALL_UP, [incident("valkey", 5 * MIN)], "All 4 services operational"),
        (
            {**ALL_UP, "ra": "down"},
            [incident("roles_anywhere", 12 * MIN + timedelta(seconds=30))],
            "1 of 4 down: AWS IAM Roles Anywhere, 12 min",
        ),
        # A single failed check opens no incident: no age to tell.
        ({**ALL_UP, "pg": "down"}, [], "1 of 4 down: PostgreSQL"),
        (
            {**ALL_UP, "ra": "down", "sm": "down", "vk": "degraded"},
            [
                incident("roles_anywhere", 3 * 60 * MIN + 5 * MIN),
                incident("secrets_manager", 3 * 60 * MIN),
                incident("valkey", 40 * MIN, level="warning"),
            ],
            "2 of 4 down: AWS IAM Roles Anywhere, 3 h 5 min; AWS Secrets Manager, 3 h"
            " · 1 of 4 degraded: Valkey, 40 min",
        ),
        (
            {**ALL_UP, "sm": "not_configured"},
            [],
            "All 3 configured services operational · 1 of 4 not configured: AWS Secrets Manager",
        ),
        (
            {**ALL_UP, "pg": "stale", "sm": "not_configured"},
            [],
            "1 of 4 stale: PostgreSQL, last check 2 h ago · 1 of 4 not configured: AWS Secrets Manager",
        ),
        ({"pg": "nothing", **{k: "up" for k in ("vk", "ra", "sm")}}, [], "1 of 4 stale: PostgreSQL, never checked"),
        (
            {k: "stale" for k in SHORT.values()},
            [incident("postgres", 3 * 60 * MIN)],
            "All 4 services stale: the monitor is not reporting (last check 2 h ago)",
        ),
        (
            {k: "nothing" for k in SHORT.values()},
            [],
            "All 4 services stale: the monitor is not reporting (no check stored yet)",
        ),
    ],
    ids=[
        "all up",
        "up with an incident not yet resolved",
        "one down with its age",
        "one down without an incident",
        "several down and degraded",
        "one not configured",
        "stale and not configured",
        "never checked",
        "all stale",
        "nothing stored",
    ],
)
def test_headline(statuses: dict[str, str], opened: list[Incident], text: str) -> None:
    assert headline(views(statuses), oldest_open(opened), NOW) == text


@pytest.mark.parametrize(
    ("statuses", "look"),
    [
        (ALL_UP, "success"),
        ({**ALL_UP, "sm": "not_configured"}, "success"),
        ({**ALL_UP, "pg": "stale"}, "secondary"),
        ({**ALL_UP, "pg": "stale", "vk": "degraded"}, "warning"),
        ({**ALL_UP, "pg": "stale", "vk": "degraded", "ra": "down"}, "danger"),
    ],
)
def test_headline_look_is_the_worst_status(statuses: dict[str, str], look: str) -> None:
    assert headline_look(views(statuses)) == look


def test_oldest_open_per_service_ignores_ended_incidents() -> None:
    ended = incident("postgres", 9 * MIN, 8 * MIN)
    newer, older = incident("postgres", 2 * MIN), incident("postgres", 5 * MIN)
    assert oldest_open([ended, newer, older]) == {"postgres": older}


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=-3), "0 s"),
        (timedelta(seconds=45), "45 s"),
        (7 * MIN, "7 min"),
        (125 * MIN, "2 h 5 min"),
        (120 * MIN, "2 h"),
        (27 * 60 * MIN, "1 d 3 h"),
        (48 * 60 * MIN, "2 d"),
    ],
)
def test_duration(span: timedelta, text: str) -> None:
    assert duration(span) == text


def test_incidents_section_lists_open_first_with_root_cause_then_ended_newest_first() -> None:
    rows = [
        incident("valkey", 3 * 60 * MIN, 2 * 60 * MIN, level="warning", first_error="slow"),
        incident("secrets_manager", 12 * MIN, root_cause="AWS IAM Roles Anywhere", first_error="no credentials"),
        incident("roles_anywhere", 13 * MIN, first_error="refused"),
        incident("postgres", 3 * 24 * 60 * MIN, 3 * 24 * 60 * MIN - 7 * MIN),
    ]
    section = incidents_section(rows, NOW, 30)
    [opened] = [part for part in section if getattr(part, "className", "") == "list-group mb-3 open-incidents"]
    items = [text_of(item) for item in opened.children]
    assert items[0].startswith("down AWS IAM Roles Anywhere  (ams3) since  2026-03-01 11:47:00 UTC , 13 min")
    assert "first error: refused" in items[0]
    assert "caused by AWS IAM Roles Anywhere" in items[1] and "first error: no credentials" in items[1]
    [table] = [part for part in section if getattr(part, "id", None) == "recent-incidents"]
    body = table.children[2].children
    assert [text_of(row.children[1]) for row in body] == ["Valkey", "PostgreSQL"]
    assert [text_of(row.children[2]) for row in body] == ["degraded", "down"]
    assert [text_of(row.children[3]) for row in body] == ["1 h", "7 min"]
    assert [text_of(row.children[4]) for row in body] == ["slow", "—"]
    assert text_of(table.children[0]) == "2 incidents, newest first"


def test_incidents_section_says_when_there_are_none_and_caps_the_ended_list() -> None:
    one = incidents_section([incident("postgres", 2 * MIN, MIN)], NOW, 30)
    assert "1 incident, newest first" in text_of(one)
    text = text_of(incidents_section([], NOW, 30))
    assert "No open incidents." in text and "Ended in the last 30 days" in text and "None." in text
    many = [incident("postgres", (i + 2) * MIN, (i + 1) * MIN) for i in range(RECENT_SHOWN + 5)]
    [table] = [part for part in incidents_section(many, NOW, 7) if getattr(part, "id", None) == "recent-incidents"]
    assert len(table.children[2].children) == RECENT_SHOWN
    assert text_of(table.children[0]) == f"The newest {RECENT_SHOWN} of {RECENT_SHOWN + 5} incidents" + (
        " (all of them: /api/incidents?since=7d)"
    )


def test_alerting_note_only_while_unconfigured_and_names_the_setting() -> None:
    assert alerting_note(configured=True) is None
    note = text_of(alerting_note(configured=False))
    assert "Alerting is off" in note and "ALERT_URLS" in note


HOUR = 60 * MIN


@pytest.mark.parametrize(
    ("rows", "periods"),
    [
        ([], []),
        # Ended inside the range: as it was.
        ([incident("postgres", 50 * MIN, 40 * MIN)], [(NOW - 50 * MIN, NOW - 40 * MIN, "#dc3545", "down incident")]),
        # Open: up to the range's end; begun before the range: from its start.
        ([incident("postgres", 2 * HOUR, level="warning")], [(NOW - HOUR, NOW, "#e0a800", "degraded, open")]),
        # Ended before the range: not shown.
        ([incident("postgres", 3 * HOUR, 2 * HOUR)], []),
    ],
    ids=["none", "ended inside", "open, begun before", "ended before"],
)
def test_incident_periods_are_clipped_to_the_range(rows, periods) -> None:
    assert incident_periods(rows, NOW - HOUR, NOW) == periods


def test_latency_figure_shades_incidents_with_a_label_saying_the_level() -> None:
    rows = [incident("postgres", 50 * MIN, 40 * MIN), incident("postgres", 10 * MIN, level="warning")]
    figure = latency_figure([], NOW - HOUR, NOW, "x", incidents=rows)
    shapes = figure.layout.shapes
    assert [(s.x0, s.x1) for s in shapes] == [(NOW - 50 * MIN, NOW - 40 * MIN), (NOW - 10 * MIN, NOW)]
    assert [s.label.text for s in shapes] == ["down incident", "degraded, open"]
    assert [s.fillcolor for s in shapes] == ["#dc3545", "#e0a800"]
    assert all(s.layer == "below" for s in shapes)
    assert not latency_figure([], NOW - HOUR, NOW, "x").layout.shapes
