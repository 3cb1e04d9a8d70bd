"""Recurring maintenance windows (MAINTENANCE_WINDOWS): when each starts (a cron expression, UTC), how long it
lasts, and which services it covers. Entries are separated by `;`, each `CRON DURATION SERVICES`:

    MAINTENANCE_WINDOWS="0 3 * * sun 2h all; 30 1 * * * 15m postgres,valkey"

CRON is five fields (minute hour day month weekday) or an alias such as @daily; DURATION is like 90s, 15m,
2h, 1d12h; SERVICES is `all` or service names separated by commas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadDateError, croniter

from jobs.result import SERVICE_NAMES
from jobs.settings.parse import DURATION_FORMAT, SettingsError, duration, shown

ALL = "all"
_FORMAT = "CRON DURATION SERVICES, such as '0 3 * * sun 2h all'"
_LONGEST = timedelta(days=31)
_REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)  # an expression with no start around it never starts


@dataclass(frozen=True)
class Window:
    cron: str
    length: timedelta
    services: frozenset[str] | None  # None: every service
    text: str  # the entry as written, to name it in logs

    def covers(self, service: str) -> bool:
        return self.services is None or service in self.services


def service_names(raw: str, what: str) -> frozenset[str] | None:
    """`all` (None) or service names separated by commas; SettingsError naming `what` for an unknown one."""
    if raw.strip().lower() == ALL:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        if name not in SERVICE_NAMES:
            raise SettingsError(f"{what}: unknown service {shown(name)}; expected {ALL} or {', '.join(SERVICE_NAMES)}")
    if not names:
        raise SettingsError(f"{what}: no service named; expected {ALL} or {', '.join(SERVICE_NAMES)}")
    return frozenset(names)


def _window(entry: str, what: str) -> Window:
    tokens = entry.split()
    cron_fields = 1 if tokens and tokens[0].startswith("@") else 5
    if len(tokens) != cron_fields + 2:
        raise SettingsError(f"{what}: expected {_FORMAT}")
    cron = " ".join(tokens[:cron_fields])
    if not croniter.is_valid(cron):
        raise SettingsError(f"{what}: {shown(cron)} is not a cron expression (minute hour day month weekday, UTC)")
    try:
        croniter(cron, _REFERENCE).get_prev(datetime)
        croniter(cron, _REFERENCE).get_next(datetime)
    except CroniterBadDateError:
        raise SettingsError(f"{what}: {shown(cron)} never starts (no such date in years)") from None
    length = duration(tokens[cron_fields])
    if length is None or length > _LONGEST:
        raise SettingsError(f"{what}: expected {DURATION_FORMAT} (at most 31d), got {shown(tokens[cron_fields])}")
    return Window(cron, length, service_names(tokens[cron_fields + 1], what), " ".join(tokens))


def read(raw: str | None) -> tuple[Window, ...]:
    """The windows of a MAINTENANCE_WINDOWS value (None or blank: none). Raises a one-line SettingsError naming
    the entry and what is wrong with it."""
    entries = [e.strip() for e in (raw or "").split(";")]
    return tuple(
        _window(entry, f"MAINTENANCE_WINDOWS: entry {number} ({shown(entry)})")
        for number, entry in enumerate(entries, 1)
        if entry
    )
