"""Time ranges the charts and the history API accept, and the parameter validation the API uses. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from werkzeug.datastructures import MultiDict

RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "365d": timedelta(days=365),
}
# The page offers the shorter ones; the API also serves a year.
CHART_RANGES = ("1h", "6h", "24h", "7d", "30d")
DEFAULT_RANGE = "24h"
MAX_PARAM_CHARS = 64


def chart_range(value: object) -> str:
    """The chart range a client sent, or the default for anything that is not one the page offers."""
    return value if isinstance(value, str) and value in CHART_RANGES else DEFAULT_RANGE


class BadInput(ValueError):
    """A request parameter is wrong. The message is one line and lists what is accepted."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def shown(value: str) -> str:
    """User input quoted for an error message, cut short so a huge value cannot echo back (after repr, since
    repr spells an unprintable character in up to ten)."""
    text = repr(value if len(value) <= 40 else value[:40] + "…")
    return text if len(text) <= 60 else text[:60] + "…"


def _single(args: MultiDict[str, str], name: str, choices: str) -> str | None:
    """The one value of query parameter `name` (None when absent), no longer than MAX_PARAM_CHARS."""
    values = args.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadInput(f"query parameter {name!r} given {len(values)} times; give it once, one of: {choices}")
    if len(values[0]) > MAX_PARAM_CHARS:
        raise BadInput(f"query parameter {name!r} is longer than {MAX_PARAM_CHARS} characters; accepted: {choices}")
    return values[0]


def one_value(args: MultiDict[str, str], name: str, accepted: Iterable[str], required: bool = True) -> str | None:
    """The single value of query parameter `name`, which must be one of `accepted`; None when it is absent
    and not `required`."""
    choices = ", ".join(accepted)
    value = _single(args, name, choices)
    if value is None:
        if required:
            raise BadInput(f"missing query parameter {name!r}; accepted: {choices}")
        return None
    if value not in accepted:
        raise BadInput(f"unknown {name} {shown(value)}; accepted: {choices}")
    return value


def since(args: MultiDict[str, str], now: datetime, default: str = "7d") -> datetime:
    """The `since` query parameter: an ISO 8601 time with its offset, or a range back from `now`."""
    choices = f"an ISO 8601 time with an offset such as 2026-01-01T00:00:00Z, or one of {', '.join(RANGES)}"
    value = _single(args, "since", choices) or default
    if value in RANGES:
        return now - RANGES[value]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadInput(f"unknown since {shown(value)}; accepted: {choices}")
    return moment
