"""Incidents: reading the checks the alerting rule looks at, and opening, escalating and resolving incidents
with conditional statements, so that of two workers deciding the same cycle exactly one changes each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg2.extensions import cursor as Cursor

from jobs.result import Status
from jobs.store.db import Connection


@dataclass(frozen=True)
class Check:
    """One stored check, as the rule and an incident's start need it."""

    status: Status
    checked_at: datetime
    error: str | None


@dataclass(frozen=True)
class Incident:
    id: int
    service: str
    location: str
    level: str
    started_at: datetime
    ended_at: datetime | None
    first_error: str | None
    worst_status: str
    checks_failed: int
    root_cause: str | None
    in_maintenance: bool = False  # open at some decision inside a maintenance window or a silence

    @property
    def duration(self) -> timedelta | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


_SELECT = (
    "SELECT id, service, location, level, started_at, ended_at, first_error, worst_status, checks_failed,"
    " root_cause, in_maintenance FROM incidents"
)


def _incident(row: tuple[Any, ...]) -> Incident:
    """The Incident of a row of its columns in field order."""
    values = list(row)
    values[4] = values[4].astimezone(UTC)
    values[5] = values[5].astimezone(UTC) if values[5] is not None else None
    return Incident(*values)


def recent_checks(cur: Cursor, location: str, services: list[str], limit: int) -> dict[str, list[Check]]:
    """Each service's newest `limit` checks at `location` that the rule counts (not `not_configured`), newest
    first, since its last incident ended: the failures an incident was opened for do not open another. Services
    without such checks have an empty list."""
    cur.execute(
        "SELECT s.service, c.status, c.checked_at, c.error FROM unnest(%s::text[]) AS s(service)"
        " CROSS JOIN LATERAL (SELECT status, checked_at, error FROM probe_results p"
        "  WHERE p.service = s.service AND p.location = %s AND p.status <> 'not_configured'"
        "  AND p.checked_at >= coalesce((SELECT max(i.ended_at) FROM incidents i"
        "   WHERE i.service = s.service AND i.location = %s), '-infinity')"
        "  ORDER BY p.checked_at DESC LIMIT %s) c"
        " ORDER BY s.service, c.checked_at DESC",
        (services, location, location, limit),
    )
    checks: dict[str, list[Check]] = {service: [] for service in services}
    for service, status, checked_at, error in cur.fetchall():
        checks[service].append(Check(Status(status), checked_at.astimezone(UTC), error))
    return checks


def open_incidents(cur: Cursor, location: str) -> dict[str, Incident]:
    """The open incidents at `location`, by service."""
    cur.execute(
        _SELECT + " WHERE ended_at IS NULL AND location = %s",
        (location,),
    )
    return {i.service: i for i in map(_incident, cur.fetchall())}


def open_elsewhere(cur: Cursor, location: str, services: list[str], locations: Sequence[str]) -> dict[str, list[str]]:
    """Per service, the levels of its open incidents at the other `locations` than `location` (services with
    none are left out)."""
    cur.execute(
        "SELECT service, level FROM incidents WHERE ended_at IS NULL AND service = ANY(%s)"
        " AND location = ANY(%s) AND location <> %s",
        (services, list(locations), location),
    )
    levels: dict[str, list[str]] = {}
    for service, level in cur.fetchall():
        levels.setdefault(service, []).append(level)
    return levels


def open_incident(
    cur: Cursor,
    service: str,
    location: str,
    level: str,
    started_at: datetime,
    first_error: str | None,
    root_cause: str | None,
    *,
    held: bool = False,
    told_at: datetime | None = None,
) -> int | None:
    """Open an incident unless one is open for (service, location): its id when this call opened it. `held`:
    opened inside a maintenance window or silence, its firing waits; `told_at`: when its firing was queued."""
    cur.execute(
        "INSERT INTO incidents (service, location, level, started_at, first_error, worst_status, root_cause,"
        " in_maintenance, firing_held, told_at) VALUES (%s, %s, %s, %s, %s, 'degraded', %s, %s, %s, %s)"
        " ON CONFLICT (service, location) WHERE ended_at IS NULL DO NOTHING RETURNING id",
        (service, location, level, started_at, first_error, root_cause, held, held, told_at),
    )
    row = cur.fetchone()
    return None if row is None else int(row[0])


def escalate_incident(cur: Cursor, incident_id: int, level: str) -> bool:
    """Raise an open incident's level; True when this call did."""
    cur.execute(
        "UPDATE incidents SET level = %s WHERE id = %s AND ended_at IS NULL AND level <> %s",
        (level, incident_id, level),
    )
    return cur.rowcount == 1


def resolve_incident(cur: Cursor, incident_id: int, ended_at: datetime) -> bool:
    """End an open incident at `ended_at`; True when this call ended it (False: already ended)."""
    cur.execute("UPDATE incidents SET ended_at = %s WHERE id = %s AND ended_at IS NULL", (ended_at, incident_id))
    return cur.rowcount == 1


def hold_firing(cur: Cursor, incident_ids: list[int]) -> None:
    """Mark open incidents as inside a maintenance window or silence, their (escalation's) firing owed."""
    cur.execute(
        "UPDATE incidents SET in_maintenance = true, firing_held = true WHERE id = ANY(%s) AND ended_at IS NULL",
        (incident_ids,),
    )


def mark_in_maintenance(cur: Cursor, incident_ids: list[int]) -> None:
    """Mark open incidents as having been open inside a maintenance window or silence."""
    cur.execute(
        "UPDATE incidents SET in_maintenance = true WHERE id = ANY(%s) AND ended_at IS NULL AND NOT in_maintenance",
        (incident_ids,),
    )


def release_held(cur: Cursor, incident_ids: list[int], now: datetime) -> list[int]:
    """Of these incidents, those still open whose firing was held, now told at `now`. Only the call that
    changes an incident gets its id, so of two workers one queues the firing."""
    cur.execute(
        "UPDATE incidents SET firing_held = false, told_at = %s"
        " WHERE id = ANY(%s) AND firing_held AND ended_at IS NULL RETURNING id",
        (now, incident_ids),
    )
    return sorted(int(row[0]) for row in cur.fetchall())


def due_reminders(cur: Cursor, incident_ids: list[int], told_before: datetime, now: datetime) -> list[int]:
    """Of these incidents, those open, not held and last told at or before `told_before`, now told at `now`
    (a conditional update, so of two workers one gets each)."""
    cur.execute(
        "UPDATE incidents SET told_at = %s WHERE id = ANY(%s) AND ended_at IS NULL AND NOT firing_held"
        " AND told_at <= %s RETURNING id",
        (now, incident_ids, told_before),
    )
    return sorted(int(row[0]) for row in cur.fetchall())


def set_worst_status(cur: Cursor, incident_id: int, worst_status: str) -> None:
    """Set an incident's worst status outright: for an incident not decided from checks (the monitor's own)."""
    cur.execute("UPDATE incidents SET worst_status = %s WHERE id = %s", (worst_status, incident_id))


def count_failed_checks(cur: Cursor, incident_ids: list[int]) -> None:
    """Set each incident's failed checks and worst status from the stored checks of its span (idempotent, so
    any number of workers may run it)."""
    cur.execute(
        "UPDATE incidents i SET (checks_failed, worst_status) = ("
        " SELECT count(*), CASE WHEN bool_or(p.status = 'down') THEN 'down' ELSE 'degraded' END"
        " FROM probe_results p WHERE p.service = i.service AND p.location = i.location"
        " AND p.checked_at >= i.started_at AND p.checked_at <= coalesce(i.ended_at, 'infinity')"
        " AND p.status IN ('down', 'degraded'))"
        " WHERE i.id = ANY(%s)",
        (incident_ids,),
    )


def incidents(conn: Connection, ids: list[int]) -> list[Incident]:
    """The incidents with these ids, oldest first."""
    with conn.cursor() as cur:
        cur.execute(
            _SELECT + " WHERE id = ANY(%s) ORDER BY started_at, id",
            (ids,),
        )
        return [_incident(row) for row in cur.fetchall()]


def incident_history(
    conn: Connection, service: str | None, since: datetime, limit: int, location: str | None = None
) -> list[Incident]:
    """Incidents open at or after `since` (of one service, or all; at one location, or any), newest first, at
    most `limit`."""
    with conn.cursor() as cur:
        cur.execute(
            _SELECT + " WHERE (%s::text IS NULL OR service = %s) AND (%s::text IS NULL OR location = %s)"
            " AND (ended_at IS NULL OR ended_at >= %s) ORDER BY started_at DESC, id DESC LIMIT %s",
            (service, service, location, location, since, limit),
        )
        return [_incident(row) for row in cur.fetchall()]


def open_incident_counts(conn: Connection) -> dict[str, int]:
    """Open incidents per service (every location); services without one are absent."""
    with conn.cursor() as cur:
        cur.execute("SELECT service, count(*) FROM incidents WHERE ended_at IS NULL GROUP BY service")
        return {service: int(n) for service, n in cur.fetchall()}
