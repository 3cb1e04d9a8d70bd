"""What the public status page may say: each service's name, status and uptime over 24 h / 30 d / 90 d, and
the open incidents' public summary (service, since when, how bad). Nothing that names an internal system is
ever taken from the store's rows: no endpoint, host, port, error text, phase, detail or location.

`read_public_status` reads it through the Reader; the rest is pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dashapp.reader import Reader, Unavailable
from dashapp.snapshot import POSTGRES, read_board
from dashapp.status import PARTIAL, STALE
from jobs.alerting.rule import Level
from jobs.defaults import MAX_INCIDENTS
from jobs.result import SERVICE_NAMES, Status
from jobs.settings import Settings
from jobs.store import DAY, Incident

# The uptime windows shown, by their label; the first is the board's own 24 h uptime.
WINDOWS: dict[str, timedelta] = {"24 h": DAY, "30 d": 30 * DAY, "90 d": 90 * DAY}

# How a status reads on the public page, in the table and in the overall line (never by colour alone).
WORDS: dict[str, str] = {
    Status.UP.value: "Operational",
    Status.DEGRADED.value: "Degraded",
    Status.DOWN.value: "Down",
    PARTIAL: "Partial outage",
    STALE: "Unknown",
    Status.NOT_CONFIGURED.value: "Not monitored",
}
# The statuses the overall line names, worst first, and how it says them.
_OVERALL = {
    Status.DOWN.value: "down",
    PARTIAL: "partially down",
    Status.DEGRADED.value: "degraded",
    STALE: "status unknown",
    Status.NOT_CONFIGURED.value: "not monitored",
}
# An incident's level as the status it stands for: critical ones are about a service down.
_LEVEL_STATUS = {
    Level.CRITICAL.value: Status.DOWN.value,
    Level.PARTIAL.value: PARTIAL,
    Level.WARNING.value: Status.DEGRADED.value,
}


@dataclass(frozen=True)
class PublicService:
    name: str
    status: str
    uptimes: dict[str, float | None]  # by window label; None where no check counts

    @property
    def word(self) -> str:
        return WORDS[self.status]


@dataclass(frozen=True)
class PublicIncident:
    name: str
    since: datetime
    status: str  # down or degraded

    @property
    def word(self) -> str:
        return WORDS[self.status]


@dataclass(frozen=True)
class PublicStatus:
    services: list[PublicService]
    incidents: list[PublicIncident] | None  # None when they could not be read

    @property
    def overall(self) -> str:
        return overall(self.services)


def overall(services: list[PublicService]) -> str:
    """'All services operational', or how many are in each other state and which: '1 of 4 down: Valkey'."""
    parts = []
    for status, said in _OVERALL.items():
        names = [s.name for s in services if s.status == status]
        if names:
            parts.append(f"{len(names)} of {len(services)} {said}: {', '.join(names)}")
    return "; ".join(parts) if parts else "All services operational"


def public_incidents(incidents: list[Incident]) -> list[PublicIncident]:
    """The open incidents, one per service (the public page names no location): since the earliest, at the
    worst level; in display order."""
    rank = list(_LEVEL_STATUS.values())  # worst first
    merged: dict[str, PublicIncident] = {}
    for incident in incidents:
        if incident.ended_at is not None:
            continue
        status = _LEVEL_STATUS.get(incident.level, Status.DEGRADED.value)
        name = SERVICE_NAMES.get(incident.service, incident.service)
        known = merged.get(incident.service)
        if known is not None:
            status = min(status, known.status, key=rank.index)
            since = min(incident.started_at, known.since)
        else:
            since = incident.started_at
        merged[incident.service] = PublicIncident(name, since, status)
    return [merged[s] for s in SERVICE_NAMES if s in merged]


def read_public_status(reader: Reader, settings: Settings, now: datetime) -> PublicStatus:
    """Statuses and 24 h uptimes as the board reads them (the Valkey cache standing in for PostgreSQL); the
    longer uptimes (from the daily rollups) and the incidents from PostgreSQL, left out when it does not
    answer. Raises Unavailable when no status can be read at all."""
    snap = read_board(reader, settings, now)
    longer: dict[str, dict[str, float | None]] = {}
    incidents: list[PublicIncident] | None = None
    if snap.source == POSTGRES and settings.postgres is not None:
        services = list(SERVICE_NAMES)
        try:
            for label, span in list(WINDOWS.items())[1:]:
                longer[label] = reader.uptimes(services, now - span, now)
            # Incidents open at or after now: those still open.
            incidents = public_incidents(reader.incident_history(None, now, MAX_INCIDENTS))
        except Unavailable:
            longer, incidents = {}, None
    by_window = {next(iter(WINDOWS)): snap.uptime_24h, **longer}
    return PublicStatus(
        services=[
            PublicService(
                name=view.name,
                status=view.status,
                uptimes={label: by_window.get(label, {}).get(view.service) for label in WINDOWS},
            )
            for view in snap.views
        ],
        incidents=incidents,
    )
