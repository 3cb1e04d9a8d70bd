"""Probe results: writing a cycle, and reading the latest results, recent checks and counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg2.extras import Json, execute_values

from jobs.result import SERVICE_NAMES, ProbeResult, Status, utcnow
from jobs.store.db import Connection, PreparedStatement
from jobs.store.timegrid import HOUR, ceil, floor


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


def _result_of(row: tuple[Any, ...]) -> ProbeResult:
    """The ProbeResult of a row (service, status, latency_ms, endpoint, checked_at, location, phases, detail,
    error)."""
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
# rows, as `spans.spans_by_source` cuts it ($3 is the window's first whole hour, $4 its end's hour). The
# web runs it on every status request, so it is prepared once per connection.
_BOARD = PreparedStatement(
    "hybrid_monitor_board",
    ("text[]", "timestamptz", "timestamptz", "timestamptz", "timestamptz"),
    "SELECT s.service, r.status, r.latency_ms, r.endpoint, r.checked_at, r.location, r.phases, r.detail,"
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
    " ORDER BY s.position",
)


def latest_and_uptimes(
    conn: Connection, services: list[str], start: datetime, end: datetime
) -> tuple[dict[str, ProbeResult], dict[str, float | None]]:
    """The newest result of each of `services` (any location; in their order, those never checked absent)
    and their `uptimes` over [start, end), in one round trip. Meant for short windows such as the board's
    24 hours: it reads no daily rollups."""
    with conn.cursor() as cur:
        _BOARD.execute(cur, (services, start, min(ceil(start, HOUR), end), floor(end, HOUR), end))
        rows = cur.fetchall()
    latest = {row[0]: _result_of(row[:-1]) for row in rows if row[1] is not None}
    return latest, {row[0]: row[-1] for row in rows}


# The board of several locations: for each (service, location) its newest result (one probe of the unique
# index, by slot) and its checks over [$3, $4) from the raw rows (the board's day, not long ranges).
_LOCATIONS_BOARD = PreparedStatement(
    "hybrid_monitor_locations_board",
    ("text[]", "text[]", "timestamptz", "timestamptz", "timestamptz", "timestamptz"),
    "SELECT s.service, l.location, r.status, r.latency_ms, r.endpoint, r.checked_at, r.location, r.phases,"
    " r.detail, r.error, u.up, u.checks"
    " FROM (SELECT greatest($4, least($5, (SELECT rolled_until FROM probe_rollup_state))) AS hi) b"
    " CROSS JOIN unnest($1) WITH ORDINALITY AS s(service, position)"
    " CROSS JOIN unnest($2) WITH ORDINALITY AS l(location, place)"
    " LEFT JOIN LATERAL ("
    "  SELECT status, latency_ms, endpoint, checked_at, location, phases, detail, error FROM probe_results p"
    "  WHERE p.service = s.service AND p.location = l.location ORDER BY p.slot DESC LIMIT 1"
    " ) r ON true"
    " CROSS JOIN LATERAL (SELECT coalesce(sum(n), 0) AS checks, coalesce(sum(n_up), 0) AS up FROM ("
    "  SELECT count(*) AS n, count(*) FILTER (WHERE p.status IN ('up', 'degraded')) AS n_up FROM probe_results p"
    "  WHERE p.service = s.service AND p.location = l.location AND p.checked_at >= $3 AND p.checked_at < $4"
    "  AND p.status <> 'not_configured'"
    "  UNION ALL SELECT checks, up_checks FROM probe_rollups h"
    "  WHERE h.service = s.service AND h.location = l.location AND h.hour >= $4 AND h.hour < b.hi"
    "  UNION ALL SELECT count(*), count(*) FILTER (WHERE p.status IN ('up', 'degraded')) FROM probe_results p"
    "  WHERE p.service = s.service AND p.location = l.location AND p.checked_at >= b.hi AND p.checked_at < $6"
    "  AND p.status <> 'not_configured'"
    " ) pieces) u"
    " ORDER BY s.position, l.place",
)


def latest_and_checks_by_location(
    conn: Connection, services: list[str], locations: list[str], start: datetime, end: datetime
) -> tuple[dict[tuple[str, str], ProbeResult], dict[tuple[str, str], tuple[int, int]]]:
    """Per (service, location): the newest result of each of `services` at each of `locations` (those never
    checked there absent) and (checks up or degraded, checks) over [start, end), in one round trip, the
    finished hours counted from their rollups as `latest_and_uptimes` does. Meant for the board's day."""
    with conn.cursor() as cur:
        _LOCATIONS_BOARD.execute(cur, (services, locations, start, min(ceil(start, HOUR), end), floor(end, HOUR), end))
        rows = cur.fetchall()
    latest = {(row[0], row[1]): _result_of((row[0], *row[2:-2])) for row in rows if row[2] is not None}
    return latest, {(row[0], row[1]): (int(row[-2]), int(row[-1])) for row in rows}


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
        return [_result_of(row) for row in cur.fetchall()]


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
