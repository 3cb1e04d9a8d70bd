"""The text of notifications, pure: a firing tells of the incidents one cycle opened (service, location,
since when, first error, root cause), a reminder of those still open, a resolved of those it resolved (with
each outage's duration), each ending with the incidents' dedup keys, stable for an incident's every message;
a certificate warning of a certificate's coming expiry; the monitor's own "not reporting" and "reporting
again"; a test only that the channel works."""

from __future__ import annotations

from datetime import datetime, timedelta

import apprise

from jobs.durations import duration
from jobs.result import SERVICE_NAMES
from jobs.store.certificates import CertificateWarning
from jobs.store.incidents import Incident

_STATE = {"critical": "down", "warning": "degraded", "partial": "down from some locations"}
DEDUP_PREFIX = "hybrid-monitor"


def dedup_key(incident: Incident) -> str:
    """The key every message about `incident` carries, so a channel that keeps incidents of its own
    (PagerDuty) updates and resolves one of them."""
    return f"{DEDUP_PREFIX}:{incident.location}:{incident.service}:{incident.id}"


def _with_keys(lines: list[str], incidents: list[Incident]) -> str:
    keys = ", ".join(dedup_key(i) for i in incidents)
    return "\n".join([*lines, f"incident key{'s' if len(incidents) > 1 else ''}: {keys}"])


def _name(incident: Incident) -> str:
    return f"{SERVICE_NAMES.get(incident.service, incident.service)} ({incident.location})"


def _since(incident: Incident) -> str:
    return incident.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _details(incident: Incident) -> str:
    """Root cause, the window it was held for and first error, each after a semicolon, or nothing."""
    text = f"; caused by {incident.root_cause}" if incident.root_cause else ""
    text += "; held during maintenance" if incident.in_maintenance else ""
    return text + (f"; first error: {incident.first_error}" if incident.first_error else "")


def _failing_type(incidents: list[Incident]) -> str:
    critical = any(i.level == "critical" for i in incidents)
    return apprise.NotifyType.FAILURE if critical else apprise.NotifyType.WARNING


def _title(kind: str, incidents: list[Incident], one: str, several: str = "incidents") -> str:
    """'KIND: <one>' about a single incident; about several, their count and names."""
    if len(incidents) == 1:
        return f"{kind}: {one}"
    return f"{kind}: {len(incidents)} {several} ({', '.join(_name(i) for i in incidents)})"


def firing(incidents: list[Incident], at: datetime) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a firing about `incidents`, queued at `at`."""
    lines = [f"{_name(i)} {_STATE[i.level]} since {_since(i)}{_details(i)}" for i in incidents]
    title = _title("FIRING", incidents, f"{_name(incidents[0])} {_STATE[incidents[0].level]}")
    return title, _with_keys(lines, incidents), _failing_type(incidents)


def reminder(incidents: list[Incident], at: datetime) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a reminder about `incidents`, still open at `at`."""
    lines = [
        f"{_name(i)} still {_STATE[i.level]} after {duration(at - i.started_at)} (since {_since(i)}){_details(i)}"
        for i in incidents
    ]
    one = f"{_name(incidents[0])} still {_STATE[incidents[0].level]}"
    title = _title("REMINDER", incidents, one, several="incidents still open")
    return title, _with_keys(lines, incidents), _failing_type(incidents)


def resolved(incidents: list[Incident], at: datetime) -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a resolved about `incidents` (all ended), queued at `at`."""
    lines = [
        f"{_name(i)} resolved after {duration(i.duration or timedelta())} ({_STATE[i.level]} since {_since(i)},"
        f" {i.checks_failed} failed checks)"
        for i in incidents
    ]
    one = f"{_name(incidents[0])} after {duration(incidents[0].duration or timedelta())}"
    title = _title("RESOLVED", incidents, one)
    return title, _with_keys(lines, incidents), apprise.NotifyType.SUCCESS


COMPOSE = {"firing": firing, "reminder": reminder, "resolved": resolved}  # by a delivery's kind


def certificate_key(warning: CertificateWarning) -> str:
    """The dedup key of a certificate's warning: one per certificate and threshold."""
    return f"{DEDUP_PREFIX}:certificate:{warning.fingerprint}:{warning.threshold_days}"


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


def test() -> tuple[str, str, str]:
    """(title, body, Apprise notify type) of a test an operator asked for (about no incident)."""
    body = "An operator asked for this test: notifications from the monitor reach this channel."
    return "TEST: Hybrid Integration Monitor notifications", body, apprise.NotifyType.INFO
