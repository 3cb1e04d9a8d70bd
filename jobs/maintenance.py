"""The hourly RQ job (`jobs/schedule.py`): roll finished hours of probe results up, then prune what has
expired (`jobs.store.rollups` does both)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg2

from jobs import store
from jobs.defaults import MAINTENANCE_TIMEOUT_S
from jobs.result import one_line, utcnow
from jobs.settings import load

log = logging.getLogger(__name__)


def run_maintenance() -> dict[str, Any]:
    """Roll up, then prune with the retention settings. Returns a small summary, which RQ keeps in Valkey, so
    it holds no error message; why it could not run is logged (one line, no secret)."""
    settings = load()
    pg = settings.postgres
    if pg is None:
        log.warning("maintenance skipped: %s", settings.problems.get("postgres") or "PostgreSQL is not configured")
        return {"done": False}
    now = utcnow()
    try:
        store.migrate_once(pg, MAINTENANCE_TIMEOUT_S)
        conn = store.connect(pg, MAINTENANCE_TIMEOUT_S)
        try:
            rolled = store.roll_up(conn, now)
            pruned = store.prune(conn, now, settings.raw_retention_days, settings.rollup_retention_days)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        # The next hour's run catches up: roll_up starts from where the last one that finished ended.
        reason = one_line(store.describe_error(str(exc), pg), *settings.secrets())
        log.warning("maintenance not done: %s", reason)
        return {"done": False}
    log.info("maintenance: %d rollup rows written, pruned %d raw rows, %d rollups", rolled, pruned.raw, pruned.rollups)
    return {"done": True, "rollups_written": rolled, "raw_pruned": pruned.raw, "rollups_pruned": pruned.rollups}
