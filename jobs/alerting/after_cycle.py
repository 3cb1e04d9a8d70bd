"""The cycle's alerting step, once its results are stored: decide incidents from the stored checks (adding
their notifications to the outbox), then, when a notification is due, enqueue the sender on the `alerts`
queue, which its own worker serves, so sending never delays a probe cycle. A failure is logged and never
fails the cycle; the next stored cycle decides again from the same checks, and enqueues the sender again
while anything is due."""

from __future__ import annotations

import logging

import psycopg2
import redis
import rq

from jobs import buffer, store
from jobs.alerting import channels as channels_
from jobs.alerting.decide import decide_incidents
from jobs.defaults import ALERT_SENDER_BUDGET_S
from jobs.result import ProbeResult, one_line, utcnow
from jobs.settings import Settings
from jobs.tasks import ALERTS_QUEUE, send_alerts

log = logging.getLogger(__name__)


def after_stored(settings: Settings, results: list[ProbeResult]) -> None:
    """Decide the incidents of the services in `results`, a cycle just stored, and get due notifications
    sent."""
    pg = settings.postgres
    if pg is None or not results:
        return
    channels, problems = channels_.load(settings.alerting)
    for problem in problems:
        log.error("%s", problem)
    try:
        conn = store.connect(pg, settings.probe_timeout_s)
        try:
            decided = decide_incidents(conn, settings.location, results, settings.alerting, channels)
            due = store.next_due(conn)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        reason = one_line(store.describe_error(str(exc), pg.endpoint), *settings.secrets())
        log.warning("could not decide incidents: %s", reason)
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
    if due is not None and due <= utcnow():
        _enqueue_sender(settings)


def _enqueue_sender(settings: Settings) -> None:
    """Put a sender job on the `alerts` queue, unless one is already waiting there."""
    if settings.valkey is None:
        return
    client = buffer.client(settings.valkey, settings.probe_timeout_s)
    try:
        queue = rq.Queue(ALERTS_QUEUE, connection=client)
        if queue.count == 0:
            queue.enqueue(
                send_alerts,
                job_timeout=int(ALERT_SENDER_BUDGET_S) + 60,
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )
    except redis.RedisError as exc:
        log.warning("could not enqueue the alert sender: %s", one_line(exc, *settings.secrets()))
    finally:
        client.close()
