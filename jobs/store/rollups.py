"""Retention: finished hours of probe results rolled up into `probe_rollups` (and whole days into
`probe_rollups_daily`), then what has expired pruned.

Rolling up is one transaction under an advisory lock and an upsert, so running it twice, even at once, leaves
the same rows; pruning deletes in bounded batches and never a raw row whose hour a roll-up may still need.
Results stored late (a cycle that ran long, results replayed after an outage) land in hours already rolled
up: the last REROLL of them is rolled up again each run; older rollups never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobs.defaults import PRUNE_BATCH, REROLL
from jobs.store.db import ROLLUP_LOCK_KEY, Connection, transaction
from jobs.store.timegrid import DAY, EPOCH, HOUR, floor


@dataclass(frozen=True)
class Pruned:
    raw: int
    rollups: int  # hourly and daily


def roll_up(conn: Connection, now: datetime) -> int:
    """Roll up every finished hour (before the hour of `now`) not yet rolled up, and re-roll the last REROLL
    of those already done; then the days of those hours, up to the last whole day. Returns how many rollup
    rows (hourly and daily) were added or changed."""
    until = floor(now, HOUR)
    with transaction(conn) as cur:
        # A second run waits here, then finds the hours done and changes nothing.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (ROLLUP_LOCK_KEY,))
        # '-infinity' (nothing rolled up yet) minus REROLL is still '-infinity': the first run reads all.
        cur.execute("SELECT rolled_until - %s FROM probe_rollup_state", (REROLL,))
        (since,) = cur.fetchone()
        cur.execute(
            "INSERT INTO probe_rollups AS r"
            " (service, hour, location, checks, up_checks,"
            "  latency_ms_min, latency_ms_p50, latency_ms_p95, latency_ms_max)"
            " SELECT service, date_bin('1 hour', checked_at, %(origin)s) AS hour, location, count(*),"
            "  count(*) FILTER (WHERE worked),"
            "  min(latency_ms) FILTER (WHERE worked),"
            "  percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE worked),"
            "  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE worked),"
            "  max(latency_ms) FILTER (WHERE worked)"
            " FROM (SELECT service, checked_at, location, latency_ms, status IN ('up', 'degraded') AS worked"
            "  FROM probe_results WHERE checked_at >= %(since)s AND checked_at < %(until)s"
            "  AND status <> 'not_configured') checks"
            " GROUP BY service, hour, location"
            " ON CONFLICT (service, hour, location) DO UPDATE SET"
            "  checks = EXCLUDED.checks, up_checks = EXCLUDED.up_checks,"
            "  latency_ms_min = EXCLUDED.latency_ms_min, latency_ms_p50 = EXCLUDED.latency_ms_p50,"
            "  latency_ms_p95 = EXCLUDED.latency_ms_p95, latency_ms_max = EXCLUDED.latency_ms_max"
            # An hour that has not changed is not rewritten: no dead rows for nothing.
            " WHERE (r.checks, r.up_checks, r.latency_ms_min, r.latency_ms_p50, r.latency_ms_p95,"
            "  r.latency_ms_max) IS DISTINCT FROM (EXCLUDED.checks, EXCLUDED.up_checks,"
            "  EXCLUDED.latency_ms_min, EXCLUDED.latency_ms_p50, EXCLUDED.latency_ms_p95, EXCLUDED.latency_ms_max)",
            {"origin": EPOCH, "since": since, "until": until},
        )
        changed = cur.rowcount
        # The days whose hours were just (re)written, up to the last whole day: summed from their hours.
        cur.execute(
            "INSERT INTO probe_rollups_daily AS d"
            " (service, day, location, checks, up_checks,"
            "  latency_ms_min, latency_ms_p50, latency_ms_p95, latency_ms_max)"
            " SELECT service, date_bin('1 day', hour, %(origin)s) AS day, location, sum(checks), sum(up_checks),"
            "  min(latency_ms_min),"
            "  sum(latency_ms_p50 * up_checks) / nullif(sum(up_checks), 0),"
            "  sum(latency_ms_p95 * up_checks) / nullif(sum(up_checks), 0),"
            "  max(latency_ms_max)"
            " FROM probe_rollups WHERE hour >= %(since)s AND hour < %(until)s"
            " GROUP BY service, day, location"
            " ON CONFLICT (service, day, location) DO UPDATE SET"
            "  checks = EXCLUDED.checks, up_checks = EXCLUDED.up_checks,"
            "  latency_ms_min = EXCLUDED.latency_ms_min, latency_ms_p50 = EXCLUDED.latency_ms_p50,"
            "  latency_ms_p95 = EXCLUDED.latency_ms_p95, latency_ms_max = EXCLUDED.latency_ms_max"
            " WHERE (d.checks, d.up_checks, d.latency_ms_min, d.latency_ms_p50, d.latency_ms_p95,"
            "  d.latency_ms_max) IS DISTINCT FROM (EXCLUDED.checks, EXCLUDED.up_checks,"
            "  EXCLUDED.latency_ms_min, EXCLUDED.latency_ms_p50, EXCLUDED.latency_ms_p95, EXCLUDED.latency_ms_max)",
            {"origin": EPOCH, "since": floor(since, DAY), "until": floor(until, DAY)},
        )
        changed += cur.rowcount
        cur.execute("UPDATE probe_rollup_state SET rolled_until = greatest(rolled_until, %s)", (until,))
    return changed


def _delete_in_batches(conn: Connection, statement: str, params: dict[str, Any]) -> int:
    total = 0
    with conn.cursor() as cur:
        while True:
            cur.execute(statement, params)  # autocommit: each batch is its own short transaction
            total += cur.rowcount
            if cur.rowcount < params["batch"]:
                return total


def prune(conn: Connection, now: datetime, raw_days: int, rollup_days: int, batch: int = PRUNE_BATCH) -> Pruned:
    """Delete raw results older than `raw_days` and rollups older than `rollup_days`, `batch` rows at a time.
    A raw row is deleted only once its hour is rolled up and out of the re-roll window."""
    raw = _delete_in_batches(
        conn,
        # Oldest ids first, through the primary key: each batch stops as soon as it has its rows. Before any
        # roll-up, rolled_until is '-infinity' and nothing raw goes.
        "DELETE FROM probe_results WHERE id IN (SELECT id FROM probe_results"
        " WHERE checked_at < (SELECT least(%(cutoff)s, rolled_until - %(reroll)s) FROM probe_rollup_state)"
        " ORDER BY id LIMIT %(batch)s)",
        {"cutoff": now - timedelta(days=raw_days), "reroll": REROLL, "batch": batch},
    )
    cutoff = {"cutoff": floor(now - timedelta(days=rollup_days), DAY), "batch": batch}
    rollups = _delete_in_batches(
        conn,
        "DELETE FROM probe_rollups WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM probe_rollups WHERE hour < %(cutoff)s LIMIT %(batch)s))",
        cutoff,
    )
    rollups += _delete_in_batches(
        conn,
        "DELETE FROM probe_rollups_daily WHERE ctid = ANY(ARRAY("
        " SELECT ctid FROM probe_rollups_daily WHERE day < %(cutoff)s LIMIT %(batch)s))",
        cutoff,
    )
    return Pruned(raw=raw, rollups=rollups)
