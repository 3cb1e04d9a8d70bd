"""What the board says about each service: the computed status (incl. stale), the status across probing
locations (`down` from every one, `partial` from some), and how times read. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobs.defaults import STALE_AFTER_INTERVALS
from jobs.result import SERVICE_NAMES, ProbeResult, Status

STALE = "stale"
# Down from some locations and working from others: the service is up, one path to it is not.
PARTIAL = "partial"
NOTHING_STORED = "no check stored yet: is the worker running?"

# Badge colour (dbc/Bootstrap name) and the word shown with it: the word is always there, colour never alone.
LOOK: dict[str, tuple[str, str]] = {
    Status.UP.value: ("success", "up"),
    Status.DEGRADED.value: ("warning", "degraded"),
    Status.DOWN.value: ("danger", "down"),
    PARTIAL: ("warning", "partial"),
    STALE: ("secondary", "stale"),
    Status.NOT_CONFIGURED.value: ("secondary", "not configured"),
}
_NEVER = datetime.min.replace(tzinfo=UTC)
# Hex colours for places Bootstrap classes cannot reach (SVG badge, chart markers).
HEX: dict[str, str] = {
    Status.UP.value: "#198754",
    Status.DEGRADED.value: "#e0a800",
    Status.DOWN.value: "#dc3545",
    PARTIAL: "#fd7e14",
    STALE: "#6c757d",
    Status.NOT_CONFIGURED.value: "#6c757d",
}


@dataclass(frozen=True)
class ServiceView:
    """One row of the board: the latest stored result (if any) and what the board makes of it."""

    service: str
    status: str
    reason: str | None
    result: ProbeResult | None

    @property
    def name(self) -> str:
        return SERVICE_NAMES.get(self.service, self.service)

    @property
    def colour(self) -> str:
        return LOOK[self.status][0]

    @property
    def word(self) -> str:
        return LOOK[self.status][1]

    @property
    def is_up(self) -> bool:
        return self.status in (Status.UP.value, Status.DEGRADED.value)


def utc_text(moment: datetime) -> str:
    """Exact time for hovers and reasons: '2025-01-31 12:03:04 UTC'."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(moment: datetime, now: datetime) -> str:
    """'23 s ago', '4 min ago', '2 h ago', '3 d ago'; 'just now' for the future (clock skew)."""
    seconds = int((now - moment).total_seconds())
    if seconds < 1:
        return "just now"
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def view(
    service: str,
    latest: ProbeResult | None,
    now: datetime,
    probe_interval_s: float,
    problem: str | None = None,
    nothing_stored: str = NOTHING_STORED,
) -> ServiceView:
    """The board's status for one service.

    `problem` is the web's own reason the service is unconfigured (settings.problems), used only when
    nothing has been stored yet: the worker may hold settings the web does not (app.yaml gives the AWS ones to
    the worker only), so a stored result always wins. `nothing_stored` says why there is no result.
    A stored result older than STALE_AFTER_INTERVALS probe intervals is `stale`, whatever it said.
    """
    if latest is None:
        if problem:
            return ServiceView(service, Status.NOT_CONFIGURED.value, problem, None)
        return ServiceView(service, STALE, nothing_stored, None)
    if now - latest.checked_at > timedelta(seconds=STALE_AFTER_INTERVALS * probe_interval_s):
        reason = f"worker not reporting since {utc_text(latest.checked_at)} ({ago(latest.checked_at, now)})"
        return ServiceView(service, STALE, reason, latest)
    return ServiceView(service, latest.status.value, latest.error, latest)


def board(
    latest: dict[str, ProbeResult],
    now: datetime,
    probe_interval_s: float,
    problems: dict[str, str],
    nothing_stored: str = NOTHING_STORED,
) -> list[ServiceView]:
    """All four services, always, in display order."""
    return [view(s, latest.get(s), now, probe_interval_s, problems.get(s), nothing_stored) for s in SERVICE_NAMES]


def _where(views: Sequence[tuple[str, ServiceView]]) -> str:
    """'fra1: reason; nyc3: reason', each location's own reason (root causes stay per location)."""
    return "; ".join(f"{location}: {view.reason or view.word}" for location, view in views)


def across(service: str, by_location: Mapping[str, ServiceView]) -> ServiceView:
    """One service's status over every location (each location's view from `view`, in display order).

    One location: its view, unchanged. Down from every location that reports (a stale or unconfigured location
    says nothing) is `down`; down from some is `partial`, whose reason names where ("unreachable from fra1:
    …"); otherwise the worst of the working ones (`degraded`, else `up`, whose reason names any location not
    reporting); no location reporting is `stale` (or `not_configured` when every location says so). The result
    shown is a failing location's, else the newest."""
    if len(by_location) == 1:
        return next(iter(by_location.values()))
    views = list(by_location.items())
    reporting = [(where, v) for where, v in views if v.status not in (STALE, Status.NOT_CONFIGURED.value)]
    down = [(where, v) for where, v in reporting if v.status == Status.DOWN.value]
    if down:
        status = Status.DOWN.value if len(down) == len(reporting) else PARTIAL
        prefix = "down from every location: " if status == Status.DOWN.value else "unreachable from "
        return ServiceView(service, status, prefix + _where(down), down[0][1].result)
    if not reporting:
        unconfigured = all(v.status == Status.NOT_CONFIGURED.value for _, v in views)
        first = views[0][1]
        status = Status.NOT_CONFIGURED.value if unconfigured else STALE
        return ServiceView(service, status, _where(views), first.result)
    degraded = [(where, v) for where, v in reporting if v.status == Status.DEGRADED.value]
    if degraded:
        return ServiceView(service, Status.DEGRADED.value, _where(degraded), degraded[0][1].result)
    newest = max((v for _, v in reporting), key=lambda v: v.result.checked_at if v.result else _NEVER)
    silent = [(where, v) for where, v in views if v.status == STALE]
    return ServiceView(
        service, Status.UP.value, "not reporting from " + _where(silent) if silent else None, newest.result
    )


def location_boards(
    latest: Mapping[tuple[str, str], ProbeResult],
    locations: Sequence[str],
    now: datetime,
    probe_interval_s: float,
    problems: dict[str, str],
) -> dict[str, list[ServiceView]]:
    """Every location's board (`board` of its own newest results, keyed (service, location)), in `locations`'
    order: a location whose worker is gone is stale there alone."""
    return {
        where: board({s: r for (s, at), r in latest.items() if at == where}, now, probe_interval_s, problems)
        for where in locations
    }


def combined_board(boards: Mapping[str, list[ServiceView]]) -> list[ServiceView]:
    """Each service `across` the locations' boards, in display order."""
    return [across(s, {where: views[i] for where, views in boards.items()}) for i, s in enumerate(SERVICE_NAMES)]
