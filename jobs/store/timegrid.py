"""The time grid the store cuts time on: steps counted from the Unix epoch, in UTC, as PostgreSQL's date_bin
does with the same origin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def floor(moment: datetime, step: timedelta) -> datetime:
    """The start of the step `moment` falls in (in UTC)."""
    return EPOCH + ((moment - EPOCH) // step) * step


def ceil(moment: datetime, step: timedelta) -> datetime:
    """The first step boundary at or after `moment` (in UTC)."""
    return EPOCH + -((EPOCH - moment) // step) * step
