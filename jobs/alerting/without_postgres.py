"""PostgreSQL's own outage, told while PostgreSQL is unreachable.

Incidents and the outbox live in PostgreSQL, so while it is away the usual path cannot tell of the outage that
matters most. The worker then applies the same rule to PostgreSQL's checks among the cycles kept in Valkey
(`jobs.buffer`) and, once it opens, enqueues `send_firing` on the `alerts` queue: it sends the firing to each
channel with Apprise and notes each channel told in Valkey (claimed with SET NX, so two workers tell a channel
once; a channel that failed is tried again by the next cycle). When PostgreSQL returns, the kept cycles are
stored, the incident opens from them as usual, and `told_channels` lets that decision record its firing as
already sent to those channels: the resolved then goes out through the outbox like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis

from jobs import buffer, queueing
from jobs.alerting import channels as channels_
from jobs.alerting.rule import Level, failing_level
from jobs.defaults import ALERT_JOB_RESULT_KEEP_S, TELL_CLAIM_TTL_S, TELL_JOB_TIMEOUT_S
from jobs.result import SERVICE_NAMES, Status
from jobs.settings import Settings, load
from jobs.tasks import ALERTS_QUEUE, tell_postgres_down

log = logging.getLogger(__name__)

SERVICE = "postgres"
_TOLD_KEY = "hybrid-monitor:told-postgres-down:{location}"


def _told_key(location: str) -> str:
    return _TOLD_KEY.format(location=location)


def firing_text(location: str, since: datetime, error: str | None) -> tuple[str, str]:
    """(title, body) of the firing sent while PostgreSQL is unreachable."""
    name = f"{SERVICE_NAMES[SERVICE]} ({location})"
    body = f"{name} down since {since.strftime('%Y-%m-%d %H:%M:%S UTC')}"
    body += f"; first error: {error}" if error else ""
    body += "\nSent by the worker while PostgreSQL is unreachable; the incident is recorded when it returns."
    return f"FIRING: {name} down", body


def check_while_down(settings: Settings, valkey: redis.Redis) -> None:
    """After a cycle kept in Valkey: if PostgreSQL's kept checks open an incident by the rule, get the firing
    sent to every channel not yet told of it."""
    rule = settings.alerting
    if not rule.configured:
        return
    cycles = buffer.newest_pending(valkey, rule.open_window)
    checks = [r for results, _ in cycles for r in results if r.service == SERVICE]
    if failing_level([c.status for c in checks], rule) is not Level.CRITICAL:
        return
    first = next(c for c in reversed(checks[: rule.open_window]) if c.status is Status.DOWN)
    channels, _ = channels_.load(rule)
    told = valkey.hgetall(_told_key(settings.location))
    if all(c.key.encode() in told for c in channels):
        return
    queue = queueing.queue(ALERTS_QUEUE, valkey)
    queue.enqueue(
        tell_postgres_down,
        first.checked_at.isoformat(),
        first.error,
        job_timeout=TELL_JOB_TIMEOUT_S,
        result_ttl=ALERT_JOB_RESULT_KEEP_S,
    )


def send_firing(since: str, error: str | None) -> dict[str, int]:
    """The `alerts` queue's job: send the firing to each channel not yet told (RQ runs it with no PostgreSQL)."""
    settings = load()
    assert settings.valkey is not None  # it came through the queue
    valkey = buffer.client(settings.valkey, settings.probe_timeout_s)
    key = _told_key(settings.location)
    title, body = firing_text(settings.location, datetime.fromisoformat(since), error)
    channels, _ = channels_.load(settings.alerting)
    done = {"sent": 0, "failed": 0}
    try:
        for channel in channels:
            claim = f"{key}:sending:{channel.key}"
            if valkey.hexists(key, channel.key) or not valkey.set(claim, "1", nx=True, ex=TELL_CLAIM_TTL_S):
                continue
            # No incident id yet: PagerDuty-style channels get a key of this outage, which the resolved (sent
            # under the incident's own key once PostgreSQL records it) does not close.
            problem = channels_.send(channel, title, body, "failure", [f"{_told_key(settings.location)}:{since}"])
            if problem is None:
                valkey.hset(key, channel.key, since)
                done["sent"] += 1
            else:
                log.warning("could not tell %s that PostgreSQL is down: %s", channel.masked, problem)
                done["failed"] += 1
            valkey.delete(claim)
    finally:
        valkey.close()
    return done


def told_channels(valkey: redis.Redis, location: str) -> set[str]:
    """The channels told of PostgreSQL's outage while it was unreachable (their keys)."""
    return {k.decode() for k in valkey.hkeys(_told_key(location))}


def forget_told(valkey: redis.Redis, location: str) -> None:
    """Once a decision recorded the outage (or PostgreSQL holds no incident for it), the next outage starts
    with every channel to tell."""
    valkey.delete(_told_key(location))
