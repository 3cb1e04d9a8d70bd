"""The text of notifications, pure: a firing tells of the incidents one cycle opened (service, location,
since when, first error, root cause), a resolved of those it resolved (with each outage's duration), a
certificate warning of a certificate's coming expiry."""

from __future__ import annotations

from datetime import timedelta

import apprise

from jobs.result import SERVICE_NAMES
from jobs.store.certificates import CertificateWarning
from jobs.store.incidents import Incident

_STATE = {"critical": "down", "warning": "degraded"}


def duration(span: timedelta) -> str:
    """A duration a person reads at a glance: 45 s, 7 min, 2 h 5 min, 1 d 3 h."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


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


def certificate(warning: CertificateWarning) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a certificate's coming expiry."""
    service = SERVICE_NAMES.get(warning.service, warning.service)
    days = "1 day" if warning.days_left == 1 else f"{warning.days_left} days"
    title = f"CERTIFICATE: the {service} client certificate expires in {days}"
    body = (
        f"The {service} client certificate (CN={warning.subject}, SHA-256 {warning.fingerprint}) expires on"
        f" {warning.not_after.strftime('%Y-%m-%d %H:%M:%S UTC')}: renew it before then."
        f" (Told once per certificate at each of CERT_WARN_AT_DAYS; this is the {warning.threshold_days}-day"
        " warning.)"
    )
    return title, body, apprise.NotifyType.WARNING


def not_reporting(incident: Incident) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of the monitor's own incident opening: no cycle is being stored."""
    title = f"FIRING: the monitor is not reporting ({incident.location})"
    body = (
        f"{incident.first_error}. The worker, the scheduler or Valkey is down: no service is being checked"
        " and no other alert can fire until cycles are stored again."
    )
    return title, body, apprise.NotifyType.FAILURE


def reporting_again(incident: Incident) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of the monitor's own incident resolving: cycles are stored again."""
    span = duration(incident.duration or timedelta())
    title = f"RESOLVED: the monitor is reporting again ({incident.location}) after {span}"
    body = f"Probe cycles are stored again; none was stored from {_since(incident)} for {span}."
    return title, body, apprise.NotifyType.SUCCESS
