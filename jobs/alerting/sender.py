"""The sender: the RQ job on the `alerts` queue that delivers what the outbox holds. Each delivery is claimed
in its own transaction (FOR UPDATE SKIP LOCKED), sent, and its attempt recorded before the commit, so two
senders never send one delivery at once; a failure is tried again with a doubling wait for up to a day."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg2

from jobs import defaults, store
from jobs.alerting import channels as channels_
from jobs.alerting import messages
from jobs.alerting.channels import Channel
from jobs.result import one_line, utcnow
from jobs.settings import load

log = logging.getLogger(__name__)


def retry_delay(failures: int) -> timedelta:
    """The wait after a delivery's `failures`-th failed attempt."""
    first, most = defaults.ALERT_RETRY_FIRST_S, defaults.ALERT_RETRY_MAX_S
    return timedelta(seconds=min(most, first * 2 ** min(failures - 1, 30)))


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0


def _outcome(delivery: store.Delivery, error: str | None, now: datetime) -> tuple[str, datetime | None]:
    """The attempt's outcome and, for a failure, when to try again."""
    if error is None:
        return "sent", None
    if now - delivery.created_at >= defaults.ALERT_GIVE_UP_AFTER:
        return "gave_up", None
    return "failed", now + retry_delay(delivery.attempts + 1)


def _send(conn: store.Connection, channel: Channel, delivery: store.Delivery) -> str | None:
    """Send a delivery's message (one per incident to a channel that takes one dedup key per event); None when
    all went, else the first error. A retry sends them all again: the channel's dedup key makes that safe."""
    if delivery.kind == "certificate" and delivery.certificate_warning_id is not None:
        warning = store.certificate_warning(conn, delivery.certificate_warning_id)
        title, body, kind = messages.certificate(warning)
        return channels_.send(channel, title, body, kind, [messages.certificate_key(warning)])
    if delivery.kind == "test":
        title, body, kind = messages.test()
        return channels_.send(channel, title, body, kind, [f"{messages.DEDUP_PREFIX}:test:{delivery.id}"])
    incidents = store.incidents(conn, delivery.incident_ids)
    groups = [[i] for i in incidents] if channel.one_per_incident else [incidents]
    for group in groups:
        title, body, kind = messages.COMPOSE[delivery.kind](group, delivery.created_at)
        error = channels_.send(channel, title, body, kind, [messages.dedup_key(i) for i in group])
        if error is not None:
            return error
    return None


def send_due(
    conn: store.Connection,
    channels: list[Channel],
    clock: Callable[[], datetime] = utcnow,
    budget_s: float = defaults.ALERT_SENDER_BUDGET_S,
) -> Sent:
    """Send every delivery due now, one at a time, until none is due or `budget_s` is spent. Raises
    psycopg2.Error (the delivery being sent then stays pending, and is sent again: at least once)."""
    by_key = {c.key: c for c in channels}
    done = Sent()
    started = time.monotonic()
    while time.monotonic() - started < budget_s:
        with store.transaction(conn) as cur:
            delivery = store.claim(cur, clock())
            if delivery is None:
                return done
            channel = by_key.get(delivery.channel_key)
            if channel is None:
                error = "this channel is no longer in ALERT_URLS"
                store.record_attempt(cur, delivery, clock(), "gave_up", error, None)
                done.gave_up += 1
                continue
            error = _send(conn, channel, delivery)
            now = clock()
            outcome, retry_at = _outcome(delivery, error, now)
            store.record_attempt(cur, delivery, now, outcome, error, retry_at)
        if outcome == "sent":
            done.sent += 1
        else:
            log.warning("%s to %s %s: %s", delivery.kind, delivery.channel, outcome.replace("_", " "), error)
            done.failed += outcome == "failed"
            done.gave_up += outcome == "gave_up"
    return done


def run_test() -> dict[str, Any]:
    """The RQ job an operator's "send a test notification" enqueues: a test delivery to every channel, added
    to the outbox (so it is retried and logged like any other), then what is due sent."""
    settings = load()
    pg = settings.postgres
    channels, problems = channels_.load(settings.alerting)
    for problem in problems:
        log.error("%s", problem)
    if pg is None or not channels:
        return {"channels": 0}
    conn = store.connect(pg, settings.probe_timeout_s)
    try:
        with store.transaction(conn) as cur:
            store.add_test(cur, [(c.key, c.masked) for c in channels], utcnow())
    finally:
        conn.close()
    return {"channels": len(channels), **run_sender()}


def run_sender() -> dict[str, Any]:
    """The RQ job: send what is due. Returns counts only (RQ keeps them in Valkey)."""
    settings = load()
    pg = settings.postgres
    if pg is None:
        return {"sent": 0, "failed": 0, "gave_up": 0}
    channels, problems = channels_.load(settings.alerting)
    for problem in problems:
        log.error("%s", problem)
    try:
        conn = store.connect(pg, settings.probe_timeout_s)
        try:
            done = send_due(conn, channels)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        log.warning("could not send alerts: %s", one_line(store.describe_error(str(exc), pg), *settings.secrets()))
        raise
    return {"sent": done.sent, "failed": done.failed, "gave_up": done.gave_up}
