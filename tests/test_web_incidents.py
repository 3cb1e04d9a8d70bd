"""/api/incidents and the alerting gauges of /metrics, on the real Flask server against a real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs import store
from jobs.result import utcnow
from tests.test_web_api import build

CHANNEL = "json://127.0.0.1:9/…"


@pytest.fixture
def web(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """The web, with three incidents stored (Valkey's open, PostgreSQL's ended 2 days ago, in a maintenance
    window, and 10 days ago) and a firing delivered on the third of three attempts."""
    settings, client = build(base_env, monkeypatch)
    now = utcnow()
    conn = store.connect(settings.postgres, 10)
    store.migrate(conn)
    with store.transaction(conn) as cur:
        old = store.open_incident(cur, "postgres", "test", "critical", now - timedelta(days=11), "refused", None)
        store.resolve_incident(cur, old, now - timedelta(days=10))
        # Opened in a maintenance window: held.
        recent = store.open_incident(cur, "postgres", "test", "warning", now - timedelta(days=3), None, None, held=True)
        store.resolve_incident(cur, recent, now - timedelta(days=2))
        current = store.open_incident(cur, "valkey", "test", "critical", now - timedelta(hours=1), "timed out", None)
        store.add_firing(cur, [current], [("k", CHANNEL)], now)
    for outcome in ("failed", "failed", "sent"):
        with store.transaction(conn) as cur:
            delivery = store.claim(cur, now)
            store.record_attempt(cur, delivery, now, outcome, None if outcome == "sent" else "refused", now)
    conn.close()
    return client, {"old": old, "recent": recent, "current": current}


def ids(client, query: str = "") -> list[int]:
    response = client.get(f"/api/incidents{query}")
    assert response.status_code == 200, response.get_json()
    return [i["id"] for i in response.get_json()["incidents"]]


def test_incidents_newest_first_of_the_last_7_days_by_default(web) -> None:
    client, made = web
    assert ids(client) == [made["current"], made["recent"]]
    assert ids(client, "?since=30d") == [made["current"], made["recent"], made["old"]]
    assert ids(client, "?service=valkey&since=365d") == [made["current"]]
    since = (utcnow() - timedelta(days=10, hours=1)).isoformat()
    assert ids(client, f"?since={since.replace('+00:00', 'Z')}") == [made["current"], made["recent"], made["old"]]
    answer = client.get("/api/incidents?service=valkey").get_json()
    assert answer["service"] == "valkey"
    [current] = answer["incidents"]
    assert current["open"] is True and current["ended_at"] is None and current["duration_s"] is None
    assert (current["name"], current["level"], current["first_error"]) == ("Valkey", "critical", "timed out")
    [recent] = client.get("/api/incidents?service=postgres").get_json()["incidents"]
    assert recent["duration_s"] == 86400 and recent["level"] == "warning" and recent["open"] is False
    assert (recent["in_maintenance"], current["in_maintenance"]) == (True, False)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("service=mysql", "unknown service 'mysql'; accepted: postgres, valkey, roles_anywhere, secrets_manager"),
        ("since=yesterday", "unknown since 'yesterday'; accepted: an ISO 8601 time with an offset"),
        ("since=2026-01-01T00:00:00", "unknown since '2026-01-01T00:00:00'; accepted: an ISO 8601 time"),
        ("since=7d&since=1h", "query parameter 'since' given 2 times"),
        ("since=" + "9" * 100, "query parameter 'since' is longer than 64 characters"),
    ],
)
def test_incidents_bad_input_is_a_one_line_400_naming_what_is_accepted(web, query: str, message: str) -> None:
    client, _ = web
    response = client.get(f"/api/incidents?{query}")
    assert response.status_code == 400 and response.is_json
    error = response.get_json()["error"]
    assert error.startswith(message) and "\n" not in error


def test_metrics_count_open_incidents_per_service_and_notifications_per_channel(web) -> None:
    client, _ = web
    samples = {
        (s.name, s.labels.get("service") or s.labels.get("channel")): s.value
        for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True))
        for s in family.samples
    }
    opened = {service: v for (name, service), v in samples.items() if name == "hybrid_monitor_open_incidents"}
    assert opened == {"postgres": 0, "valkey": 1, "roles_anywhere": 0, "secrets_manager": 0}
    assert samples["hybrid_monitor_notifications_sent_total", CHANNEL] == 1
    assert samples["hybrid_monitor_notifications_failed_total", CHANNEL] == 2
