"""Stored results for the web tests, written through the store itself (never by hand-made SQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from jobs import store
from jobs.result import ProbeResult, Status, utcnow
from jobs.settings import Settings

ENDPOINTS = {
    "postgres": "127.0.0.1:5432",
    "valkey": "127.0.0.1:6379",
    "roles_anywhere": "rolesanywhere.us-east-1.amazonaws.com",
    "secrets_manager": "secretsmanager.us-east-1.amazonaws.com",
}
# The latest status each service is seeded with.
LATEST = {
    "postgres": Status.UP,
    "valkey": Status.DEGRADED,
    "roles_anywhere": Status.DOWN,
    "secrets_manager": Status.NOT_CONFIGURED,
}
HISTORY_STEP = timedelta(minutes=10)
HISTORY_SPAN = timedelta(days=3)


def result(service: str, at: datetime, status: Status, latency_ms: float, location: str = "test") -> ProbeResult:
    failed = status in (Status.DOWN, Status.NOT_CONFIGURED)
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=latency_ms,
        endpoint=ENDPOINTS[service],
        checked_at=at,
        location=location,
        phases={"connect": round(latency_ms * 0.6, 3), "read": round(latency_ms * 0.4, 3)},
        detail={"server_version": "17.2", "cert_days_left": 200} if service == "roles_anywhere" else {"tls": False},
        error=f"{service} check failed: connection refused" if failed else None,
    )


def write_cycle(
    settings: Settings,
    at: datetime,
    statuses: dict[str, Status] | None = None,
    latency_ms: float = 12.5,
    location: str = "test",
) -> None:
    """One cycle's four results from `location`, stored for the slot `at`."""
    statuses = statuses or LATEST
    conn = store.connect(settings.postgres, 5)
    try:
        results = [result(s, at, status, latency_ms + i, location) for i, (s, status) in enumerate(statuses.items())]
        store.write_results(conn, results, slot=at)
    finally:
        conn.close()


def seed_history(
    settings: Settings, now: datetime, location: str = "test", latest: dict[str, Status] | None = None
) -> None:
    """Three days of checks from `location` every 10 minutes (every 7th one down), then a fresh cycle with
    `latest` (LATEST unless given)."""
    conn = store.connect(settings.postgres, 10)
    try:
        store.migrate(conn)
        at, i = now - HISTORY_SPAN, 0
        while at < now - HISTORY_STEP:
            results = [
                result(s, at, Status.DOWN if i % 7 == 0 else Status.UP, 5.0 + (i % 13) + 3 * n, location)
                for n, s in enumerate(ENDPOINTS)
            ]
            store.write_results(conn, results, slot=at)
            at, i = at + HISTORY_STEP, i + 1
    finally:
        conn.close()
    write_cycle(settings, now, latest, location=location)


def seed_incidents(settings: Settings, now: datetime) -> None:
    """Roles Anywhere down for 12 minutes now, Secrets Manager down because of it, and Valkey's warning that
    ended 2 days ago after 90 minutes; one from 40 days ago, beyond the board's 30."""
    conn = store.connect(settings.postgres, 10)
    try:
        with store.transaction(conn) as cur:
            store.open_incident(cur, "roles_anywhere", "test", "critical", now - timedelta(minutes=12), "refused", None)
            store.open_incident(
                cur,
                "secrets_manager",
                "test",
                "critical",
                now - timedelta(minutes=11),
                "no AWS credentials",
                "AWS IAM Roles Anywhere",
            )
            ended = store.open_incident(
                cur, "valkey", "test", "warning", now - timedelta(days=2, minutes=90), "slow", None
            )
            store.resolve_incident(cur, ended, now - timedelta(days=2))
            old = store.open_incident(cur, "postgres", "test", "critical", now - timedelta(days=40), "gone", None)
            store.resolve_incident(cur, old, now - timedelta(days=40) + timedelta(minutes=5))
    finally:
        conn.close()


# A masked channel, and an error text a hostile server could send back.
CHANNEL = "json://127.0.0.1:9/…"
HOSTILE = '<script>alert("x")</script> refused'


def seed_attempts(settings: Settings) -> int:
    """A firing for one incident that failed twice (once with a hostile error text), then was sent."""
    now = utcnow()
    conn = store.connect(settings.postgres, 10)
    try:
        store.migrate(conn)
        with store.transaction(conn) as cur:
            incident = store.open_incident(cur, "valkey", "test", "critical", now, "timed out", None)
            store.add_firing(cur, [incident], [("k", CHANNEL)], now)
        for outcome, error in (("failed", "connection refused"), ("failed", HOSTILE), ("sent", None)):
            with store.transaction(conn) as cur:
                delivery = store.claim(cur, now)
                store.record_attempt(cur, delivery, now, outcome, error, now)
        return incident
    finally:
        conn.close()


def metric_samples(text: str) -> dict[tuple[str, str | None], float]:
    """A `/metrics` page read as Prometheus reads it: {(sample name, its service label or None): value}."""
    return {
        (sample.name, sample.labels.get("service")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
