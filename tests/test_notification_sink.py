"""`make run`'s local notification sink (sandbox/sink.py), fed for real: Apprise sends a `json://` webhook and a
`mailto://` e-mail over SMTP through the product's own channel code, and the sink's page shows both, escaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from jobs.alerting import channels as channels_
from sandbox.sink import EMAIL, WEBHOOK, Notification, NotificationSink, one_line
from sandbox.stack import _start_notification_sink
from tests.stack_support import get

TITLE = "FIRING: <script>alert(1)</script> Valkey (local) down"
BODY = "Valkey (local) down since 12:00\nfirst error: <b>refused</b>"


@pytest.fixture
def sink() -> Iterator[NotificationSink]:
    with NotificationSink() as running:
        yield running


def test_a_webhook_and_an_email_sent_by_apprise_arrive_and_the_page_shows_them_escaped(sink: NotificationSink) -> None:
    channels, problems = channels_.parse(tuple(sink.alert_urls.split()))
    assert problems == ()
    assert [c.masked for c in channels] == [
        f"json://127.0.0.1:{sink.http_port}/…",
        f"mailto://127.0.0.1:{sink.smtp_port}/…",
    ]
    for channel in channels:
        assert channels_.send(channel, TITLE, BODY, "failure", []) is None, channel.masked

    received = sink.inbox.newest_first()
    assert [(n.channel, n.title, n.body) for n in received] == [(EMAIL, TITLE, BODY), (WEBHOOK, TITLE, BODY)]

    status, raw = get(sink.url)
    page = raw.decode()
    assert status == 200
    assert "<script>" not in page and "<b>" not in page
    rows = page.split("<tr>")[2:]  # after the header row; newest first
    assert [row.split("</td>")[1] for row in rows] == [f"<td>{EMAIL}", f"<td>{WEBHOOK}"]
    for row in rows:
        assert "FIRING: &lt;script&gt;alert(1)&lt;/script&gt; Valkey (local) down" in row
        assert "first error: &lt;b&gt;refused&lt;/b&gt;" in row


def test_the_sink_keeps_only_the_newest_messages() -> None:
    with NotificationSink(keep=3) as sink:
        [webhook], _ = channels_.parse((sink.webhook_url,))
        for number in range(5):
            assert channels_.send(webhook, f"message {number}", "body", "info", []) is None
        assert [n.title for n in sink.inbox.newest_first()] == ["message 4", "message 3", "message 2"]
        page = get(sink.url)[1].decode()
    assert "message 4" in page and "message 1" not in page


def test_an_empty_sink_says_how_to_get_a_notification(sink: NotificationSink) -> None:
    page = get(sink.url)[1].decode()
    assert "No notifications yet" in page and "python -m sandbox break roles_anywhere" in page


def test_each_message_is_one_line_for_make_runs_output() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert one_line(Notification(at, WEBHOOK, "FIRING: x", "a\n\n  b  \nc")) == "webhook: FIRING: x | a / b / c"
    assert one_line(Notification(at, EMAIL, "RESOLVED: x", "")) == "e-mail: RESOLVED: x"
    long = one_line(Notification(at, EMAIL, "t", "y" * 500), width=40)
    assert len(long) == 40 and long.endswith("…") and "\n" not in long


def test_make_run_starts_no_sink_when_alert_urls_is_set() -> None:
    env = {"ALERT_URLS": "json://127.0.0.1:9/hook"}
    stops: list = []
    assert _start_notification_sink(env, stops) is None
    assert env == {"ALERT_URLS": "json://127.0.0.1:9/hook"} and stops == []


def test_make_run_without_alert_urls_sends_to_the_sink(capsys: pytest.CaptureFixture[str]) -> None:
    env: dict[str, str] = {}
    stops: list = []
    url = _start_notification_sink(env, stops)
    try:
        [channel, _] = channels_.parse(tuple(env["ALERT_URLS"].split()))[0]
        assert channels_.send(channel, "FIRING: Valkey (local) down", "since 12:00\nrefused", "failure", []) is None
        assert "FIRING: Valkey (local) down" in get(str(url))[1].decode()
    finally:
        for stop in stops:
            stop()
    out = capsys.readouterr().out
    assert f"Notifications: {url} " in out
    assert "make run: notification by webhook: FIRING: Valkey (local) down | since 12:00 / refused\n" in out
