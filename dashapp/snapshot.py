"""The board at one moment: every service's status judged now, from its newest result and 24 h uptime as the
store held them at most a second ago (Reader.board), or, while PostgreSQL does not answer, from the worker's
latest results cached in Valkey (without uptime)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dashapp.reader import Reader, Unavailable
from dashapp.status import ServiceView, board
from jobs.result import utcnow
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

    @property
    def locations(self) -> list[str]:
        return sorted({v.result.location for v in self.views if v.result is not None})


def read_board(reader: Reader, settings: Settings, now: datetime | None = None) -> Snapshot:
    """Raises reader.Unavailable when neither PostgreSQL nor the Valkey cache answers.

    When the web's own PostgreSQL settings are wrong there is no store to read: every row then says why
    (a configuration fault, not an outage, so no exception), and the web keeps serving."""
    now = now or utcnow()
    if settings.postgres is None:
        problems = {"postgres": "DATABASE_URL: not set", **settings.problems}
        nothing = f"no stored results to show: the results store is not configured ({problems['postgres']})"
        return Snapshot(now, board({}, now, settings.probe_interval_s, problems, nothing), {})
    try:
        latest, uptimes = reader.board()
        return Snapshot(now, board(latest, now, settings.probe_interval_s, settings.problems), uptimes)
    except Unavailable as exc:
        store_down = exc
    try:
        latest = reader.cached_latest()
    except Unavailable as exc:
        raise Unavailable(f"{store_down}; {exc}") from None
    warnings = [
        f"history temporarily unavailable: {store_down}",
        "statuses are the worker's latest results cached in Valkey",
    ]
    views = board(latest, now, settings.probe_interval_s, settings.problems)
    return Snapshot(now, views, {}, source=CACHE, warnings=warnings)


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
