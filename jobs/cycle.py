"""One probe cycle, the RQ job `rq cron` schedules: every probe at once, each under a hard deadline, and all
results stored together for the cycle's scheduled slot."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future, wait
from datetime import UTC, datetime
from typing import Any

import psycopg2
import rq

from jobs import store
from jobs.probes import PROBES, Probe
from jobs.probes.outcome import secrets_of
from jobs.probes.postgres import describe_error
from jobs.result import SERVICE_NAMES, ProbeResult, Status, one_line, utcnow
from jobs.settings import PostgresSettings, Settings, load

log = logging.getLogger(__name__)

# A probe bounds its own waits by PROBE_TIMEOUT_S; this grace lets its precise message win over the cycle's.
DEADLINE_GRACE_S = 0.25

_migrated: set[tuple[str, int, str]] = set()
_tried_before_probing: set[tuple[str, int, str]] = set()
_migrate_lock = threading.Lock()


def slot_of(moment: datetime, interval_s: int) -> datetime:
    """The start of the scheduling slot `moment` falls in: slots are `interval_s` long from the epoch."""
    seconds = math.floor(moment.timestamp() / interval_s) * interval_s
    return datetime.fromtimestamp(seconds, UTC)


def scheduled_slot(interval_s: int) -> datetime:
    """The slot of the RQ job running now (from when `rq cron` enqueued it), else of the current time."""
    job = rq.get_current_job()
    moment = job.enqueued_at if job is not None and job.enqueued_at is not None else utcnow()
    if moment.tzinfo is None:  # RQ stores UTC
        moment = moment.replace(tzinfo=UTC)
    return slot_of(moment, interval_s)


def _failed(service: str, settings: Settings, status: Status, error: str, latency_ms: float = 0.0) -> ProbeResult:
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=latency_ms,
        endpoint="",
        checked_at=utcnow(),
        location=settings.location,
        error=error,
    )


def _start(probe: Probe, settings: Settings, service: str) -> Future[ProbeResult]:
    """Run one probe in a daemon thread: one that hangs is abandoned, never joined, and cannot hold the
    process at exit."""
    future: Future[ProbeResult] = Future()

    def run() -> None:
        try:
            future.set_result(probe(settings))
        except BaseException as exc:  # a probe must never raise; if one does, it is reported, not lost
            future.set_exception(exc)

    threading.Thread(target=run, name=f"probe-{service}", daemon=True).start()
    return future


def run_probes(settings: Settings, probes: Mapping[str, Probe] = PROBES) -> list[ProbeResult]:
    """One result per service in SERVICE_NAMES order (plus any extra probes given), all probed at once.
    A probe still running at the deadline, or one that raised, is `down`; a service without a probe is
    `not_configured`."""
    timeout_s = settings.probe_timeout_s
    futures = {service: _start(probe, settings, service) for service, probe in probes.items()}
    wait(futures.values(), timeout=timeout_s + DEADLINE_GRACE_S)
    results = []
    for service in [*SERVICE_NAMES, *(s for s in probes if s not in SERVICE_NAMES)]:
        future = futures.get(service)
        if future is None:
            error = settings.problems.get(service) or "no probe for this service is installed in this build"
            results.append(_failed(service, settings, Status.NOT_CONFIGURED, error))
        elif not future.done():
            error = f"timed out after {timeout_s:g} s (the probe did not return)"
            results.append(_failed(service, settings, Status.DOWN, error, timeout_s * 1000))
        elif future.exception() is not None:
            error = "probe crashed: " + one_line(future.exception(), *secrets_of(settings))
            results.append(_failed(service, settings, Status.DOWN, error))
        else:
            results.append(future.result())
    return results


def _key(pg: PostgresSettings) -> tuple[str, int, str]:
    return (pg.host, pg.port, pg.dbname)


def ensure_schema(pg: PostgresSettings, timeout_s: float) -> None:
    """Apply pending migrations once per process and database (raises psycopg2.Error when unreachable)."""
    key = _key(pg)
    with _migrate_lock:
        if key in _migrated:
            return
        conn = store.connect(pg, timeout_s)
        try:
            applied = store.migrate(conn)
        finally:
            conn.close()
        if applied:
            log.info("applied migrations %s", ", ".join(applied))
        _migrated.add(key)


def persist(settings: Settings, results: list[ProbeResult], slot: datetime) -> str | None:
    """Store one cycle's results for its slot. Returns None when stored, else why not (one line, no secret).
    This is where results PostgreSQL cannot take now would be kept for later."""
    pg = settings.postgres
    if pg is None:
        return settings.problems.get("postgres") or "PostgreSQL is not configured"
    try:
        ensure_schema(pg, settings.probe_timeout_s)
        conn = store.connect(pg, settings.probe_timeout_s)
        try:
            store.write_results(conn, results, slot)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        return one_line(describe_error(str(exc), pg.endpoint), *secrets_of(settings))
    return None


def probe_and_store(settings: Settings, slot: datetime) -> tuple[list[ProbeResult], str | None]:
    """Probe every service once and store the results for `slot`: the results and why they were not stored
    (None when they were)."""
    if settings.postgres is not None and _key(settings.postgres) not in _tried_before_probing:
        # The PostgreSQL probe writes to a table a migration creates, so a fresh database gets it first;
        # tried once per process, so a PostgreSQL that hangs does not lengthen every cycle.
        _tried_before_probing.add(_key(settings.postgres))
        try:
            ensure_schema(settings.postgres, settings.probe_timeout_s)
        except psycopg2.Error as exc:
            reason = one_line(describe_error(str(exc), settings.postgres.endpoint), *secrets_of(settings))
            log.warning("could not migrate before probing: %s", reason)
    results = run_probes(settings)
    not_stored = persist(settings, results, slot)
    log.info("slot %s: %s", slot.isoformat(), " ".join(f"{r.service}={r.status.value}" for r in results))
    if not_stored:
        log.warning("results of slot %s not stored: %s", slot.isoformat(), not_stored)
    return results, not_stored


def run_cycle(slot: datetime | None = None) -> dict[str, Any]:
    """The RQ job. Returns a small summary, which RQ keeps in Valkey as the job's result, so it holds no
    secret and no error message."""
    settings = load()
    slot = slot or scheduled_slot(settings.probe_interval_s)
    results, not_stored = probe_and_store(settings, slot)
    return {
        "slot": slot.isoformat(),
        "stored": not_stored is None,
        "statuses": {r.service: r.status.value for r in results},
    }
