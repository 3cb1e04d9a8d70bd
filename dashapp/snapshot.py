"""The board at one moment: every service's status judged now, from its newest result and 24 h uptime as the
store held them at most a second ago (Reader.board), or, while PostgreSQL does not answer, from the worker's
latest results cached in Valkey (without uptime).

With several probing locations (PROBE_LOCATIONS), each location's board too, and each service's status
across them (`status.combined_board`: `down`, `partial`, ...); or one location's board alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashapp.reader import Reader, Unavailable
from dashapp.status import ServiceView, board, combined_board, location_boards
from jobs.result import SERVICE_NAMES, ProbeResult, utcnow
from jobs.settings import Settings

# Where a snapshot's statuses came from.
POSTGRES = "postgres"
CACHE = "valkey-cache"
NONE = "none"


@dataclass(frozen=True)
class Snapshot:
    generated_at: datetime
    views: list[ServiceView]
    uptime_24h: dict[str, float | None]
    source: str = POSTGRES
    # What the reader of this snapshot should know is missing, one line each.
    warnings: list[str] = field(default_factory=list)
    # With several locations: each one's board and its services' 24 h uptimes, in PROBE_LOCATIONS' order.
    by_location: dict[str, list[ServiceView]] = field(default_factory=dict)
    uptime_by_location: dict[tuple[str, str], float | None] = field(default_factory=dict)

    @property
    def locations(self) -> list[str]:
        return sorted({v.result.location for v in self.views if v.result is not None})


def _ratio(up: int, checks: int) -> float | None:
    return up / checks if checks else None


def _places(settings: Settings, location: str | None) -> list[str]:
    return [location] if location else list(settings.locations)


def _located(
    latest: dict[tuple[str, str], ProbeResult], settings: Settings, now: datetime, location: str | None
) -> tuple[list[ServiceView], dict[str, list[ServiceView]]]:
    """The services across the locations (or `location`'s alone), and each location's board."""
    places = _places(settings, location)
    boards = location_boards(latest, places, now, settings.probe_interval_s, settings.problems)
    return (boards[location] if location else combined_board(boards)), boards


def _read_locations(reader: Reader, settings: Settings, now: datetime, location: str | None) -> Snapshot:
    """The snapshot of several locations from PostgreSQL: each location's board, and the services across
    them (or `location`'s alone). Raises reader.Unavailable."""
    places = _places(settings, location)
    latest, checks = reader.board_by_location()
    views, boards = _located(latest, settings, now, location)
    per_place = {key: _ratio(*counts) for key, counts in checks.items()}
    overall = {
        s: _ratio(sum(checks[s, p][0] for p in places), sum(checks[s, p][1] for p in places)) for s in SERVICE_NAMES
    }
    return Snapshot(now, views, overall, by_location=boards, uptime_by_location=per_place)


def read_board(
    reader: Reader, settings: Settings, now: datetime | None = None, location: str | None = None
) -> Snapshot:
    """Raises reader.Unavailable when neither PostgreSQL nor the Valkey cache answers. `location` (one of
    PROBE_LOCATIONS): that location's board alone; with one location, the board as it always was.

    When the web's own PostgreSQL settings are wrong there is no store to read: every row then says why
    (a configuration fault, not an outage, so no exception), and the web keeps serving."""
    now = now or utcnow()
    if settings.postgres is None:
        problems = {"postgres": "DATABASE_URL: not set", **settings.problems}
        nothing = f"no stored results to show: the results store is not configured ({problems['postgres']})"
        return Snapshot(now, board({}, now, settings.probe_interval_s, problems, nothing), {})
    try:
        if len(settings.locations) > 1:
            return _read_locations(reader, settings, now, location)
        latest, uptimes = reader.board()
        return Snapshot(now, board(latest, now, settings.probe_interval_s, settings.problems), uptimes)
    except Unavailable as exc:
        store_down = exc
    warnings = [
        f"history temporarily unavailable: {store_down}",
        "statuses are the worker's latest results cached in Valkey",
    ]
    try:
        if len(settings.locations) > 1:
            views, boards = _located(reader.cached_latest_by_location(), settings, now, location)
            return Snapshot(now, views, {}, source=CACHE, warnings=warnings, by_location=boards)
        latest = reader.cached_latest()
    except Unavailable as exc:
        raise Unavailable(f"{store_down}; {exc}") from None
    views = board(latest, now, settings.probe_interval_s, settings.problems)
    return Snapshot(now, views, {}, source=CACHE, warnings=warnings)


def locations_json(snap: Snapshot, service: str) -> dict[str, dict[str, Any]]:
    """One service at each location of the snapshot, as the API shows it."""
    index = list(SERVICE_NAMES).index(service)
    found = {}
    for where, views in snap.by_location.items():
        view, result = views[index], views[index].result
        found[where] = {
            "status": view.status,
            "reason": view.reason,
            "latency_ms": result.latency_ms if result else None,
            "checked_at": result.checked_at.isoformat() if result else None,
            "error": result.error if result else view.reason,
            "uptime_24h": snap.uptime_by_location.get((service, where)),
        }
    return found


def service_json(view: ServiceView, uptime_24h: float | None) -> dict[str, Any]:
    """One service as the API shows it: the probe contract's fields with the board's computed status."""
    result = view.result
    return {
        "service": view.service,
        "name": view.name,
        "status": view.status,
        "reason": view.reason,
        "endpoint": result.endpoint if result else None,
        "location": result.location if result else None,
        "latency_ms": result.latency_ms if result else None,
        "phases": result.phases if result else {},
        "checked_at": result.checked_at.isoformat() if result else None,
        "error": result.error if result else view.reason,
        "detail": result.detail if result else {},
        "uptime_24h": uptime_24h,
    }
