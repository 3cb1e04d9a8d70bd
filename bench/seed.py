"""A year of synthetic history for four services at one check a minute, as retention leaves it: raw rows for
the last RAW_RETENTION_DAYS, hourly rollups for every finished hour of the year. Written with COPY."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions
from psycopg2.extensions import connection as Connection

from jobs import store
from jobs.result import SERVICE_NAMES

# Typical latency (ms) of each service on loopback, and its endpoint as the probes report it.
PROFILE = {
    "postgres": (4.0, "127.0.0.1:5432"),
    "valkey": (1.2, "127.0.0.1:6379"),
    "roles_anywhere": (45.0, "127.0.0.1:8443"),
    "secrets_manager": (30.0, "secretsmanager.eu-central-1.amazonaws.com"),
}
LOCATION = "local"
CHECKS_PER_HOUR = 60


@dataclass(frozen=True)
class Seeded:
    raw_rows: int
    rollup_rows: int
    daily_rows: int
    raw_equivalent_checks: int
    seconds: float


def _check(rng: random.Random, base_ms: float) -> tuple[str, float]:
    roll = rng.random()
    status = "down" if roll < 0.002 else "degraded" if roll < 0.01 else "up"
    return status, round(base_ms * rng.lognormvariate(0, 0.35), 3)


def _percentile_cont(ordered: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _copy(conn: Connection, table: str, columns: str, rows: list[list[object]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    # COPY cannot run under a wait callback (jobs.store's, installed by store.connect): lift it meanwhile.
    callback = psycopg2.extensions.get_wait_callback()
    psycopg2.extensions.set_wait_callback(None)
    try:
        with conn.cursor() as cur:
            cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
    finally:
        psycopg2.extensions.set_wait_callback(callback)


def seed_year(
    conn: Connection, now: datetime, raw_days: int, days: int = 365, seed: int = 1, location: str = LOCATION
) -> Seeded:
    """Seed `days` of `location`'s history ending at `now` into a migrated database that holds none of it."""
    started = time.perf_counter()
    rng = random.Random(seed)
    end = now.replace(second=0, microsecond=0)
    raw_from = store.floor(end - timedelta(days=raw_days), store.HOUR)
    first_hour = store.floor(end - timedelta(days=days), store.HOUR)
    rollups: list[list[object]] = []
    hour = first_hour
    while hour < raw_from:
        for service in SERVICE_NAMES:
            checks = [_check(rng, PROFILE[service][0]) for _ in range(CHECKS_PER_HOUR)]
            worked = sorted(ms for status, ms in checks if status != "down")
            rollups.append(
                [service, hour.isoformat(), location, len(checks), len(worked), worked[0],
                 _percentile_cont(worked, 0.5), _percentile_cont(worked, 0.95), worked[-1]]
            )  # fmt: skip
        hour += timedelta(hours=1)
    _copy(
        conn,
        "probe_rollups",
        "service, hour, location, checks, up_checks, latency_ms_min, latency_ms_p50, latency_ms_p95, latency_ms_max",
        rollups,
    )
    raw: list[list[object]] = []
    slot = raw_from
    while slot < end:
        for service in SERVICE_NAMES:
            status, ms = _check(rng, PROFILE[service][0])
            checked_at = slot + timedelta(milliseconds=rng.uniform(5, 50))
            phases = {"connect": round(ms * 0.6, 3), "request": round(ms * 0.4, 3)}
            detail = {"tls": service != "valkey", "server": f"{service}-sandbox"}
            error = None if status != "down" else "timed out after 5 s (the probe did not return)"
            raw.append(
                [service, location, slot.isoformat(), checked_at.isoformat(), status, ms, PROFILE[service][1],
                 json.dumps(phases), json.dumps(detail), error]
            )  # fmt: skip
        slot += timedelta(minutes=1)
    _copy(
        conn,
        "probe_results",
        "service, location, slot, checked_at, status, latency_ms, endpoint, phases, detail, error",
        raw,
    )
    # The hours of the raw window are rolled up as the hourly job would have done, from the start: an earlier
    # location's seeding has moved the rollups' mark past them.
    with conn.cursor() as cur:
        cur.execute("UPDATE probe_rollup_state SET rolled_until = '-infinity'")
    store.roll_up(conn, end)
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE probe_results")
        cur.execute("VACUUM ANALYZE probe_rollups")
        cur.execute("VACUUM ANALYZE probe_rollups_daily")
        cur.execute("SELECT (SELECT count(*) FROM probe_rollups), (SELECT count(*) FROM probe_rollups_daily)")
        rollup_rows, daily_rows = cur.fetchone()
    hours = (end - first_hour) / timedelta(hours=1)
    return Seeded(
        raw_rows=len(raw),
        rollup_rows=rollup_rows,
        daily_rows=daily_rows,
        raw_equivalent_checks=int(hours * CHECKS_PER_HOUR * len(SERVICE_NAMES)),
        seconds=time.perf_counter() - started,
    )
