"""How a span of time reads in messages and on the board. Pure."""

from __future__ import annotations

from datetime import timedelta


def duration(span: timedelta) -> str:
    """A duration a person reads at a glance: 45 s, 7 min, 2 h 5 min, 1 d 3 h."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
