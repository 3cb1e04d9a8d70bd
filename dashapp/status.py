"""What the board says about each service: the computed status (incl. stale) and how times read. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobs.defaults import STALE_AFTER_INTERVALS
from jobs.result import SERVICE_NAMES, ProbeResult, Status

STALE = "stale"
NOTHING_STORED = "no check stored yet: is the worker running?"

# Badge colour (dbc/Bootstrap name) and the word shown with it: the word is always there, colour never alone.
LOOK: dict[str, tuple[str, str]] = {
    Status.UP.value: ("success", "up"),
    Status.DEGRADED.value: ("warning", "degraded"),
    Status.DOWN.value: ("danger", "down"),
    STALE: ("secondary", "stale"),
    Status.NOT_CONFIGURED.value: ("secondary", "not configured"),
}
# Hex colours for places Bootstrap classes cannot reach (SVG badge, chart markers).
HEX: dict[str, str] = {
    Status.UP.value: "#198754",
    Status.DEGRADED.value: "#e0a800",
    Status.DOWN.value: "#dc3545",
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
