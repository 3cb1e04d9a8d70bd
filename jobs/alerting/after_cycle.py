"""The cycle's alerting step, once its results are stored: decide incidents from the stored checks (adding
their notifications to the outbox) and record the certificate expiry warnings due (likewise), then, when a
notification is due, enqueue the sender on the `alerts` queue, which its own worker serves, so sending never
delays a probe cycle. A failure is logged and never fails the cycle; the next stored cycle decides again from
the same checks, and enqueues the sender again while anything is due. A cycle PostgreSQL could not take
tells of PostgreSQL's own outage (`without_postgres`)."""

from __future__ import annotations

import logging

import psycopg2
import redis

from jobs import queueing, store
from jobs.alerting import channels as channels_
from jobs.alerting import without_postgres
from jobs.alerting.certificates import warn_expiring
from jobs.alerting.decide import decide_incidents
from jobs.defaults import ALERT_JOB_RESULT_KEEP_S, FAILED_JOB_KEEP_S, SENDER_JOB_TIMEOUT_S
from jobs.result import ProbeResult, one_line, utcnow
from jobs.settings import Settings
from jobs.tasks import ALERTS_QUEUE, send_alerts

log = logging.getLogger(__name__)


def after_stored(
    settings: Settings, results: list[ProbeResult], conn: store.Connection, valkey: redis.Redis | None
) -> None:
    """Decide the incidents of the services in `results`, a cycle just stored, and queue the certificate
    expiry warnings they call for, on the cycle's own connections (`valkey`: None when the cycle found Valkey
    failing), and get due notifications sent."""
    pg = settings.postgres
    if pg is None or not results:
        return
    channels, problems = channels_.load(settings.alerting)
    for problem in problems:
        log.error("%s", problem)
    try:
        told = without_postgres.told_channels(valkey, settings.location) if valkey and channels else set()
        decided = decide_incidents(
            conn,
            settings.location,
            results,
            settings.alerting,
            channels,
            told={without_postgres.SERVICE: told},
            locations=settings.locations,
        )
        # Warnings go to the channels that take Roles Anywhere's or warnings' messages; with none, a threshold
        # is not used up unsaid (it is told once a channel is set).
        targets = [(c.key, c.masked) for c in channels if c.wants({"roles_anywhere", "warning"})]
        warned = warn_expiring(conn, results, settings.alerting.cert_warn_at_days, targets) if targets else []
        due = store.next_due(conn)
        if told and valkey is not None:
            without_postgres.forget_told(valkey, settings.location)
    except psycopg2.Error as exc:
        reason = one_line(store.describe_error(str(exc), pg), *settings.secrets())
        log.warning("could not decide incidents: %s", reason)
        return
    except redis.RedisError as exc:
        log.warning("could not read what was told while PostgreSQL was down: %s", one_line(exc, *settings.secrets()))
        return
    if decided.opened or decided.escalated or decided.resolved or decided.held or decided.released:
        log.info(
            "incidents opened %s, escalated %s, resolved %s; firing held (quiet) %s, released %s",
            decided.opened,
            decided.escalated,
            decided.resolved,
            decided.held,
            decided.released,
        )
    if warned:
        log.info("certificate expiry warnings queued %s", warned)
    if due is not None and due <= utcnow() and valkey is not None:
        _enqueue_sender(settings, valkey)


def after_not_stored(settings: Settings, valkey: redis.Redis) -> None:
    """A cycle PostgreSQL could not take, kept in Valkey: its own outage is told from the cycles kept there."""
    if not settings.alerting.configured:
        return
    try:
        without_postgres.check_while_down(settings, valkey)
    except redis.RedisError as exc:
        log.warning("could not tell that PostgreSQL is down: %s", one_line(exc, *settings.secrets()))


def _enqueue_sender(settings: Settings, valkey: redis.Redis) -> None:
    """Put a sender job on the `alerts` queue, unless one is already waiting there."""
    try:
        queue = queueing.queue(ALERTS_QUEUE, valkey)
        if queue.count == 0:
            queue.enqueue(
                send_alerts,
                job_timeout=SENDER_JOB_TIMEOUT_S,
                result_ttl=ALERT_JOB_RESULT_KEEP_S,
                failure_ttl=FAILED_JOB_KEEP_S,
            )
    except redis.RedisError as exc:
        log.warning("could not enqueue the alert sender: %s", one_line(exc, *settings.secrets()))
