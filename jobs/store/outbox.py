"""The notification outbox: deliveries added with the incident changes they tell of, claimed by senders
(FOR UPDATE SKIP LOCKED, so two senders never hold the same one), and every attempt recorded."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg2.extensions import cursor as Cursor

from jobs.store.db import Connection


@dataclass(frozen=True)
class Delivery:
    id: int
    kind: str
    incident_ids: list[int]
    channel_key: str
    channel: str
    created_at: datetime
    attempts: int
    certificate_warning_id: int | None = None  # a `certificate` delivery's warning


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    attempted_at: datetime
    channel: str
    outcome: str
    error: str | None


@dataclass(frozen=True)
class LoggedAttempt:
    """One attempt as the delivery log shows it: the attempt, and what its delivery was about."""

    attempted_at: datetime
    kind: str
    channel: str
    outcome: str
    error: str | None
    delivery_id: int
    incident_ids: list[int]


def add_firing(
    cur: Cursor,
    incident_ids: Sequence[int],
    channels: Sequence[tuple[str, str]],
    now: datetime,
    sent: Collection[str] = (),
) -> None:
    """One firing delivery per channel ((key, masked URL)) telling of all `incident_ids`; those to the channels
    in `sent` (keys) are recorded as sent already, with their attempt."""
    if not incident_ids:
        return
    for key, masked in channels:
        told = key in sent
        cur.execute(
            "INSERT INTO alert_deliveries"
            " (kind, incident_ids, channel_key, channel, created_at, next_attempt_at, attempts, sent_at)"
            " VALUES ('firing', %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (list(incident_ids), key, masked, now, now, int(told), now if told else None),
        )
        if told:
            cur.execute(
                "INSERT INTO alert_attempts (delivery_id, attempted_at, channel, outcome) VALUES (%s, %s, %s, 'sent')",
                (cur.fetchone()[0], now, masked),
            )


def add_test(cur: Cursor, channels: Sequence[tuple[str, str]], now: datetime) -> None:
    """One test delivery per channel ((key, masked URL)), about no incident."""
    for key, masked in channels:
        cur.execute(
            "INSERT INTO alert_deliveries (kind, incident_ids, channel_key, channel, created_at, next_attempt_at)"
            " VALUES ('test', '{}', %s, %s, %s, %s)",
            (key, masked, now, now),
        )


def add_resolved(cur: Cursor, incident_ids: Sequence[int], now: datetime) -> None:
    """One resolved delivery per channel a firing of any of `incident_ids` was queued to, telling of those."""
    _add_following(cur, "resolved", incident_ids, now, sent_only=False)


def add_reminder(cur: Cursor, incident_ids: Sequence[int], now: datetime) -> None:
    """One reminder delivery per channel a firing of any of `incident_ids` was sent to, telling of those."""
    _add_following(cur, "reminder", incident_ids, now, sent_only=True)


def _add_following(cur: Cursor, kind: str, incident_ids: Sequence[int], now: datetime, sent_only: bool) -> None:
    """One `kind` delivery per channel a firing of any of `incident_ids` was queued (or `sent_only`: sent) to."""
    if not incident_ids:
        return
    cur.execute(
        "INSERT INTO alert_deliveries (kind, incident_ids, channel_key, channel, created_at, next_attempt_at)"
        " SELECT %s, array_agg(DISTINCT i ORDER BY i), d.channel_key, min(d.channel), %s, %s"
        " FROM alert_deliveries d CROSS JOIN unnest(d.incident_ids) AS i"
        " WHERE d.kind = 'firing' AND i = ANY(%s) AND (NOT %s OR d.sent_at IS NOT NULL) GROUP BY d.channel_key",
        (kind, now, now, list(incident_ids), sent_only),
    )


def add_certificate(cur: Cursor, warning_id: int, channels: Sequence[tuple[str, str]], now: datetime) -> None:
    """One certificate-expiry delivery per channel ((key, masked URL)) telling of warning `warning_id`."""
    for key, masked in channels:
        cur.execute(
            "INSERT INTO alert_deliveries (kind, incident_ids, certificate_warning_id, channel_key, channel,"
            " created_at, next_attempt_at) VALUES ('certificate', '{}', %s, %s, %s, %s, %s)",
            (warning_id, key, masked, now, now),
        )


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending delivery is due (None: nothing pending)."""
    with conn.cursor() as cur:
        cur.execute("SELECT min(next_attempt_at) FROM alert_deliveries WHERE sent_at IS NULL AND gave_up_at IS NULL")
        row = cur.fetchone()
    return None if row is None or row[0] is None else row[0].astimezone(UTC)


def claim(cur: Cursor, now: datetime) -> Delivery | None:
    """Lock the oldest due delivery no other sender holds, whose channel has no older one pending (a channel
    gets its messages in order: a resolved never overtakes its firing). None when there is none."""
    cur.execute(
        "SELECT id, kind, incident_ids, channel_key, channel, created_at, attempts, certificate_warning_id"
        " FROM alert_deliveries d"
        " WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= %s"
        " AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.channel_key = d.channel_key AND e.id < d.id"
        "  AND e.sent_at IS NULL AND e.gave_up_at IS NULL)"
        " ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        (now,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    id_, kind, ids, key, channel, created_at, attempts, warning_id = row
    return Delivery(id_, kind, list(ids), key, channel, created_at.astimezone(UTC), attempts, warning_id)


def record_attempt(
    cur: Cursor, delivery: Delivery, at: datetime, outcome: str, error: str | None, retry_at: datetime | None
) -> None:
    """Record one attempt: `sent`, `failed` (tried again at `retry_at`) or `gave_up`."""
    cur.execute(
        "INSERT INTO alert_attempts (delivery_id, attempted_at, channel, outcome, error) VALUES (%s, %s, %s, %s, %s)",
        (delivery.id, at, delivery.channel, outcome, error),
    )
    cur.execute(
        "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = %s,"
        " sent_at = CASE WHEN %s = 'sent' THEN %s END, gave_up_at = CASE WHEN %s = 'gave_up' THEN %s END,"
        " next_attempt_at = coalesce(%s, next_attempt_at) WHERE id = %s",
        (error, outcome, at, outcome, at, retry_at, delivery.id),
    )


def attempts(conn: Connection) -> list[Attempt]:
    """Every recorded attempt, oldest first."""
    with conn.cursor() as cur:
        cur.execute("SELECT delivery_id, attempted_at, channel, outcome, error FROM alert_attempts ORDER BY id")
        return [Attempt(d, at.astimezone(UTC), ch, out, err) for d, at, ch, out, err in cur.fetchall()]


def recent_attempts(conn: Connection, limit: int) -> list[LoggedAttempt]:
    """The newest `limit` attempts, newest first, with their deliveries' kind and incidents."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.attempted_at, d.kind, a.channel, a.outcome, a.error, a.delivery_id, d.incident_ids"
            " FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id ORDER BY a.id DESC LIMIT %s",
            (limit,),
        )
        return [
            LoggedAttempt(at.astimezone(UTC), kind, channel, outcome, error, delivery, list(ids))
            for at, kind, channel, outcome, error, delivery, ids in cur.fetchall()
        ]


def attempt_counts(conn: Connection) -> dict[str, tuple[int, int]]:
    """(sent, failed) attempts per channel (masked URL) since the outbox began; they never decrease (attempts
    are kept), so Prometheus can use them as counters. A given-up attempt counts as failed."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT channel, count(*) FILTER (WHERE outcome = 'sent'), count(*) FILTER (WHERE outcome <> 'sent')"
            " FROM alert_attempts GROUP BY channel"
        )
        return {channel: (int(sent), int(failed)) for channel, sent, failed in cur.fetchall()}
