"""The board at one moment: every service's status judged now, from its newest result and 24 h uptime as the
store held them at most a second ago (Reader.board), or, while PostgreSQL does not answer, from the worker's
latest results cached in Valkey (without uptime).

With several probing locations (PROBE_LOCATIONS), each location's board too, and each service's status
across them (`status.combined_board`: `down`, `partial`, ...); or one location's board alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from dashapp.reader import Reader, Unavailable
from dashapp.status import ServiceView, board, combined_board, location_boards
from jobs.defaults import STALE_AFTER_INTERVALS
from jobs.result import SERVICE_NAMES, ProbeResult, utcnow
from jobs.settings import Settings

# Reader.board_by_location's read: each (service, location)'s newest result, and its (up, all) checks over 24 h.
LocationsRead = tuple[dict[tuple[str, str], ProbeResult], dict[tuple[str, str], tuple[int, int]]]
_NEVER = datetime.max.replace(tzinfo=UTC)

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


def _of_board(
    read: tuple[dict[str, ProbeResult], dict[str, float | None]], settings: Settings, now: datetime
) -> Snapshot:
    """The snapshot of one location from PostgreSQL's read (Reader.board)."""
    latest, uptimes = read
    return Snapshot(now, board(latest, now, settings.probe_interval_s, settings.problems), uptimes)


def _of_locations(read: LocationsRead, settings: Settings, now: datetime, location: str | None) -> Snapshot:
    """The snapshot of several locations from PostgreSQL's read: each location's board, and the services
    across them (or `location`'s alone)."""
    places = _places(settings, location)
    latest, checks = read
    views, boards = _located(latest, settings, now, location)
    per_place = {key: _ratio(*counts) for key, counts in checks.items()}
    overall = {
        s: _ratio(sum(checks[s, p][0] for p in places), sum(checks[s, p][1] for p in places)) for s in SERVICE_NAMES
    }
    return Snapshot(now, views, overall, by_location=boards, uptime_by_location=per_place)


@dataclass(frozen=True)
class _Judged:
    read: object  # the shared store read judged (held, so that its identity stays its own)
    at: datetime
    until: datetime  # when a status judged from it would first change: a result going stale
    snap: Snapshot


# Per Reader and location asked, the last snapshot judged: requests between two store reads (Reader.board)
# share it until one of its results would go stale, so a burst judges and renders once.
_judged: WeakKeyDictionary[Reader, dict[str | None, _Judged]] = WeakKeyDictionary()


def _stale_from(results: Iterable[ProbeResult], now: datetime, probe_interval_s: float) -> datetime:
    """The first moment after `now` at which one of `results` goes stale (`status.view`)."""
    after = timedelta(seconds=STALE_AFTER_INTERVALS * probe_interval_s)
    return min((r.checked_at + after for r in results if r.checked_at + after >= now), default=_NEVER)


def _judge(
    reader: Reader,
    location: str | None,
    read: tuple[dict[Any, ProbeResult], dict[Any, Any]],
    now: datetime,
    settings: Settings,
    make: Callable[[], Snapshot],
) -> Snapshot:
    """`make()`, or the snapshot made from the same `read` (newest results, then counts or uptimes) earlier
    when no status of it has changed since."""
    kept = _judged.setdefault(reader, {}).get(location)
    if kept is not None and kept.read is read and kept.at <= now < kept.until:
        return kept.snap
    snap = make()
    _judged[reader][location] = _Judged(read, now, _stale_from(read[0].values(), now, settings.probe_interval_s), snap)
    return snap


def read_board(
    reader: Reader, settings: Settings, now: datetime | None = None, location: str | None = None
) -> Snapshot:
    """Raises reader.Unavailable when neither PostgreSQL nor the Valkey cache answers. `location` (one of
    PROBE_LOCATIONS): that location's board alone, from its own results; without it and with one location,
    the board as it always was (the newest result of each service).

    When the web's own PostgreSQL settings are wrong there is no store to read: every row then says why
    (a configuration fault, not an outage, so no exception), and the web keeps serving."""
    now = now or utcnow()
    if settings.postgres is None:
        problems = {"postgres": "DATABASE_URL: not set", **settings.problems}
        nothing = f"no stored results to show: the results store is not configured ({problems['postgres']})"
        return Snapshot(now, board({}, now, settings.probe_interval_s, problems, nothing), {})
    by_place = len(settings.locations) > 1 or location is not None
    try:
        if by_place:
            located = reader.board_by_location()
            make = partial(_of_locations, located, settings, now, location)
            return _judge(reader, location, located, now, settings, make)
        read = reader.board()
        return _judge(reader, None, read, now, settings, partial(_of_board, read, settings, now))
    except Unavailable as exc:
        store_down = exc
    warnings = [
        f"history temporarily unavailable: {store_down}",
        "statuses are the worker's latest results cached in Valkey",
    ]
    try:
        if by_place:
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
