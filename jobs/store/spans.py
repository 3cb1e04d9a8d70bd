"""A range cut by where its checks are read from: the raw rows, or the hourly and daily rollups that
`rollups.roll_up` writes, so that every check counts exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg2 import sql

from jobs.store.timegrid import DAY, EPOCH, HOUR, ceil, floor


@dataclass(frozen=True)
class Span:
    """A part of a range read from one source: "raw" rows, "hourly" or "daily" rollups, over [start, end)."""

    source: str
    start: datetime
    end: datetime


def spans_by_source(start: datetime, end: datetime, rolled_until: datetime, daily: bool) -> list[Span]:
    """[start, end) cut into non-empty spans, each read from one source: the whole hours before
    `rolled_until` from the hourly rollups (with `daily`, their whole days from the daily ones), everything
    else — the part of an hour at the start, the hours not yet rolled up, the current one — from the raw rows.
    The spans do not overlap and together cover the range, so every check counts exactly once."""
    lo = ceil(start, HOUR)
    hi = max(lo, min(floor(end, HOUR), rolled_until))
    dlo = min(hi, ceil(start, DAY)) if daily else hi
    dhi = max(dlo, floor(hi, DAY)) if daily else hi
    spans = [
        Span("raw", start, min(lo, end)),
        Span("hourly", lo, dlo),
        Span("daily", dlo, dhi),
        Span("hourly", dhi, hi),
        Span("raw", max(hi, start), end),
    ]
    return [s for s in spans if s.start < s.end]


# Each source's rows of a span: (service, hour, checks, up_checks, p50, top), per location as rolled up, of
# one location or (NULL) of every one. Raw
# spans are summed per hour here, so a bucket treats every hour alike whichever source it came from.
_SPAN_ROWS = {
    "raw": sql.SQL(
        "SELECT service, date_bin('1 hour', checked_at, %s) AS hour, count(*) AS checks,"
        " count(*) FILTER (WHERE status IN ('up', 'degraded')) AS up_checks,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status IN ('up', 'degraded')) AS p50,"
        " max(latency_ms) FILTER (WHERE status IN ('up', 'degraded')) AS top"
        " FROM probe_results WHERE service = ANY(%s) AND checked_at >= %s AND checked_at < %s"
        " AND status <> 'not_configured' AND (%s::text IS NULL OR location = %s) GROUP BY service, 2, location"
    ),
    # For counts only (uptime): no per-hour sort for a median nobody reads.
    "raw_counts": sql.SQL(
        "SELECT service, NULL::timestamptz AS hour, count(*) AS checks,"
        " count(*) FILTER (WHERE status IN ('up', 'degraded')) AS up_checks, NULL::float8 AS p50, NULL::float8 AS top"
        " FROM probe_results WHERE service = ANY(%s) AND checked_at >= %s AND checked_at < %s"
        " AND status <> 'not_configured' AND (%s::text IS NULL OR location = %s) GROUP BY service"
    ),
    "hourly": sql.SQL(
        "SELECT service, hour, checks, up_checks, latency_ms_p50 AS p50, latency_ms_max AS top FROM probe_rollups"
        " WHERE service = ANY(%s) AND hour >= %s AND hour < %s AND (%s::text IS NULL OR location = %s)"
    ),
    "daily": sql.SQL(
        "SELECT service, day AS hour, checks, up_checks, latency_ms_p50 AS p50, latency_ms_max AS top"
        " FROM probe_rollups_daily"
        " WHERE service = ANY(%s) AND day >= %s AND day < %s AND (%s::text IS NULL OR location = %s)"
    ),
}


def spans_relation(
    services: list[str],
    start: datetime,
    end: datetime,
    rolled_until: datetime,
    daily: bool,
    counts_only: bool = False,
    location: str | None = None,
) -> tuple[sql.Composed, list[Any]]:
    """The rows of all the spans of [start, end) as one relation `spans`, and its parameters. With
    `counts_only`, raw spans give per-service counts without hours or latencies. With `location`, only that
    location's checks, else every location's."""
    spans = spans_by_source(start, end, rolled_until, daily) or [Span("raw", start, start)]
    sources = [("raw_counts" if counts_only and s.source == "raw" else s.source) for s in spans]
    params: list[Any] = []
    for source, span in zip(sources, spans, strict=True):
        params += [EPOCH] if source == "raw" else []
        params += [list(services), span.start, span.end, location, location]
    union = sql.SQL(" UNION ALL ").join(_SPAN_ROWS[source] for source in sources)
    return sql.SQL("(") + union + sql.SQL(") spans"), params
