"""Silences: ad-hoc periods in which a service's (or every service's) firing waits, each with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg2.extensions import cursor as Cursor

from jobs.store.db import Connection


@dataclass(frozen=True)
class Silence:
    id: int
    service: str  # a service name, or "all"
    starts_at: datetime
    ends_at: datetime
    reason: str

    def covers(self, service: str, at: datetime) -> bool:
        return self.service in ("all", service) and self.starts_at <= at < self.ends_at


def _silence(row: tuple) -> Silence:
    id_, service, starts_at, ends_at, reason = row
    return Silence(int(id_), service, starts_at.astimezone(UTC), ends_at.astimezone(UTC), reason)


def add_silence(conn: Connection, service: str, starts_at: datetime, ends_at: datetime, reason: str) -> Silence:
    """Store a silence of `service` (or "all") from `starts_at` until `ends_at`."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO silences (service, starts_at, ends_at, reason, created_at) VALUES (%s, %s, %s, %s, %s)"
            " RETURNING id, service, starts_at, ends_at, reason",
            (service, starts_at, ends_at, reason, starts_at),
        )
        return _silence(cur.fetchone())


def active_silences(cur: Cursor, at: datetime) -> list[Silence]:
    """The silences not yet ended at `at` (those starting later included), soonest end first."""
    cur.execute(
        "SELECT id, service, starts_at, ends_at, reason FROM silences WHERE ends_at > %s ORDER BY ends_at, id", (at,)
    )
    return [_silence(row) for row in cur.fetchall()]


def remove_silence(conn: Connection, silence_id: int) -> bool:
    """Delete a silence; whether there was one with this id."""
    with conn.cursor() as cur:
        cur.execute("DELETE FROM silences WHERE id = %s", (silence_id,))
        return cur.rowcount == 1
