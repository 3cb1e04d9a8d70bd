"""The PostgreSQL time series of probe results: schema migrations, writes and the dashboard's reads.

Plain functions over a psycopg2 connection (opened by `connect`, autocommit on), returning plain values, so
the worker, the web pages and the API share them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2.extensions import connection as Connection
from psycopg2.extras import Json, execute_values

from jobs import pg_wait
from jobs.result import SERVICE_NAMES, ProbeResult, Status
from jobs.settings import PostgresSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# Any constant shared by every process of this product: web and worker serialise their migrations on it.
_MIGRATION_LOCK_KEY = 0x68796272_6D6F6E  # "hybrmon"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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


def connect(pg: PostgresSettings, timeout_s: float) -> Connection:
    """A connection in autocommit mode whose connect, statements and TCP waits are bounded by `timeout_s`."""
    pg_wait.install()  # and waits on a server that froze mid-query
    conn = psycopg2.connect(**pg.connect_kwargs(timeout_s))
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
        added = execute_values(
            cur,
            "INSERT INTO probe_results"
            " (service, location, slot, checked_at, status, latency_ms, endpoint, phases, detail, error)"
            " VALUES %s ON CONFLICT ON CONSTRAINT probe_results_once_per_slot DO NOTHING RETURNING id",
            rows,
            fetch=True,
        )
    return len(added)


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


def latest_results(conn: Connection) -> dict[str, ProbeResult]:
    """The newest result of each known service (any location), in display order; services never checked
    are absent."""
    # One index probe per service rather than a scan: the cost does not grow with the table.
    with conn.cursor() as cur:
        cur.execute(
            "SELECT r.* FROM unnest(%s::text[]) WITH ORDINALITY AS s(service, position)"
            " CROSS JOIN LATERAL ("
            "  SELECT service, status, latency_ms, endpoint, checked_at, location, phases, detail, error"
            "  FROM probe_results p WHERE p.service = s.service ORDER BY p.checked_at DESC LIMIT 1"
            ") r ORDER BY s.position",
            (list(SERVICE_NAMES),),
        )
        return {row[0]: _result(row) for row in cur.fetchall()}


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
    """One service's results in [start, end), downsampled by the server into at most `max_points` buckets."""
    width = bucket_width(start, end, max_points)
    # The one place that chooses the source: long ranges can read an hourly rollup here instead.
    return _raw_history(conn, service, start, end, width)


def _raw_history(
    conn: Connection, service: str, start: datetime, end: datetime, width: timedelta
) -> list[HistoryPoint]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT date_bin(%(width)s, checked_at, %(origin)s) AS t,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
            " max(latency_ms) FILTER (WHERE status IN ('up', 'degraded')),"
            " avg((status IN ('up', 'degraded'))::int)::float8,"
            " count(*)"
            " FROM probe_results"
            " WHERE service = %(service)s AND checked_at >= %(start)s AND checked_at < %(end)s"
            " AND status <> 'not_configured'"
            " GROUP BY t ORDER BY t",
            {"width": width, "origin": _EPOCH, "service": service, "start": start, "end": end},
        )
        return [
            HistoryPoint(t=t.astimezone(UTC), latency_ms_p50=p50, latency_ms_max=top, up_ratio=ratio, checks=n)
            for t, p50, top, ratio, n in cur.fetchall()
        ]


def uptime(conn: Connection, service: str, start: datetime, end: datetime) -> float | None:
    """Share (0..1) of one service's checks in [start, end) that were up or degraded; None without checks.
    `not_configured` results are not checks."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT avg((status IN ('up', 'degraded'))::int)::float8 FROM probe_results"
            " WHERE service = %s AND checked_at >= %s AND checked_at < %s AND status <> 'not_configured'",
            (service, start, end),
        )
        row = cur.fetchone()
    return None if row is None else row[0]


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
