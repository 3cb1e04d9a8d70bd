"""The PostgreSQL time series of probe results: schema migrations, writes and the dashboard's reads.

Plain functions over a psycopg2 connection (opened by `connect`, autocommit on), returning plain values, so
the worker, the web pages and the API share them.
"""

from __future__ import annotations

import bisect
import math
import re
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, execute_values

from jobs import pg_wait
from jobs.result import SERVICE_NAMES, ProbeResult, Status, utcnow
from jobs.settings import PostgresSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any constant shared by every process of this product: web and worker serialise their migrations on it.
_MIGRATION_LOCK_KEY = 0x68796272_6D6F6E  # "hybrmon"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bucket widths a person reads easily, in seconds: 1 s up to a week.
_NICE_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# The longest range history reads from raw rows: RAW_RETENTION_DAYS is at least a day, and a day of checks
# a minute still downsamples cheaply. Longer ranges read hourly rollups.
RAW_MAX_SPAN = timedelta(hours=24)
# Hours already rolled up are rolled up again for this long (jobs.maintenance), to take in results stored late
# (a cycle that ran long, or results replayed after an outage); rollups older than that never change.
REROLL = timedelta(hours=24)


@dataclass(frozen=True)
class HistoryPoint:
    """One time bucket of one service's history. Latencies are of the checks that worked (None if none did);
    `up_ratio` and `checks` count every check except `not_configured` ones."""

    t: datetime
    latency_ms_p50: float | None
    latency_ms_max: float | None
    up_ratio: float
    checks: int


def connect(pg: PostgresSettings, timeout_s: float) -> Connection:
    """A connection in autocommit mode whose connect, statements and TCP waits are bounded by `timeout_s`."""
    pg_wait.install()  # and waits on a server that froze mid-query
    kwargs = pg.connect_kwargs(timeout_s)
    # Prepared statements (the board's) run their generic plan: planning the board for its parameters costs
    # PostgreSQL more than running it (0.23 against 0.2 ms). Other statements are not prepared, so unaffected.
    kwargs["options"] = f"{kwargs['options']} -c plan_cache_mode=force_generic_plan"
    conn = psycopg2.connect(**kwargs)
    conn.autocommit = True
    return conn


def migration_files() -> list[tuple[str, Path]]:
    """(version, path) of every migration, in order. Versions are the 3-digit prefixes of the file names."""
    files = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{path.name}: migration files are named NNN_lower_case_name.sql")
        files.append((match.group(1), path))
    return files


def migrate(conn: Connection) -> list[str]:
    """Apply the migrations not yet applied, in one transaction under an advisory lock, so a web and a
    worker starting at once never apply one twice. Returns the names of those applied now."""
    applied_now: list[str] = []
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:  # commits on success, rolls back on any error
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, path in migration_files():
                if version in done:
                    continue
                cur.execute(path.read_text())
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, path.name))
                applied_now.append(path.name)
    finally:
        if not conn.closed:
            conn.autocommit = True
    return applied_now


def write_results(conn: Connection, results: list[ProbeResult], slot: datetime) -> int:
    """Store one cycle's results for its scheduled slot; a result already stored for its (service, location,
    slot) is kept and the new one dropped. Returns how many rows were added."""
    if not results:
        return 0
    rows = [
        (
            r.service,
            r.location,
            slot,
            r.checked_at,
            r.status.value,
            r.latency_ms,
            r.endpoint,
            Json(r.phases),
            Json(r.detail),
            r.error,
        )
        for r in results
    ]
    with conn.cursor() as cur:
        # One statement: the rows and the running totals of what was really added (never a dropped duplicate).
        added = execute_values(
            cur,
            "WITH added AS ("
            " INSERT INTO probe_results"
            " (service, location, slot, checked_at, status, latency_ms, endpoint, phases, detail, error)"
            " VALUES %s ON CONFLICT ON CONSTRAINT probe_results_once_per_slot DO NOTHING"
            " RETURNING service, location, status),"
            " counted AS ("
            " INSERT INTO probe_check_counts AS c (service, location, checks, failed)"
            " SELECT service, location, count(*), count(*) FILTER (WHERE status = 'down') FROM added"
            " WHERE status <> 'not_configured' GROUP BY service, location"
            " ON CONFLICT (service, location)"
            " DO UPDATE SET checks = c.checks + EXCLUDED.checks, failed = c.failed + EXCLUDED.failed)"
            " SELECT count(*) FROM added",
            rows,
            page_size=len(rows),
            fetch=True,
        )
    return int(added[0][0])


def failed_check_counts(conn: Connection) -> dict[str, int]:
    """Checks that failed (`down`) per service, over every location, since the counts began: they never
    decrease, so Prometheus can use them as counters."""
    with conn.cursor() as cur:
        cur.execute("SELECT service, sum(failed) FROM probe_check_counts GROUP BY service")
        return {service: int(failed) for service, failed in cur.fetchall()}


def _result(row: tuple[Any, ...]) -> ProbeResult:
    service, status, latency_ms, endpoint, checked_at, location, phases, detail, error = row
    return ProbeResult(
        service=service,
        status=Status(status),
        latency_ms=latency_ms,
        endpoint=endpoint,
        checked_at=checked_at.astimezone(UTC),
        location=location,
        phases=phases,
        detail=detail,
        error=error,
    )


# The board in one round trip: for each service its newest result (one index probe, so the cost does not grow
# with the table) and its checks and uptime over a window [$2, $5) — the whole hours before the rollups' end
# from the hourly rollups, the part of an hour at the start ([$2, $3)) and everything since from the raw
# rows, as `split_range` cuts it ($3 is the window's first whole hour, $4 its end's hour). Prepared once per
# connection and run with its generic plan (see `connect`): the web runs it on every status request.
_PREPARE_BOARD = (
    "PREPARE hybrid_monitor_board(text[], timestamptz, timestamptz, timestamptz, timestamptz) AS"
    " SELECT s.service, r.status, r.latency_ms, r.endpoint, r.checked_at, r.location, r.phases, r.detail,"
    " r.error, u.up::float8 / nullif(u.checks, 0)"
    " FROM (SELECT greatest($3, least($4, (SELECT rolled_until FROM probe_rollup_state))) AS hi) b"
    " CROSS JOIN unnest($1) WITH ORDINALITY AS s(service, position)"
    " LEFT JOIN LATERAL ("
    "  SELECT status, latency_ms, endpoint, checked_at, location, phases, detail, error FROM probe_results p"
    "  WHERE p.service = s.service ORDER BY p.checked_at DESC LIMIT 1"
    " ) r ON true"
    " CROSS JOIN LATERAL (SELECT sum(n) AS checks, sum(n_up) AS up FROM ("
    "  SELECT count(*) AS n, count(*) FILTER (WHERE p.status IN ('up', 'degraded')) AS n_up FROM probe_results p"
    "  WHERE p.service = s.service AND p.checked_at >= $2 AND p.checked_at < $3 AND p.status <> 'not_configured'"
    "  UNION ALL SELECT checks, up_checks FROM probe_rollups h"
    "  WHERE h.service = s.service AND h.hour >= $3 AND h.hour < b.hi"
    "  UNION ALL SELECT count(*), count(*) FILTER (WHERE p.status IN ('up', 'degraded')) FROM probe_results p"
    "  WHERE p.service = s.service AND p.checked_at >= b.hi AND p.checked_at < $5 AND p.status <> 'not_configured'"
    " ) pieces) u"
    " ORDER BY s.position"
)
# Connections that hold the prepared statement (a prepared statement lives as long as its session and is not
# undone by a rollback).
_prepared: weakref.WeakSet[Connection] = weakref.WeakSet()


def latest_and_uptimes(
    conn: Connection, services: list[str], start: datetime, end: datetime
) -> tuple[dict[str, ProbeResult], dict[str, float | None]]:
    """The newest result of each of `services` (any location; in their order, those never checked absent)
    and their `uptimes` over [start, end), in one round trip. Meant for short windows such as the board's
    24 hours: it reads no daily rollups."""
    with conn.cursor() as cur:
        if conn not in _prepared:
            cur.execute(_PREPARE_BOARD)
            _prepared.add(conn)
        params = (services, start, min(_ceil(start, HOUR), end), _floor(end, HOUR), end)
        try:
            cur.execute("EXECUTE hybrid_monitor_board(%s, %s, %s, %s, %s)", params)
        except psycopg2.errors.InvalidSqlStatementName:
            # The server session is not the one it was prepared in (a pooler, DISCARD ALL): prepare it again
            # next time rather than fail on this connection for good.
            _prepared.discard(conn)
            raise
        rows = cur.fetchall()
    latest = {row[0]: _result(row[:-1]) for row in rows if row[1] is not None}
    return latest, {row[0]: row[-1] for row in rows}


def latest_results(conn: Connection) -> dict[str, ProbeResult]:
    """The newest result of each known service (any location), in display order; services never checked
    are absent."""
    now = utcnow()
    return latest_and_uptimes(conn, list(SERVICE_NAMES), now, now)[0]


def recent_results(conn: Connection, service: str, limit: int = 60) -> list[ProbeResult]:
    """One service's newest `limit` results, newest first."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT service, status, latency_ms, endpoint, checked_at, location, phases, detail, error"
            " FROM probe_results WHERE service = %s ORDER BY checked_at DESC LIMIT %s",
            (service, limit),
        )
        return [_result(row) for row in cur.fetchall()]


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
    conn: Connection, service: str, start: datetime, end: datetime, max_points: int = 500
) -> list[HistoryPoint]:
    """One service's results in [start, end), downsampled by the server into at most `max_points` buckets.

    Ranges up to RAW_MAX_SPAN read the raw rows (exact, and kept RAW_RETENTION_DAYS); longer ones read hourly
    buckets — rolled-up hours from the rollups, the others from the raw rows — so their cost follows the
    number of hours (or, for whole-day buckets, of days), not of checks. Their first bucket is whole (it may
    begin before `start`): the raw rows of a part of an hour that long ago are gone. A bucket of several
    hours (or locations) has as p50 the working-check-weighted mean of their medians: the exact median would
    need the raw rows, which are gone."""
    width, start, raw = _buckets(start, end, max_points)
    if raw:
        query, params = _RAW_HISTORY, [width, _EPOCH, service, start, end]
    else:
        query, params = _rollup_history(service, start, end, width, _rolled_until(conn))
    with conn.cursor() as cur:
        cur.execute(query, params)
        return _points(cur.fetchall())


# One point as JSON text, members as the API has always named them, built by PostgreSQL: a long range's few
# hundred points cost several times more to parse into Python objects and encode again than to read.
_POINT_JSON = sql.SQL(
    "json_build_object('checks', n, 'latency_ms_max', top, 'latency_ms_p50', p50,"
    """ 't', to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), 'up_ratio', ratio)"""
)
_POINTS_ARRAY = "SELECT coalesce(json_agg({} ORDER BY t), '[]')::text FROM ({}) AS points(t, p50, top, ratio, n)"
_POINTS_ROWS = "SELECT t, {}::text FROM ({}) AS points(t, p50, top, ratio, n) ORDER BY t"


def _json_points(shape: str, query: sql.Composable) -> sql.Composed:
    return sql.SQL(shape).format(_POINT_JSON, query)


@dataclass(frozen=True)
class SettledPoints:
    """One service's points at one bucket width, oldest first, as JSON texts, for the whole buckets of
    [start, until): every hour of them is older than the re-roll window, so no roll-up changes them again."""

    rolled_until: datetime
    start: datetime
    until: datetime
    times: list[datetime]
    texts: list[str]


def history_json(
    conn: Connection,
    service: str,
    start: datetime,
    end: datetime,
    max_points: int = 500,
    settled: dict[tuple[str, timedelta], SettledPoints] | None = None,
) -> str:
    """`history` as JSON text: an array of {"checks", "latency_ms_max", "latency_ms_p50", "t" (ISO 8601, UTC),
    "up_ratio"}, oldest first.

    With `settled` (a dict the caller keeps, one per process), a long range reads only its buckets that
    roll-ups may still change; the others are read once per service, width and roll-up, and kept there. So a
    year costs about what an hour does."""
    width, start, raw = _buckets(start, end, max_points)
    with conn.cursor() as cur:
        if raw:
            cur.execute(_json_points(_POINTS_ARRAY, _RAW_HISTORY), [width, _EPOCH, service, start, end])
            return cur.fetchone()[0]
        rolled_until = _rolled_until(conn)
        # Whole buckets before `until` are settled; the rest is read fresh on every call.
        until = start
        if rolled_until - _EPOCH > REROLL:
            until = min(max(start, _floor(rolled_until - REROLL, width)), _floor(end, width))
        middle: list[str] = []
        if start < until:
            kept = (settled or {}).get((service, width))
            if kept is None or kept.rolled_until != rolled_until or not kept.start <= start < until <= kept.until:
                query, params = _rollup_history(service, start, until, width, rolled_until)
                cur.execute(_json_points(_POINTS_ROWS, query), params)
                rows = cur.fetchall()
                kept = SettledPoints(rolled_until, start, until, [t for t, _ in rows], [text for _, text in rows])
                if settled is not None:
                    settled[(service, width)] = kept
            middle = kept.texts[bisect.bisect_left(kept.times, start) : bisect.bisect_left(kept.times, until)]
        query, params = _rollup_history(service, until, end, width, rolled_until)
        cur.execute(_json_points(_POINTS_ROWS, query), params)
        return "[" + ", ".join(middle + [text for _, text in cur.fetchall()]) + "]"


def _buckets(start: datetime, end: datetime, max_points: int) -> tuple[timedelta, datetime, bool]:
    """How `history` cuts [start, end): the bucket width, where the first bucket begins, and whether it reads
    raw rows. Long ranges read rollups in whole-hour buckets, the first one whole."""
    width = bucket_width(start, end, max_points)
    if end - start <= RAW_MAX_SPAN:
        return width, start, True
    width = max(width, HOUR)
    return width, _floor(start, width), False


def _rolled_until(conn: Connection) -> datetime:
    """Every hour before this is in the hourly rollups (and every whole day before it in the daily ones)."""
    with conn.cursor() as cur:
        cur.execute("SELECT rolled_until FROM probe_rollup_state")
        return cur.fetchone()[0]


def _rollup_history(
    service: str, start: datetime, end: datetime, width: timedelta, rolled_until: datetime
) -> tuple[sql.Composable, list[Any]]:
    """The query of a long range's rows (t, p50, max, up_ratio, checks) in buckets of `width` (whole hours),
    and its parameters."""
    # Whole-day buckets can take whole days from the daily rollups.
    units, params = _units([service], start, end, rolled_until, daily=width % DAY == timedelta(0))
    query = (
        sql.SQL(
            "SELECT date_bin(%s, hour, %s) AS t, sum(p50 * up_checks) / nullif(sum(up_checks), 0),"
            " max(top), sum(up_checks)::float8 / sum(checks), sum(checks)::int FROM "
        )
        + units
        + sql.SQL(" GROUP BY t ORDER BY t")
    )
    return query, [width, _EPOCH, *params]


def _points(rows: list[tuple[Any, ...]]) -> list[HistoryPoint]:
    return [
        HistoryPoint(t=t.astimezone(UTC), latency_ms_p50=p50, latency_ms_max=top, up_ratio=ratio, checks=n)
        for t, p50, top, ratio, n in rows
    ]


_RAW_HISTORY = sql.SQL(
    "SELECT date_bin(%s, checked_at, %s) AS t,"
    " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
    " max(latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
    " avg((status IN ('up', 'degraded'))::int)::float8,"
    " count(*)"
    " FROM probe_results"
    " WHERE service = %s AND checked_at >= %s AND checked_at < %s"
    " AND status <> 'not_configured'"
    " GROUP BY t ORDER BY t"
)


@dataclass(frozen=True)
class Piece:
    """A part of a range read from one source: "raw" rows, "hourly" or "daily" rollups, over [start, end)."""

    source: str
    start: datetime
    end: datetime


def _ceil(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + -((_EPOCH - moment) // step) * step


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + ((moment - _EPOCH) // step) * step


def split_range(start: datetime, end: datetime, rolled_until: datetime, daily: bool) -> list[Piece]:
    """[start, end) cut into non-empty pieces, each read from one source: the whole hours before
    `rolled_until` from the hourly rollups (with `daily`, their whole days from the daily ones), everything
    else — the part of an hour at the start, the hours not yet rolled up, the current one — from the raw rows.
    The pieces do not overlap and together cover the range, so every check counts exactly once."""
    lo = _ceil(start, HOUR)
    hi = max(lo, min(_floor(end, HOUR), rolled_until))
    dlo = min(hi, _ceil(start, DAY)) if daily else hi
    dhi = max(dlo, _floor(hi, DAY)) if daily else hi
    pieces = [
        Piece("raw", start, min(lo, end)),
        Piece("hourly", lo, dlo),
        Piece("daily", dlo, dhi),
        Piece("hourly", dhi, hi),
        Piece("raw", max(hi, start), end),
    ]
    return [p for p in pieces if p.start < p.end]


# Each piece as rows of (service, hour, checks, up_checks, p50, top), per location as rolled up. Raw pieces
# are summed per hour here, so a bucket treats every hour alike whichever source it came from.
_PIECE_SQL = {
    "raw": sql.SQL(
        "SELECT service, date_bin('1 hour', checked_at, %s) AS hour, count(*) AS checks,"
        " count(*) FILTER (WHERE status IN ('up', 'degraded')) AS up_checks,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status IN ('up', 'degraded')) AS p50,"
        " max(latency_ms) FILTER (WHERE status IN ('up', 'degraded')) AS top"
        " FROM probe_results WHERE service = ANY(%s) AND checked_at >= %s AND checked_at < %s"
        " AND status <> 'not_configured' GROUP BY service, 2, location"
    ),
    # For counts only (uptime): no per-hour sort for a median nobody reads.
    "raw_counts": sql.SQL(
        "SELECT service, NULL::timestamptz AS hour, count(*) AS checks,"
        " count(*) FILTER (WHERE status IN ('up', 'degraded')) AS up_checks, NULL::float8 AS p50, NULL::float8 AS top"
        " FROM probe_results WHERE service = ANY(%s) AND checked_at >= %s AND checked_at < %s"
        " AND status <> 'not_configured' GROUP BY service"
    ),
    "hourly": sql.SQL(
        "SELECT service, hour, checks, up_checks, latency_ms_p50 AS p50, latency_ms_max AS top FROM probe_rollups"
        " WHERE service = ANY(%s) AND hour >= %s AND hour < %s"
    ),
    "daily": sql.SQL(
        "SELECT service, day AS hour, checks, up_checks, latency_ms_p50 AS p50, latency_ms_max AS top"
        " FROM probe_rollups_daily"
        " WHERE service = ANY(%s) AND day >= %s AND day < %s"
    ),
}


def _units(
    services: list[str], start: datetime, end: datetime, rolled_until: datetime, daily: bool, counts_only: bool = False
) -> tuple[sql.Composed, list[Any]]:
    """The query of all the pieces of [start, end) as one relation `units`, and its parameters. With
    `counts_only`, raw pieces give per-service counts without hours or latencies."""
    pieces = split_range(start, end, rolled_until, daily) or [Piece("raw", start, start)]
    sources = [("raw_counts" if counts_only and p.source == "raw" else p.source) for p in pieces]
    params: list[Any] = []
    for source, piece in zip(sources, pieces, strict=True):
        params += [_EPOCH] if source == "raw" else []
        params += [list(services), piece.start, piece.end]
    union = sql.SQL(" UNION ALL ").join(_PIECE_SQL[source] for source in sources)
    return sql.SQL("(") + union + sql.SQL(") units"), params


def uptimes(conn: Connection, services: list[str], start: datetime, end: datetime) -> dict[str, float | None]:
    """`uptime` of each of `services` over [start, end), in one query (after reading how far the rollups go):
    rolled-up days and hours from the rollups, the rest from the raw rows."""
    units, params = _units(services, start, end, _rolled_until(conn), daily=True, counts_only=True)
    query = sql.SQL("SELECT service, sum(up_checks)::float8 / sum(checks) FROM ") + units + sql.SQL(" GROUP BY service")
    with conn.cursor() as cur:
        cur.execute(query, params)
        found = dict(cur.fetchall())
    return {service: found.get(service) for service in services}


def uptime(conn: Connection, service: str, start: datetime, end: datetime) -> float | None:
    """Share (0..1) of one service's checks in [start, end) that were up or degraded; None without checks.
    `not_configured` results are not checks."""
    return uptimes(conn, [service], start, end)[service]


def last_cycle_at(conn: Connection) -> datetime | None:
    """When the newest stored result was checked (any service, any location); None if nothing is stored."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT max(m.checked_at) FROM unnest(%s::text[]) AS s(service)"
            " CROSS JOIN LATERAL (SELECT max(checked_at) AS checked_at FROM probe_results p"
            " WHERE p.service = s.service) m",
            (list(SERVICE_NAMES),),
        )
        row = cur.fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(UTC)
