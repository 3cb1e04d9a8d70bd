"""Deciding incidents after a cycle is stored: the rule (`rule.decide`) on each service's recent stored
checks, applied with conditional statements in one transaction with the notifications they call for (the
outbox), so any number of workers may decide the same cycle and each incident still opens, resolves and is
told of once. A firing goes to the channels whose tags want the incident (`Channel.wants`).

A quiet service (a maintenance window or silence, `quiet`) has its incidents recorded and marked and its
firing held; the first decision after the quiet ends queues it if the incident is still open. An incident
whose firing was sent is reminded of every `reminder_s` while it stays open and is not quiet.

Each location decides its own incidents; the others' open incidents of a service (among `locations`) are
counted so that one failing from fewer than the rule's `failing_locations` opens `partial`. An incident raised
to a level another location's incident of the service holds already (or a higher one) is not told again: the
outage was told at that level by the location that reached it first. Those decisions take one lock in turn,
so two locations deciding at once still see each other's incidents."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobs import store
from jobs.alerting.channels import Channel
from jobs.alerting.quiet import quiet_services
from jobs.alerting.rule import FAILS_AT, Action, Level, decide, failing_level, root_cause
from jobs.result import ProbeResult, utcnow
from jobs.settings import AlertSettings
from jobs.store.db import DECIDE_LOCK_KEY
from jobs.store.incidents import Check

_RANK = {Level.PARTIAL: 0, Level.WARNING: 1, Level.CRITICAL: 2}


@dataclass
class Decided:
    """The incidents this call changed (ids); another worker's changes are not in it."""

    opened: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)  # opened or escalated while quiet: firing waits
    released: list[int] = field(default_factory=list)  # held firings queued now
    reminded: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)  # raised to a level another location's incident holds


def _first_failure(recent: list[Check], level: Level, window: int) -> Check:
    """The oldest check in the rule's window that failed at `level`: where the incident starts."""
    return [c for c in recent[:window] if c.status in FAILS_AT[level]][-1]


def decide_incidents(
    conn: store.Connection,
    location: str,
    results: list[ProbeResult],
    rule: AlertSettings,
    channels: Sequence[Channel] = (),
    now: datetime | None = None,
    told: Mapping[str, Collection[str]] | None = None,
    locations: Sequence[str] = (),
) -> Decided:
    """Open, escalate and resolve the incidents of the services in `results` (a stored cycle at `location`)
    from their stored checks, and in the same transaction add to the outbox one firing per channel (with
    those of the incidents the channel wants) for those opened or escalated (unless quiet at `now`) or released
    from a quiet, one reminder per channel for those due one, and one resolved per channel a firing of those
    resolved went to. `told`: per service, the channels (keys) told of its incident already by another path
    (PostgreSQL's own outage, told while it was unreachable): an incident of it opened now is recorded as sent
    to them. `locations`: every probing location, whose open incidents count towards `failing_locations`.
    Raises psycopg2.Error; then nothing changed."""
    now = now or utcnow()
    services = [r.service for r in results]
    limit = max(rule.open_window, rule.resolve_checks)
    latest = {r.service: r.status for r in results}
    decided = Decided()
    opened_for: dict[str, int] = {}
    with store.transaction(conn) as cur:
        elsewhere: dict[str, list[str]] = {}
        if rule.failing_locations > 1:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DECIDE_LOCK_KEY,))
            elsewhere = store.open_elsewhere(cur, location, services, locations)
        # Open incidents first, then the checks since each service's last one ended: an incident another
        # worker resolves in between is then either still open here (resolving it again changes nothing) or
        # ended before the checks are read (so its failures cannot open another).
        current = store.open_incidents(cur, location)
        checks = store.recent_checks(cur, location, services, limit)
        quiet = quiet_services(services, now, rule.windows, store.active_silences(cur, now))
        tags = {i.id: {i.service, i.level} for i in current.values()}  # what tagged channels are matched on
        for service, recent in checks.items():
            incident = current.get(service)
            level = Level(incident.level) if incident else None
            others = elsewhere.get(service, [])
            change = decide([c.status for c in recent], level, rule, len(others))
            if change is None:
                continue
            if change.action is Action.OPEN:
                # A partial starts where its rule's own level does.
                at_level = failing_level([c.status for c in recent], rule) or change.level
                first = _first_failure(recent, at_level, rule.open_window)
                cause = root_cause(service, first.error or recent[0].error, latest)
                held = service in quiet
                opened = store.open_incident(
                    cur,
                    service,
                    location,
                    change.level,
                    first.checked_at,
                    first.error,
                    cause,
                    held=held,
                    told_at=None if held else now,
                )
                if opened is not None:
                    tags[opened] = {service, change.level}
                    (decided.held if held else decided.opened).append(opened)
                    opened_for[service] = opened
            elif incident is None:
                continue
            elif change.action is Action.ESCALATE:
                if store.escalate_incident(cur, incident.id, change.level):
                    tags[incident.id] = {service, change.level}
                    if any(_RANK[Level(other)] >= _RANK[change.level] for other in others):
                        decided.joined.append(incident.id)
                    else:
                        (decided.held if service in quiet else decided.escalated).append(incident.id)
            elif store.resolve_incident(cur, incident.id, recent[rule.resolve_checks - 1].checked_at):
                decided.resolved.append(incident.id)
        store.hold_firing(cur, decided.held)
        store.release_held(cur, decided.joined, now)  # told by another location: no firing owed for it
        store.mark_in_maintenance(cur, [i.id for s, i in current.items() if s in quiet])
        loud = [i.id for s, i in current.items() if s in services and s not in quiet]
        decided.released = store.release_held(cur, loud, now)
        if rule.reminder_s > 0:
            decided.reminded = store.due_reminders(cur, loud, now - timedelta(seconds=rule.reminder_s), now)
        # Only this cycle's services: an incident of another kind (the monitor's own) has no checks to count.
        counted = [i.id for service, i in current.items() if service in checks]
        store.count_failed_checks(cur, counted + decided.opened + decided.held)
        told_of = {i: (told or {}).get(s, ()) for s, i in opened_for.items()}
        # An incident released and escalated by one decision gets one firing.
        firing = sorted({*decided.opened, *decided.escalated, *decided.released})
        for channel in channels:
            wanted = [i for i in firing if channel.wants(tags[i])]
            already = [i for i in wanted if channel.key in told_of.get(i, ())]
            store.add_firing(cur, already, [(channel.key, channel.masked)], now, sent={channel.key})
            store.add_firing(cur, [i for i in wanted if i not in already], [(channel.key, channel.masked)], now)
        store.add_reminder(cur, decided.reminded, now)
        store.add_resolved(cur, decided.resolved, now)
    return decided
