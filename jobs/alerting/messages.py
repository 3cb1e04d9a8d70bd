"""The text of notifications, pure: a firing tells of the incidents one cycle opened (service, location,
since when, first error, root cause), a resolved of those it resolved (with each outage's duration), a test
only that the channel works."""

from __future__ import annotations

from datetime import timedelta

import apprise

from jobs.durations import duration
from jobs.result import SERVICE_NAMES
from jobs.store.incidents import Incident

_STATE = {"critical": "down", "warning": "degraded"}


def _name(incident: Incident) -> str:
    return f"{SERVICE_NAMES.get(incident.service, incident.service)} ({incident.location})"


def _since(incident: Incident) -> str:
    return incident.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def firing(incidents: list[Incident]) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a firing about `incidents`."""
    lines = []
    for i in incidents:
        line = f"{_name(i)} {_STATE[i.level]} since {_since(i)}"
        if i.root_cause:
            line += f"; caused by {i.root_cause}"
        line += f"; first error: {i.first_error}" if i.first_error else ""
        lines.append(line)
    critical = any(i.level == "critical" for i in incidents)
    title = f"FIRING: {_name(incidents[0])} {_STATE[incidents[0].level]}"
    if len(incidents) > 1:
        title = f"FIRING: {len(incidents)} incidents ({', '.join(_name(i) for i in incidents)})"
    return title, "\n".join(lines), apprise.NotifyType.FAILURE if critical else apprise.NotifyType.WARNING


def resolved(incidents: list[Incident]) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a resolved about `incidents` (all ended)."""
    lines = [
        f"{_name(i)} resolved after {duration(i.duration or timedelta())} ({_STATE[i.level]} since {_since(i)},"
        f" {i.checks_failed} failed checks)"
        for i in incidents
    ]
    title = f"RESOLVED: {_name(incidents[0])} after {duration(incidents[0].duration or timedelta())}"
    if len(incidents) > 1:
        title = f"RESOLVED: {len(incidents)} incidents ({', '.join(_name(i) for i in incidents)})"
    return title, "\n".join(lines), apprise.NotifyType.SUCCESS


def test(_incidents: list[Incident]) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a test an operator asked for (about no incident)."""
    body = "An operator asked for this test: notifications from the monitor reach this channel."
    return "TEST: Hybrid Integration Monitor notifications", body, apprise.NotifyType.INFO
