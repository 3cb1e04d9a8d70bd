"""The web's only door to PostgreSQL and Valkey: bounded, pooled, read-only (plus migrations at start, the
audit log of operator actions, and the test notification an operator asks for, queued for the worker).

Every wait is bounded (connect, statement and TCP timeouts from settings), so a frozen database never holds a
page or API request for more than a few seconds. The web never runs probes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2
import redis
from rq import Worker
from rq.registry import FailedJobRegistry

from dashapp.brief_cache import BriefCache
from jobs import buffer, queueing, store
from jobs.defaults import (
    ALERT_JOB_RESULT_KEEP_S,
    BOARD_READ_S,
    MIGRATE_RETRY_S,
    SENDER_JOB_TIMEOUT_S,
    WEB_QUIET_S,
    WEB_READ_TIMEOUT_S,
    WEB_THREADS,
)
from jobs.result import SERVICE_NAMES, ProbeResult, one_line, utcnow
from jobs.settings import PostgresSettings, Settings
from jobs.tasks import ALERTS_QUEUE, QUEUE, probe_queue, send_test_notification

log = logging.getLogger(__name__)

# One connection per gunicorn thread (dashapp/gunicorn_conf.py): no request ever finds the pool empty, and
# a managed database's connection budget is easy to count (DEPLOY.md).
POOL_MAX = WEB_THREADS


class Unavailable(RuntimeError):
    """A dependency (PostgreSQL or Valkey) did not answer. One line, no secrets."""


@dataclass(frozen=True)
class WorkerHealth:
    workers: int
    queue_depth: int
    failed_jobs: int


class QuietPeriod:
    """After PostgreSQL sent nothing for a whole bound (frozen, or unreachable behind a firewall; not a slow
    query, which statement_timeout cancels), reads fail at once for `seconds` instead of each waiting again:
    requests keep flowing (the board from Valkey's cache) and a few threads serve them all."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # Until when (time.monotonic()) PostgreSQL is not asked, and why; one tuple, so that threads never see
        # one without the other.
        self._until: tuple[float, str] = (0.0, "")

    def begin(self, why: Unavailable) -> None:
        self._until = (time.monotonic() + self.seconds, f"{why} (asked again in {self.seconds:g} s)")

    def check(self) -> None:
        """Raises Unavailable during a quiet period."""
        until, why = self._until
        if time.monotonic() < until:
            raise Unavailable(why)


class Reader:
    """The web's reads: PostgreSQL through a `store.Pool` behind a `QuietPeriod`, the schema brought up to
    date through `store.migrate_once`; Valkey and RQ through one bounded client."""

    def __init__(self, settings: Settings, timeout_s: float = WEB_READ_TIMEOUT_S, quiet_s: float = WEB_QUIET_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._quiet = QuietPeriod(quiet_s)
        self._pool = store.Pool(settings.postgres, POOL_MAX, timeout_s) if settings.postgres else None
        self._valkey: redis.Redis | None = None
        self._lock = threading.Lock()  # guards creating the Valkey client (no network I/O under it)
        # Long ranges' settled history points (store.history_json), kept for this process's life; a few
        # hundred short JSON texts per service and bucket width. Threads may fill an entry twice, harmlessly.
        self._settled: dict[store.SettledKey, store.SettledJson] = {}
        self._board = BriefCache(self._read_board, BOARD_READ_S)
        self._by_location = BriefCache(self._read_by_location, BOARD_READ_S)

    # -- PostgreSQL ----------------------------------------------------------------------------------------

    def _unavailable(self, what: str, exc: BaseException) -> Unavailable:
        return Unavailable(f"{what}: {one_line(exc, *self.settings.secrets())}")

    def _postgres_failed(self, exc: psycopg2.Error) -> Unavailable:
        """Unavailable for `exc`; a server that sent nothing for the whole bound also starts a quiet period."""
        unavailable = self._unavailable("PostgreSQL", exc)
        if isinstance(exc, store.ServerSilent):
            self._quiet.begin(unavailable)
        return unavailable

    def _postgres(self) -> PostgresSettings:
        if self.settings.postgres is None:
            reason = self.settings.problems.get("postgres", "not configured (set DATABASE_URL)")
            raise Unavailable(f"PostgreSQL: {reason}")
        return self.settings.postgres

    def migrate(self, timeout_s: float | None = None, wait: bool = True, retry_s: float = 0.0) -> list[str]:
        """Apply pending migrations once per process (store.migrate_once). Raises Unavailable."""
        try:
            return store.migrate_once(self._postgres(), timeout_s or self.timeout_s, wait=wait, retry_s=retry_s)
        except psycopg2.Error as exc:
            raise self._postgres_failed(exc) from None

    def _migrate_lazily(self) -> None:
        """The database was down when the web started: a later contact migrates. One thread tries at a time,
        no other waits for it, and after a failure the next try is MIGRATE_RETRY_S later, so requests do not
        each pay for an attempt that keeps failing."""
        try:
            self.migrate(wait=False, retry_s=MIGRATE_RETRY_S)
        except Exception as exc:  # a failed migration must never fail a read; it is logged and retried later
            log.warning("migrations deferred %g s: %s", MIGRATE_RETRY_S, one_line(exc, *self.settings.secrets()))

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A pooled connection (store.Pool) in autocommit mode. After the server sent nothing for a whole
        bound, reads fail at once for the quiet period."""
        self._postgres()
        self._quiet.check()  # before migrating too: a quiet period never waits on PostgreSQL
        self._migrate_lazily()
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg2.Error as exc:
            raise self._postgres_failed(exc) from None

    def recent(self, service: str, limit: int = 60) -> list[ProbeResult]:
        with self.connection() as conn:
            return store.recent_results(conn, service, limit=limit)

    def history(
        self, service: str, start: datetime, end: datetime, max_points: int, location: str | None = None
    ) -> list:
        with self.connection() as conn:
            return store.history(conn, service, start, end, max_points=max_points, location=location)

    def history_json(
        self, service: str, start: datetime, end: datetime, max_points: int, location: str | None = None
    ) -> str:
        with self.connection() as conn:
            return store.history_json(
                conn, service, start, end, max_points=max_points, settled=self._settled, location=location
            )

    def board(self) -> tuple[dict[str, ProbeResult], dict[str, float | None]]:
        """Every service's newest result and 24 h uptime, read at most once per BOARD_READ_S however many
        requests ask: the page, the API, /metrics and the status page all start from this."""
        return self._board.get()

    def _read_board(self) -> tuple[dict[str, ProbeResult], dict[str, float | None]]:
        now = utcnow()
        with self.connection() as conn:
            return store.latest_and_uptimes(conn, list(SERVICE_NAMES), now - store.DAY, now)

    def board_by_location(
        self,
    ) -> tuple[dict[tuple[str, str], ProbeResult], dict[tuple[str, str], tuple[int, int]]]:
        """Every service's newest result and (up, all) checks over 24 h at each of PROBE_LOCATIONS, keyed by
        (service, location), read at most once per BOARD_READ_S: `board` for several locations."""
        return self._by_location.get()

    def _read_by_location(
        self,
    ) -> tuple[dict[tuple[str, str], ProbeResult], dict[tuple[str, str], tuple[int, int]]]:
        now = utcnow()
        with self.connection() as conn:
            return store.latest_and_checks_by_location(
                conn, list(SERVICE_NAMES), list(self.settings.locations), now - store.DAY, now
            )

    def uptimes(self, services: list[str], start: datetime, end: datetime) -> dict[str, float | None]:
        with self.connection() as conn:
            return store.uptimes(conn, services, start, end)

    def failed_check_counts(self) -> dict[str, int]:
        with self.connection() as conn:
            return store.failed_check_counts(conn)

    def incident_history(
        self, service: str | None, since: datetime, limit: int, location: str | None = None
    ) -> list[store.Incident]:
        with self.connection() as conn:
            return store.incident_history(conn, service, since, limit, location)

    def alert_counts(self) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
        """Open incidents per service, and (sent, failed) notification attempts per masked channel."""
        with self.connection() as conn:
            return store.open_incident_counts(conn), store.attempt_counts(conn)

    def delivery_log(self, limit: int) -> list[store.LoggedAttempt]:
        with self.connection() as conn:
            return store.recent_attempts(conn, limit)

    def last_cycle_at(self) -> datetime | None:
        with self.connection() as conn:
            return store.last_cycle_at(conn)

    def add_audit_entry(self, at: datetime, actor: str, action: str, detail: str) -> None:
        with self.connection() as conn:
            store.add_audit_entry(conn, at, actor, action, detail)

    def audit_entries(self, limit: int, action: str | None = None) -> list[store.AuditEntry]:
        with self.connection() as conn:
            return store.audit_entries(conn, limit, action)

    def check_postgres(self) -> None:
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")

    # -- Valkey / RQ ---------------------------------------------------------------------------------------

    def _redis(self) -> redis.Redis:
        with self._lock:
            if self._valkey is None:
                vk = self.settings.valkey
                if vk is None:
                    reason = self.settings.problems.get("valkey", "not configured (set VALKEY_URL)")
                    raise Unavailable(f"Valkey: {reason}")
                # RQ's reads below share this client, so they are bounded the same way.
                self._valkey = buffer.client(vk, self.timeout_s)
            return self._valkey

    def check_valkey(self) -> None:
        try:
            self._redis().ping()
        except redis.RedisError as exc:
            raise self._unavailable("Valkey", exc) from None

    def cached_latest(self) -> dict[str, ProbeResult]:
        """The worker's latest results as cached in Valkey; Unavailable when unreachable or expired."""
        return self._cached(buffer.cached_latest)

    def cached_latest_by_location(self) -> dict[tuple[str, str], ProbeResult]:
        """The workers' latest results per (service, location) as cached in Valkey; Unavailable likewise."""
        return self._cached(buffer.cached_latest_by_location)

    def _cached(self, read: Callable[[redis.Redis], dict[Any, ProbeResult]]) -> dict[Any, ProbeResult]:
        try:
            latest = read(self._redis())
        except redis.RedisError as exc:
            raise self._unavailable("Valkey", exc) from None
        if not latest:
            raise Unavailable("Valkey: no recent results cached (the worker has not reported for a while)")
        return latest

    def worker_health(self) -> WorkerHealth:
        """From RQ's own bookkeeping in Valkey (read only: no registry cleanup from the web), over every
        location's probe queue and `probes`."""
        try:
            connection = self._redis()
            queues = [queueing.queue(name, connection) for name in (*map(probe_queue, self.settings.locations), QUEUE)]
            return WorkerHealth(
                workers=Worker.count(connection=connection),
                queue_depth=sum(queue.count for queue in queues),
                failed_jobs=sum(FailedJobRegistry(queue=queue).get_job_count(cleanup=False) for queue in queues),
            )
        except redis.RedisError as exc:
            raise self._unavailable("Valkey", exc) from None

    def enqueue_test_notification(self) -> None:
        """Queue the worker's test notification job (jobs.tasks.send_test_notification) on `alerts`."""
        try:
            queueing.queue(ALERTS_QUEUE, self._redis()).enqueue(
                send_test_notification, job_timeout=SENDER_JOB_TIMEOUT_S, result_ttl=ALERT_JOB_RESULT_KEEP_S
            )
        except redis.RedisError as exc:
            raise self._unavailable("Valkey", exc) from None

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
            if self._valkey is not None:
                self._valkey.close()
                self._valkey = None
