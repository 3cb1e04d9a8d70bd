"""The operators' delivery log at /operator/alerts, on the real Flask server against a real PostgreSQL: behind
the /rq credentials, newest attempts first, failures marked in words, other servers' words escaped."""

from __future__ import annotations

import base64
import re

import pytest

from dashapp.operator import log_rows
from jobs import store
from jobs.result import utcnow
from tests.test_web_api import build

OPERATOR = {"RQ_DASHBOARD_USERNAME": "operator", "RQ_DASHBOARD_PASSWORD": "a-long-enough-secret"}
CHANNEL = "json://127.0.0.1:9/…"
HOSTILE = '<script>alert("x")</script> refused'


def auth(user: str | None = None, password: str | None = None) -> dict[str, str]:
    """Basic-auth headers: the operator's credentials, or the ones given."""
    user = user or OPERATOR["RQ_DASHBOARD_USERNAME"]
    password = password or OPERATOR["RQ_DASHBOARD_PASSWORD"]
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def seed_attempts(settings) -> int:
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


@pytest.fixture
def operator(base_env, monkeypatch):
    settings, client = build({**base_env, **OPERATOR}, monkeypatch)
    return client, seed_attempts(settings)


def test_delivery_log_newest_first_with_failures_marked_and_escaped(operator) -> None:
    client, incident = operator
    response = client.get("/operator/alerts", headers=auth())
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    rows = re.findall(r'<tr class="([^"]+)">(.*?)</tr>', page, re.S)
    assert [cls for cls, _ in rows] == ["attempt-sent", "table-danger attempt-failed", "table-danger attempt-failed"]
    assert [re.search(r'<th scope="row">(.*?)</th>', body).group(1) for _, body in rows] == [
        "sent",
        "failed, will retry",
        "failed, will retry",
    ]
    assert all(f"#{incident}" in body and CHANNEL in body for _, body in rows)
    assert "<script>" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; refused" in page


@pytest.mark.parametrize(
    "headers", [{}, auth(password="wrong"), auth(user="admin"), {"Authorization": "Bearer a-long-enough-secret"}]
)
def test_delivery_log_asks_for_the_operators_credentials(operator, headers) -> None:
    client, _ = operator
    response = client.get("/operator/alerts", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert "Delivery log" not in response.get_data(as_text=True)


def test_operator_pages_are_off_without_credentials_and_unknown_ones_are_404(base_env, monkeypatch) -> None:
    _, client = build(base_env, monkeypatch)
    assert client.get("/operator/alerts", headers=auth()).status_code == 404
    _, client = build({**base_env, **OPERATOR}, monkeypatch)
    assert client.get("/operator/nothing", headers=auth()).status_code == 404


def test_log_rows_word_every_outcome() -> None:
    at = utcnow()
    attempts = [
        store.LoggedAttempt(at, "resolved", CHANNEL, outcome, error, 1, ids)
        for outcome, error, ids in (("sent", None, [3, 4]), ("failed", "500", [3]), ("gave_up", "500", [3]))
    ]
    rows = log_rows(attempts)
    assert [(r.outcome, r.failed, r.error, r.incidents) for r in rows] == [
        ("sent", False, "—", "#3, #4"),
        ("failed, will retry", True, "500", "#3"),
        ("gave up", True, "500", "#3"),
    ]
