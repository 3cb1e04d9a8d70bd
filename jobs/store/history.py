"""History: one service's checks over a range, in time buckets, and uptimes, read from the raw rows and the
rollups (`rollups.py` writes them) so that every check counts exactly once.

The chart (`history`) and the API (`history_json`) read a range the same way, through `_Buckets`; the API
has PostgreSQL render the points as JSON, and keeps those that no roll-up changes any more.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import cursor as Cursor

from jobs.defaults import RAW_MAX_SPAN, REROLL
from jobs.store.db import Connection
from jobs.store.spans import spans_relation
from jobs.store.timegrid import DAY, EPOCH, HOUR, floor

# Bucket widths a person reads easily, in seconds: 1 s up to a week.
_NICE_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)


@dataclass(frozen=True)
class HistoryPoint:
    """One time bucket of one service's history. Latencies are of the checks that worked (None if none did);
    `up_ratio` and `checks` count every check except `not_configured` ones."""

    t: datetime
    latency_ms_p50: float | None
    latency_ms_max: float | None
    up_ratio: float
    checks: int


# The key of a service's settled points at one location (None: every one) and bucket width.
SettledKey = tuple[str, str | None, timedelta]


@dataclass(frozen=True)
class SettledJson:
    """One service's points at one bucket width, oldest first, as JSON texts, for the whole buckets of
    [start, until): every hour of them is older than the re-roll window, so no roll-up changes them again."""

    rolled_until: datetime
    start: datetime
    until: datetime
    times: list[datetime]
    texts: list[str]


def bucket_width(start: datetime, end: datetime, max_points: int) -> timedelta:
    """The smallest easily read bucket width that splits [start, end) into at most `max_points` buckets
    aligned to the epoch (which can touch one bucket more than the span divided by the width)."""
    if max_points < 2:
        raise ValueError(f"max_points: expected at least 2, got {max_points}")
    needed_s = max((end - start).total_seconds(), 0) / (max_points - 1)
    for width_s in _NICE_WIDTHS_S:
        if width_s >= needed_s:
            return timedelta(seconds=width_s)
    return timedelta(days=math.ceil(needed_s / 86400))


def history(
    conn: Connection, service: str, start: datetime, end: datetime, max_points: int = 500, location: str | None = None
) -> list[HistoryPoint]:
    """One service's results in [start, end) (at `location`, else at every location), downsampled by the
    server into at most `max_points` buckets.

    Ranges up to RAW_MAX_SPAN read the raw rows (exact, and kept RAW_RETENTION_DAYS); longer ones read hourly
    buckets — rolled-up hours from the rollups, the others from the raw rows — so their cost follows the
    number of hours (or, for whole-day buckets, of days), not of checks. Their first bucket is whole (it may
    begin before `start`): the raw rows of a part of an hour that long ago are gone. A bucket of several
    hours (or locations) has as p50 the working-check-weighted mean of their medians: the exact median would
    need the raw rows, which are gone."""
    buckets = _Buckets.for_range(conn, start, end, max_points)
    with conn.cursor() as cur:
        cur.execute(*buckets.query(service, buckets.start, end, location))
        return [
            HistoryPoint(t=t.astimezone(UTC), latency_ms_p50=p50, latency_ms_max=top, up_ratio=ratio, checks=n)
            for t, p50, top, ratio, n in cur.fetchall()
        ]


def history_json(
    conn: Connection,
    service: str,
    start: datetime,
    end: datetime,
    max_points: int = 500,
    settled: dict[SettledKey, SettledJson] | None = None,
    location: str | None = None,
) -> str:
    """`history` as JSON text: an array of {"checks", "latency_ms_max", "latency_ms_p50", "t" (ISO 8601, UTC),
    "up_ratio"}, oldest first.

    With `settled` (a dict the caller keeps, one per process), a long range reads only its buckets that
    roll-ups may still change; the others are read once per service, width and roll-up, and kept there. So a
    year costs about what an hour does."""
    buckets = _Buckets.for_range(conn, start, end, max_points)
    with conn.cursor() as cur:
        if buckets.rolled_until is None:
            cur.execute(*_as_json(_POINTS_ARRAY, buckets.query(service, buckets.start, end, location)))
            return cur.fetchone()[0]
        until = buckets.settled_until(end)
        texts = _settled_texts(cur, service, location, buckets, until, settled) if buckets.start < until else []
        cur.execute(*_as_json(_POINTS_ROWS, buckets.query(service, until, end, location)))
        return "[" + ", ".join(texts + [text for _, text in cur.fetchall()]) + "]"


@dataclass(frozen=True)
class _Buckets:
    """How a range is read: in buckets of `width` from `start`; from the raw rows, or, with `rolled_until`,
    in whole hours from the rollups up to it and from the raw rows after."""

    width: timedelta
    start: datetime
    rolled_until: datetime | None

    @staticmethod
    def for_range(conn: Connection, start: datetime, end: datetime, max_points: int) -> _Buckets:
        width = bucket_width(start, end, max_points)
        if end - start <= RAW_MAX_SPAN:
            return _Buckets(width, start, None)
        width = max(width, HOUR)  # the first bucket whole: the raw rows of a part of an hour are gone
        return _Buckets(width, floor(start, width), _rolled_until(conn))

    def query(
        self, service: str, start: datetime, end: datetime, location: str | None
    ) -> tuple[sql.Composable, list[Any]]:
        """The query of the rows (t, p50, max, up_ratio, checks) of the buckets in [start, end) (of `location`,
        else of every location), and its parameters."""
        if self.rolled_until is None:
            return _RAW_BUCKETS, [self.width, EPOCH, service, start, end, location, location]
        # Whole-day buckets can take whole days from the daily rollups.
        daily = self.width % DAY == timedelta(0)
        spans, params = spans_relation([service], start, end, self.rolled_until, daily, location=location)
        query = (
            sql.SQL(
                "SELECT date_bin(%s, hour, %s) AS t, sum(p50 * up_checks) / nullif(sum(up_checks), 0),"
                " max(top), sum(up_checks)::float8 / sum(checks), sum(checks)::int FROM "
            )
            + spans
            + sql.SQL(" GROUP BY t ORDER BY t")
        )
        return query, [self.width, EPOCH, *params]

    def settled_until(self, end: datetime) -> datetime:
        """Whole buckets before this are settled: outside the re-roll window, no roll-up changes them."""
        if self.rolled_until is None or self.rolled_until - EPOCH <= REROLL:
            return self.start
        return min(max(self.start, floor(self.rolled_until - REROLL, self.width)), floor(end, self.width))


def _settled_texts(
    cur: Cursor,
    service: str,
    location: str | None,
    buckets: _Buckets,
    until: datetime,
    settled: dict[SettledKey, SettledJson] | None,
) -> list[str]:
    """The JSON texts of the buckets in [buckets.start, until), from `settled` when it holds them."""
    kept = (settled or {}).get((service, location, buckets.width))
    same_rollups = kept is not None and kept.rolled_until == buckets.rolled_until
    if not same_rollups or not kept.start <= buckets.start < until <= kept.until:
        cur.execute(*_as_json(_POINTS_ROWS, buckets.query(service, buckets.start, until, location)))
        rows = cur.fetchall()
        kept = SettledJson(buckets.rolled_until, buckets.start, until, [t for t, _ in rows], [text for _, text in rows])
        if settled is not None:
            settled[(service, location, buckets.width)] = kept
    return kept.texts[bisect.bisect_left(kept.times, buckets.start) : bisect.bisect_left(kept.times, until)]


_RAW_BUCKETS = sql.SQL(
    "SELECT date_bin(%s, checked_at, %s) AS t,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
    " max(latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
    " avg((status IN ('up', 'degraded'))::int)::float8,"
    " count(*)"
    " FROM probe_results"
    " WHERE service = %s AND checked_at >= %s AND checked_at < %s"
    " AND status <> 'not_configured' AND (%s::text IS NULL OR location = %s)"
    " GROUP BY t ORDER BY t"
)

# One point as JSON text, members as the API has always named them, built by PostgreSQL: a long range's few
# hundred points cost several times more to parse into Python objects and encode again than to read.
_POINT_JSON = sql.SQL(
    "json_build_object('checks', n, 'latency_ms_max', top, 'latency_ms_p50', p50,"
    """ 't', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), 'up_ratio', ratio)"""
)
_POINTS_ARRAY = "SELECT coalesce(json_agg({} ORDER BY t), '[]')::text FROM ({}) AS points(t, p50, top, ratio, n)"
_POINTS_ROWS = "SELECT t, {}::text FROM ({}) AS points(t, p50, top, ratio, n) ORDER BY t"


def _as_json(shape: str, query: tuple[sql.Composable, list[Any]]) -> tuple[sql.Composed, list[Any]]:
    """`query` (rows of buckets) with its points rendered as JSON in `shape`, and its parameters."""
    return sql.SQL(shape).format(_POINT_JSON, query[0]), query[1]


def _rolled_until(conn: Connection) -> datetime:
    """Every hour before this is in the hourly rollups (and every whole day before it in the daily ones)."""
    with conn.cursor() as cur:
        cur.execute("SELECT rolled_until FROM probe_rollup_state")
        return cur.fetchone()[0]


def uptimes(conn: Connection, services: list[str], start: datetime, end: datetime) -> dict[str, float | None]:
    """`uptime` of each of `services` over [start, end), in one query (after reading how far the rollups go):
    rolled-up days and hours from the rollups, the rest from the raw rows."""
    spans, params = spans_relation(services, start, end, _rolled_until(conn), daily=True, counts_only=True)
    query = sql.SQL("SELECT service, sum(up_checks)::float8 / sum(checks) FROM ") + spans + sql.SQL(" GROUP BY service")
    with conn.cursor() as cur:
        cur.execute(query, params)
        found = dict(cur.fetchall())
    return {service: found.get(service) for service in services}


def uptime(conn: Connection, service: str, start: datetime, end: datetime) -> float | None:
    """Share (0..1) of one service's checks in [start, end) that were up or degraded; None without checks.
    `not_configured` results are not checks."""
    return uptimes(conn, [service], start, end)[service]
