"""One probe cycle, the RQ job `rq cron` schedules: every probe under a hard deadline (Valkey's, then PostgreSQL's,
then the AWS probes at once), and all results stored together for the cycle's scheduled slot."""

from __future__ import annotations

import logging
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, wait
from datetime import UTC, datetime
from typing import Any

import psycopg2
import redis
import rq

from jobs import buffer, store
from jobs.alerting import heartbeat
from jobs.alerting.after_cycle import after_not_stored, after_stored
from jobs.defaults import DEADLINE_GRACE_S, LATEST_TTL_INTERVALS, PROBE_SWITCH_INTERVAL_S, WAVE_S
from jobs.probes import PROBES, WAVES, Probe, prepare
from jobs.result import SERVICE_NAMES, ProbeResult, Status, one_line, utcnow
from jobs.settings import PostgresSettings, Settings, load

log = logging.getLogger(__name__)


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


def _result_by_cycle(
    service: str, settings: Settings, status: Status, error: str, latency_ms: float = 0.0
) -> ProbeResult:
    """The result the cycle records for a service whose probe gave none."""
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=latency_ms,
        # The probe could not say; the configured endpoint is what a person needs to look at.
        endpoint=settings.endpoint_of(service),
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


def run_probes(
    settings: Settings, probes: Mapping[str, Probe] = PROBES, waves: Sequence[frozenset[str]] = WAVES
) -> list[ProbeResult]:
    """One result per service in SERVICE_NAMES order (plus any extra probes given). Each of `waves` in turn
    runs its probes at once, the next starting when they are done or after WAVE_S; then every other probe at
    once (see jobs.probes.WAVES).
    A probe still running at the deadline, or one that raised, is `down`; a service without a probe is
    `not_configured`."""
    timeout_s = settings.probe_timeout_s
    prepare(settings)  # CPU-bound set-up first: none of it may run while a probe's timer does
    # The worker runs one cycle at a time; two overlapping calls in one process would restore each other's value.
    usual = sys.getswitchinterval()
    sys.setswitchinterval(PROBE_SWITCH_INTERVAL_S)
    try:
        futures: dict[str, Future[ProbeResult]] = {}
        for wave in waves:
            started = {s: _start(probe, settings, s) for s, probe in probes.items() if s in wave}
            futures.update(started)
            wait(started.values(), timeout=WAVE_S)
        futures.update({s: _start(probe, settings, s) for s, probe in probes.items() if s not in futures})
        wait(futures.values(), timeout=timeout_s + DEADLINE_GRACE_S)
    finally:
        sys.setswitchinterval(usual)
    results = []
    for service in [*SERVICE_NAMES, *(s for s in probes if s not in SERVICE_NAMES)]:
        future = futures.get(service)
        if future is None:
            error = settings.problems.get(service) or "no probe for this service is installed in this build"
            results.append(_result_by_cycle(service, settings, Status.NOT_CONFIGURED, error))
        elif not future.done():
            error = f"timed out after {timeout_s:g} s (the probe did not return)"
            results.append(_result_by_cycle(service, settings, Status.DOWN, error, timeout_s * 1000))
        elif future.exception() is not None:
            error = "probe crashed: " + one_line(future.exception(), *settings.secrets())
            results.append(_result_by_cycle(service, settings, Status.DOWN, error))
        else:
            results.append(future.result())
    return results


def _reason(settings: Settings, pg: PostgresSettings, exc: psycopg2.Error) -> str:
    """Why PostgreSQL failed, in one line without secrets."""
    return one_line(store.describe_error(str(exc), pg), *settings.secrets())


def _write(
    settings: Settings, pg: PostgresSettings, results: list[ProbeResult], slot: datetime, valkey: redis.Redis | None
) -> None:
    """Store this cycle after the cycles PostgreSQL missed, so rows arrive in slot order, then decide incidents
    on the same connections. Raises psycopg2.Error.

    1. Bring the schema up to date, once per process.
    2. With Valkey: store the cycles kept there, oldest first (one PostgreSQL refuses as data is set aside).
    3. If some are still pending, this cycle waits its turn behind them in Valkey: done.
    4. If Valkey failed meanwhile, the kept cycles stay there; go on.
    5. Store this cycle, and ping ALERT_HEARTBEAT_URL (bounded; a failure is logged).
    6. Decide incidents from the stored checks (a failure there is logged, and the cycle still stored)."""
    store.migrate_once(pg, settings.probe_timeout_s)
    conn = store.connect(pg, settings.probe_timeout_s)
    try:
        if valkey is not None:
            try:
                flushed = buffer.flush(
                    valkey,
                    lambda cycle, at: store.write_results(conn, cycle, at),
                    refused=(psycopg2.DataError, psycopg2.IntegrityError),
                )
                if flushed:
                    log.info("stored %d cycle(s) kept in Valkey while PostgreSQL was unreachable", flushed)
                if buffer.pending(valkey):
                    buffer.push(valkey, results, slot)
                    return
            except redis.RedisError as exc:
                log.warning("Valkey unreachable, pending cycles stay there: %s", one_line(exc, *settings.secrets()))
        store.write_results(conn, results, slot)
        heartbeat.ping(settings)
        after_stored(settings, results, conn, valkey)
    finally:
        conn.close()


def persist(settings: Settings, results: list[ProbeResult], slot: datetime) -> str | None:
    """Cache one cycle's results in Valkey for the web, store them for their slot and decide incidents.
    Returns None when stored (or queued behind older cycles), else why not (one line, no secret).

    1. If this cycle found Valkey working, cache the results there as the latest; a failure is only logged.
    2. Without PostgreSQL settings, nothing is stored: say why.
    3. Write the results and decide incidents (`_write`): stored.
    4. PostgreSQL failed and Valkey is not working: say why.
    5. Keep the results in Valkey, stored in order by a later cycle, and tell of PostgreSQL's own outage from
       the cycles kept there: say why, and how many cycles wait.
    6. Valkey could not keep them either: say both."""
    valkey = buffer.client_unless_failing(settings.valkey, settings.probe_timeout_s, results)
    try:
        if valkey is not None:
            try:
                buffer.cache_latest(valkey, results, LATEST_TTL_INTERVALS * settings.probe_interval_s)
            except redis.RedisError as exc:
                log.warning("could not cache the latest results in Valkey: %s", one_line(exc, *settings.secrets()))
        pg = settings.postgres
        if pg is None:
            return settings.problems.get("postgres") or "PostgreSQL is not configured"
        try:
            _write(settings, pg, results, slot, valkey)
            return None
        except psycopg2.Error as exc:
            reason = _reason(settings, pg, exc)
        if valkey is None:
            return reason
        try:
            buffer.push(valkey, results, slot)
            after_not_stored(settings, valkey)
            return f"{reason}; kept in Valkey until PostgreSQL returns ({buffer.pending(valkey)} cycle(s) pending)"
        except redis.RedisError as exc:
            return f"{reason}; Valkey could not keep them either: {one_line(exc, *settings.secrets())}"
    finally:
        if valkey is not None:
            valkey.close()


def _migrate_before_probing(settings: Settings) -> None:
    """The PostgreSQL probe writes to a table a migration creates, so a fresh database gets it first. After
    one failure the cycles of this process no longer try before probing, so a PostgreSQL that hangs does not
    lengthen every cycle (`_write` still migrates before it stores)."""
    if settings.postgres is None:
        return
    try:
        store.migrate_once(settings.postgres, settings.probe_timeout_s, retry_s=math.inf)
    except psycopg2.Error as exc:
        log.warning("could not migrate before probing: %s", _reason(settings, settings.postgres, exc))


def probe_and_store(settings: Settings, slot: datetime) -> tuple[list[ProbeResult], str | None]:
    """The cycle: probe every service (`run_probes`), cache the results for the web, store them (or keep them in
    Valkey until PostgreSQL takes them) and decide incidents (`persist`). Returns the results and why they
    were not stored (None when they were)."""
    _migrate_before_probing(settings)
    results = run_probes(settings)
    not_stored = persist(settings, results, slot)
    log.info("slot %s: %s", slot.isoformat(), " ".join(f"{r.service}={r.status.value}" for r in results))
    if not_stored:
        log.warning("results of slot %s not stored: %s", slot.isoformat(), not_stored)
    return results, not_stored


class WrongLocation(RuntimeError):
    """A cycle of another location reached this worker: it is refused, not probed from the wrong place."""


def run_cycle(slot: datetime | None = None, location: str | None = None) -> dict[str, Any]:
    """The RQ job, for `location` (this worker's PROBE_LOCATION when None). Returns a small summary, which RQ
    keeps in Valkey as the job's result, so it holds no secret and no error message."""
    settings = load()
    if location is not None and location != settings.location:
        raise WrongLocation(f"a cycle of location {location!r} reached a worker in {settings.location!r}")
    slot = slot or scheduled_slot(settings.probe_interval_s)
    results, not_stored = probe_and_store(settings, slot)
    return {
        "slot": slot.isoformat(),
        "location": settings.location,
        "stored": not_stored is None,
        "statuses": {r.service: r.status.value for r in results},
    }
