"""The operators' delivery log at /operator/alerts, on the real Flask server against a real PostgreSQL: behind
the /rq credentials, newest attempts first, failures marked in words, other servers' words escaped."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest

from dashapp.operator import log_rows
from jobs import buffer, queueing, store
from jobs.alerting.sender import run_test
from jobs.result import utcnow
from jobs.tasks import ALERTS_QUEUE
from tests.test_alert_delivery import Receiver
from tests.test_web_api import build
from tests.web_support import CHANNEL, seed_attempts

OPERATOR = {"RQ_DASHBOARD_USERNAME": "operator", "RQ_DASHBOARD_PASSWORD": "a-long-enough-secret"}


def auth(user: str | None = None, password: str | None = None) -> dict[str, str]:
    """Basic-auth headers: the operator's credentials, or the ones given."""
    user = user or OPERATOR["RQ_DASHBOARD_USERNAME"]
    password = password or OPERATOR["RQ_DASHBOARD_PASSWORD"]
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


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


# -- the test notification ----------------------------------------------------------------------------------


@pytest.fixture
def hook() -> Iterator[Receiver]:
    """A local HTTP receiver Apprise posts JSON to."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def alerting(base_env, monkeypatch, hook):
    """The web with the operators' credentials and ALERT_URLS pointing at a local receiver."""
    settings, client = build({**base_env, **OPERATOR, "ALERT_URLS": hook.url}, monkeypatch)
    return settings, client


def queued_jobs(settings) -> list[str]:
    client = buffer.client(settings.valkey, 5)
    try:
        return [job.func_name for job in queueing.queue(ALERTS_QUEUE, client).jobs]
    finally:
        client.close()


def test_send_a_test_notification_queues_the_workers_job_and_says_so(alerting) -> None:
    settings, client = alerting
    page = client.get("/operator/alerts", headers=auth()).get_data(as_text=True)
    assert 'method="post" action="/operator/alerts/test"' in page and "Send a test notification" in page
    response = client.post("/operator/alerts/test", headers={**auth(), "Origin": "http://localhost"})
    assert response.status_code == 303 and response.headers["Location"] == "/operator/alerts?test=queued"
    assert queued_jobs(settings) == ["jobs.tasks.send_test_notification"]
    after = client.get(response.headers["Location"], headers=auth()).get_data(as_text=True)
    assert "A test notification is queued for every channel" in after


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Origin": "https://evil.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"}, 403),
    ],
    ids=["no credentials", "another origin", "cross-site fetch", "a sibling site"],
)
def test_a_test_notification_only_from_an_operator_on_our_own_page(alerting, headers, status) -> None:
    settings, client = alerting
    credentials = auth() if status != 401 else {}
    assert client.post("/operator/alerts/test", headers={**credentials, **headers}).status_code == status
    # A state change is a POST: a GET finds no page there.
    assert client.get("/operator/alerts/test", headers=auth()).status_code == 404
    assert queued_jobs(settings) == []


def test_without_alert_urls_the_page_says_so_and_sends_nothing(base_env, monkeypatch) -> None:
    settings, client = build({**base_env, **OPERATOR}, monkeypatch)
    page = client.get("/operator/alerts", headers=auth()).get_data(as_text=True)
    assert "Alerting is off" in page and "ALERT_URLS" in page and "<form" not in page
    response = client.post("/operator/alerts/test", headers=auth())
    assert response.status_code == 409 and "ALERT_URLS is not set" in response.get_data(as_text=True)
    assert queued_jobs(settings) == []


def test_the_test_job_sends_to_every_channel_and_logs_the_attempt(base_env, monkeypatch, hook) -> None:
    settings, _ = build({**base_env, "ALERT_URLS": hook.url}, monkeypatch)
    assert run_test() == {"channels": 1, "sent": 1, "failed": 0, "gave_up": 0}
    [message] = hook.received
    assert message["title"] == "TEST: Hybrid Integration Monitor notifications"
    conn = store.connect(settings.postgres, 10)
    try:
        [attempt] = store.recent_attempts(conn, 10)
    finally:
        conn.close()
    assert (attempt.kind, attempt.outcome, attempt.incident_ids) == ("test", "sent", [])
    assert "s3cr3t" not in attempt.channel
