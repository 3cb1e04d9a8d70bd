"""The PostgreSQL store: every read and write of the time series of probe results, in one place.

Functions take a connection from `connect` (or a `Pool`), autocommit on, and return plain values, so the
worker, the web and the CLI share them. `from jobs import store`, then:

Connecting (db.py, pool.py, schema.py)
- connect(pg, timeout_s): a connection whose every wait on the server is bounded by timeout_s (Connection).
- connect_kwargs(pg, timeout_s): the psycopg2.connect() arguments behind it (for a probe's own connection).
- Pool(pg, size, timeout_s).connection(): the web's pooled connections; PoolBusy when all stay in use.
- describe_error(message, pg): a driver error as one actionable line.
- transaction(conn): a cursor in one transaction (committed at the end of the block, rolled back on error).
- ServerSilent: the error of a server that sent nothing for a whole bound (frozen, or firewalled).
- migrate(conn, web_role=None): apply the migrations not yet applied, grant the web's role its rights; their names.
- migrate_once(pg, timeout_s, wait=, retry_s=): `migrate` once per process and database.
- migration_files(): (version, path) of every migration, in order.

Results (results.py)
- write_results(conn, results, slot): store one cycle for its slot, once; how many rows were added.
- latest_and_uptimes(conn, services, start, end): each service's newest result and uptime, one round trip.
- latest_and_checks_by_location(conn, services, locations, start, end): per (service, location) the newest
  result and (up, all) checks, one round trip.
- latest_results(conn): each service's newest result.
- recent_results(conn, service, limit): one service's newest results, newest first.
- last_cycle_at(conn): when the newest stored result was checked.
- failed_check_counts(conn): failed checks per service since the counts began (Prometheus counters).

History (history.py)
- history(conn, service, start, end, max_points, location=): a range in at most max_points buckets
  (HistoryPoint), of one location or of every one.
- history_json(conn, service, start, end, max_points, settled, location=): the same points as JSON text;
  `settled` keeps a SettledJson per SettledKey, the points no roll-up changes again.
- bucket_width(start, end, max_points): the readable bucket width history uses.
- uptimes(conn, services, start, end) / uptime(conn, service, start, end): share of checks up or degraded.
- spans_by_source(start, end, rolled_until, daily): a range cut into spans (Span) read from raw rows or rollups
  (spans.py).

Retention (rollups.py)
- roll_up(conn, now): roll finished hours (and whole days) up; how many rollup rows changed.
- prune(conn, now, raw_days, rollup_days): delete expired raw rows and rollups (Pruned).
- REROLL: how far back each roll-up run rolls hours up again, to take in late results.

Incidents (incidents.py)
- recent_checks(cur, location, services, limit): each service's newest counted checks (Check) since its last
  incident.
- open_incidents(cur, location): the open incidents by service.
- open_elsewhere(cur, location, services, locations): per service, its open incidents' levels at other locations.
- open_incident / escalate_incident / resolve_incident(cur, ...): conditional changes; whether this call made them.
- hold_firing / mark_in_maintenance(cur, ids): an incident's firing held, its being open while quiet marked.
- release_held(cur, ids, now) / due_reminders(cur, ids, told_before, now): conditional; the ids this call got.
- count_failed_checks(cur, ids): set failed checks and worst status from the stored checks (idempotent).
- set_worst_status(cur, id, status): for an incident not decided from checks (the monitor's own).
- incidents(conn, ids): incidents by id (Incident).
- incident_history(conn, service, since, limit, location=): incidents open at or after `since`, newest first.
- open_incident_counts(conn): open incidents per service.

The notification outbox (outbox.py)
- add_firing(cur, incident_ids, channels, now, sent=()) / add_resolved(cur, incident_ids, now): one delivery
  per channel (those to the channels in `sent` recorded as sent already).
- add_reminder(cur, incident_ids, now): one delivery per channel a firing of those incidents was sent to.
- add_test(cur, channels, now): one test delivery per channel, about no incident.
- next_due(conn): when the earliest pending delivery is due.
- claim(cur, now): lock the oldest due delivery (Delivery), in order per channel, skipping those held.
- record_attempt(cur, delivery, at, outcome, error, retry_at) / attempts(conn): every attempt (Attempt).
- recent_attempts(conn, limit): the newest attempts with their deliveries' kind and incidents (LoggedAttempt).
- attempt_counts(conn): (sent, failed) attempts per masked channel (Prometheus counters).

The audit log (audit.py)
- add_audit_entry(conn, at, actor, action, detail): store one operator action (who, what, when); its id.
- audit_entries(conn, limit, action=None): the newest entries, newest first (AuditEntry).

Silences (silences.py)
- add_silence(conn, service, starts_at, ends_at, reason): store one (Silence); "all" silences every service.
- active_silences(cur, at): those not ended at `at`, soonest end first.
- remove_silence(conn, id): delete one; whether it existed.

Certificate expiry warnings (certificates.py)
- record_warnings(cur, fingerprint, thresholds, ...): record a certificate's reached thresholds once; the id
  of the smallest this call recorded (None: another call had).
- certificate_warning(conn, id): one warning (CertificateWarning).
- add_certificate(cur, warning_id, channels, now) (outbox.py): one delivery per channel telling of it.

The time grid (timegrid.py): EPOCH, HOUR, DAY, floor(moment, step), ceil(moment, step).
"""

from jobs.store.audit import AuditEntry, add_audit_entry, audit_entries
from jobs.store.certificates import CertificateWarning, certificate_warning, record_warnings
from jobs.store.db import Connection, ServerSilent, connect, connect_kwargs, describe_error, transaction
from jobs.store.history import (
    HistoryPoint,
    SettledJson,
    SettledKey,
    bucket_width,
    history,
    history_json,
    uptime,
    uptimes,
)
from jobs.store.incidents import (
    Check,
    Incident,
    count_failed_checks,
    due_reminders,
    escalate_incident,
    hold_firing,
    incident_history,
    incidents,
    mark_in_maintenance,
    open_elsewhere,
    open_incident,
    open_incident_counts,
    open_incidents,
    recent_checks,
    release_held,
    resolve_incident,
    set_worst_status,
)
from jobs.store.outbox import (
    Attempt,
    Delivery,
    LoggedAttempt,
    add_certificate,
    add_firing,
    add_reminder,
    add_resolved,
    add_test,
    attempt_counts,
    attempts,
    claim,
    next_due,
    recent_attempts,
    record_attempt,
)
from jobs.store.pool import Pool, PoolBusy
from jobs.store.results import (
    failed_check_counts,
    last_cycle_at,
    latest_and_checks_by_location,
    latest_and_uptimes,
    latest_results,
    recent_results,
    write_results,
)
from jobs.store.rollups import REROLL, Pruned, prune, roll_up
from jobs.store.schema import migrate, migrate_once, migration_files
from jobs.store.silences import (
    Silence,
    active_silences,
    add_silence,
    remove_silence,
)
from jobs.store.spans import Span, spans_by_source
from jobs.store.timegrid import DAY, EPOCH, HOUR, ceil, floor

__all__ = [
    "DAY",
    "EPOCH",
    "HOUR",
    "REROLL",
    "Attempt",
    "AuditEntry",
    "CertificateWarning",
    "Check",
    "Connection",
    "Delivery",
    "HistoryPoint",
    "Incident",
    "LoggedAttempt",
    "Pool",
    "PoolBusy",
    "Pruned",
    "ServerSilent",
    "SettledJson",
    "SettledKey",
    "Silence",
    "Span",
    "active_silences",
    "add_audit_entry",
    "add_certificate",
    "add_firing",
    "add_reminder",
    "add_resolved",
    "add_silence",
    "add_test",
    "attempt_counts",
    "attempts",
    "audit_entries",
    "bucket_width",
    "ceil",
    "certificate_warning",
    "claim",
    "connect",
    "connect_kwargs",
    "count_failed_checks",
    "describe_error",
    "due_reminders",
    "escalate_incident",
    "failed_check_counts",
    "floor",
    "history",
    "history_json",
    "hold_firing",
    "incident_history",
    "incidents",
    "last_cycle_at",
    "latest_and_checks_by_location",
    "latest_and_uptimes",
    "latest_results",
    "mark_in_maintenance",
    "migrate",
    "migrate_once",
    "migration_files",
    "next_due",
    "open_elsewhere",
    "open_incident",
    "open_incident_counts",
    "open_incidents",
    "prune",
    "recent_attempts",
    "recent_checks",
    "recent_results",
    "record_attempt",
    "record_warnings",
    "release_held",
    "remove_silence",
    "resolve_incident",
    "roll_up",
    "set_worst_status",
    "spans_by_source",
    "transaction",
    "uptime",
    "uptimes",
    "write_results",
]
