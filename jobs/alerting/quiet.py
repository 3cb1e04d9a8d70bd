"""When a service is quiet, pure: inside a recurring maintenance window (a cron start, UTC, and a length) or an
operator's silence. A quiet service's checks and incidents are recorded; its firing waits until it is not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from croniter import CroniterBadDateError, croniter

from jobs.settings.windows import Window
from jobs.store.silences import Silence


def window_open(window: Window, at: datetime) -> bool:
    """Whether `at` (timezone-aware) falls in [a start of `window`, that start + its length)."""
    # get_prev is strictly before its base; a microsecond later makes a start at exactly `at` count.
    try:
        start = croniter(window.cron, at + timedelta(microseconds=1)).get_prev(datetime)
    except CroniterBadDateError:  # no start within croniter's search (a date that hardly ever comes)
        return False
    return at < start + window.length


def quiet_because(service: str, at: datetime, windows: Sequence[Window], silences: Sequence[Silence]) -> str | None:
    """Why `service` is quiet at `at` (a silence first, then a maintenance window), or None when it is not."""
    for silence in silences:
        if silence.covers(service, at):
            return f"silence {silence.id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC: {silence.reason}"
    for window in windows:
        if window.covers(service) and window_open(window, at):
            return f"maintenance window {window.text}"
    return None


def quiet_services(
    services: Sequence[str], at: datetime, windows: Sequence[Window], silences: Sequence[Silence]
) -> set[str]:
    """Those of `services` that are quiet at `at`."""
    return {s for s in services if quiet_because(s, at, windows, silences) is not None}
