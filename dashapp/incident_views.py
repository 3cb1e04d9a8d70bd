"""The board's alerting parts, pure: the one-line summary at the top, the open and recent incidents, and the
note shown while alerting is unconfigured. Rows in, text and components out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from dashapp.formats import NO_VALUE
from dashapp.status import PARTIAL, STALE, ServiceView, ago, utc_text
from jobs.durations import duration
from jobs.result import SERVICE_NAMES, Status
from jobs.store import Incident

# An incident's level as the board words it (and colours it, never alone).
LEVEL_WORD = {"critical": "down", "warning": "degraded", "partial": "partial"}
LEVEL_COLOUR = {"critical": "danger", "warning": "warning", "partial": "warning"}
# The days of ended incidents the board lists.
INCIDENT_DAYS = 30
# Ended incidents the board lists at most (newest first); /api/incidents has them all.
RECENT_SHOWN = 50
UNKNOWN = "Status unknown: the results store cannot be read right now"
# The order the summary names what is wrong, worst first.
_NOT_FINE = (Status.DOWN.value, PARTIAL, Status.DEGRADED.value, STALE, Status.NOT_CONFIGURED.value)


def oldest_open(incidents: Iterable[Incident]) -> dict[str, Incident]:
    """Each service's longest-open incident (of any location); services without an open one are absent."""
    found: dict[str, Incident] = {}
    for incident in incidents:
        if incident.ended_at is None:
            held = found.get(incident.service)
            if held is None or incident.started_at < held.started_at:
                found[incident.service] = incident
    return found


def _entry(view: ServiceView, incident: Incident | None, now: datetime) -> str:
    """A service in the summary: its name, and how long it has been so when that is known."""
    if view.status == STALE:
        checked = view.result.checked_at if view.result else None
        return f"{view.name}, {'last check ' + ago(checked, now) if checked else 'never checked'}"
    if incident is not None and view.status in (Status.DOWN.value, PARTIAL, Status.DEGRADED.value):
        return f"{view.name}, {duration(now - incident.started_at)}"
    return view.name


def headline(views: Sequence[ServiceView], open_incidents: dict[str, Incident], now: datetime) -> str:
    """The board's one-line summary: 'All 4 services operational', or what is not, worst first ('1 of 4 down:
    AWS IAM Roles Anywhere, 12 min · 1 of 4 degraded: Valkey'), each with how long where known (down and
    degraded: since its open incident began; stale: since its last check)."""
    total = len(views)
    by_status = {status: [v for v in views if v.status == status] for status in _NOT_FINE}
    if not any(by_status.values()):
        return f"All {total} services operational"
    if len(by_status[STALE]) == total:
        checked = [v.result.checked_at for v in views if v.result is not None]
        last = f"last check {ago(max(checked), now)}" if checked else "no check stored yet"
        return f"All {total} services stale: the monitor is not reporting ({last})"
    parts = []
    if not any(by_status[s] for s in _NOT_FINE[:-1]):
        configured = total - len(by_status[Status.NOT_CONFIGURED.value])
        parts.append(f"All {configured} configured services operational")
    for shown in by_status.values():
        if shown:
            word = shown[0].word
            entries = "; ".join(_entry(v, open_incidents.get(v.service), now) for v in shown)
            parts.append(f"{len(shown)} of {total} {word}: {entries}")
    return " · ".join(parts)


def headline_look(views: Sequence[ServiceView]) -> str:
    """The summary's frame colour (Bootstrap name) of the worst status shown; the words say it too."""
    statuses = {v.status for v in views}
    worst = (
        (Status.DOWN.value, "danger"),
        (PARTIAL, "warning"),
        (Status.DEGRADED.value, "warning"),
        (STALE, "secondary"),
    )
    return next((colour for status, colour in worst if status in statuses), "success")


def level_badge(incident: Incident) -> dbc.Badge:
    return dbc.Badge(
        LEVEL_WORD.get(incident.level, incident.level),
        color=LEVEL_COLOUR.get(incident.level, "secondary"),
        text_color="dark" if incident.level == "warning" else None,
        className="me-2",
    )


def _since(moment: datetime, now: datetime) -> html.Span:
    return html.Span(utc_text(moment), title=ago(moment, now), className="when")


def open_item(incident: Incident, now: datetime) -> html.Li:
    """One open incident: service (and location), level, since when and for how long, first error, root cause."""
    name = SERVICE_NAMES.get(incident.service, incident.service)
    parts: list[Any] = [
        level_badge(incident),
        html.Strong(name),
        f" ({incident.location}) since ",
        _since(incident.started_at, now),
        f", {duration(now - incident.started_at)}",
    ]
    if incident.root_cause:
        parts.append(html.Div(f"caused by {incident.root_cause}", className="root-cause"))
    if incident.first_error:
        parts.append(html.Div(f"first error: {incident.first_error}", className="small error-text"))
    return html.Li(parts, className=f"list-group-item open-incident level-{incident.level}")


def recent_row(incident: Incident, now: datetime) -> html.Tr:
    span = incident.duration
    return html.Tr(
        [
            html.Td(_since(incident.started_at, now)),
            html.Th(SERVICE_NAMES.get(incident.service, incident.service), scope="row"),
            html.Td(LEVEL_WORD.get(incident.level, incident.level)),
            html.Td(duration(span) if span is not None else NO_VALUE),
            html.Td(incident.first_error or NO_VALUE, className="error-text"),
            html.Td(incident.root_cause or NO_VALUE),
        ],
        className="recent-incident",
    )


RECENT_COLUMNS = ("Started", "Service", "Level", "Duration", "First error", "Root cause")


def incidents_section(incidents: Sequence[Incident], now: datetime, days: int) -> list[Any]:
    """Open incidents first (oldest first), then the ended ones of the last `days` days (newest first)."""
    opened = sorted((i for i in incidents if i.ended_at is None), key=lambda i: i.started_at)
    ended = [i for i in incidents if i.ended_at is not None]
    parts: list[Any] = [html.H3("Open", className="h6")]
    if opened:
        parts.append(html.Ul([open_item(i, now) for i in opened], className="list-group mb-3 open-incidents"))
    else:
        parts.append(html.P("No open incidents.", className="no-open"))
    parts.append(html.H3(f"Ended in the last {days} days", className="h6"))
    if not ended:
        parts.append(html.P("None.", className="text-muted"))
        return parts
    shown = ended[:RECENT_SHOWN]
    caption = f"{len(shown)} incident{'s' if len(shown) != 1 else ''}, newest first"
    if len(ended) > len(shown):
        caption = f"The newest {len(shown)} of {len(ended)} incidents (all of them: /api/incidents?since={days}d)"
    table = dbc.Table(
        [
            html.Caption(caption, className="small"),
            html.Thead(html.Tr([html.Th(c, scope="col") for c in RECENT_COLUMNS])),
            html.Tbody([recent_row(i, now) for i in shown]),
        ],
        id="recent-incidents",
        size="sm",
        responsive=True,
        className="align-middle",
    )
    parts.append(table)
    return parts


def unavailable_section(problem: str) -> list[Any]:
    return [html.P(f"Incidents temporarily unavailable: {problem}", className="text-danger")]


def alerting_note(configured: bool) -> dbc.Alert | None:
    """While no channel is set, one line saying so and which setting to set."""
    if configured:
        return None
    return dbc.Alert(
        [
            html.Strong("Alerting is off: "),
            "no notifications are sent. Set ",
            html.Code("ALERT_URLS"),
            " (one or more Apprise URLs) to be told when a service fails.",
        ],
        id="alerting-off",
        color="secondary",
        className="py-2 small",
    )
