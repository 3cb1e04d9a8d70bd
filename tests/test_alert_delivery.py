"""Notifications end to end with real parts: incidents decided in a real PostgreSQL, the outbox, and Apprise
posting JSON (`json://`) to an HTTP receiver this test runs; the sender also runs as the RQ job on Valkey."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from jobs import queueing, store
from jobs.alerting import channels as channels_
from jobs.alerting.after_cycle import after_stored
from jobs.alerting.decide import decide_incidents
from jobs.alerting.sender import retry_delay, send_due
from jobs.cycle import probe_and_store
from jobs.result import Status, utcnow
from jobs.settings import AlertSettings, load
from jobs.tasks import ALERTS_QUEUE, QUEUE, probe_queue
from sandbox.embedded import free_port
from tests.conftest import ROOT
from tests.rq_support import work
from tests.test_incidents import T0, check

RULE = AlertSettings()
U, D = Status.UP, Status.DOWN
TOKEN = "s3cr3t-hook-token"


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps the JSON body of every POST; stopped and started again on the
    same port, it is a channel that goes down and comes back."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)) | {"path": self.path})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook/{TOKEN}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def cycle(
    conn,
    minute: int,
    statuses: dict[str, Status],
    urls: list[str],
    errors: dict[str, str] | None = None,
    rule: AlertSettings = RULE,
    now: datetime | None = None,
):
    """Store one cycle and decide its incidents (at `now`), as the worker does after storing."""
    results = [check(s, minute, st, (errors or {}).get(s)) for s, st in statuses.items()]
    store.write_results(conn, results, T0 + timedelta(minutes=minute))
    channels, _ = channels_.parse(tuple(urls))
    return decide_incidents(conn, "test", results, rule, channels, now)


def send(conn, urls: list[str], at: datetime | None = None):
    channels, _ = channels_.parse(tuple(urls))
    return send_due(conn, channels, clock=(lambda: at) if at else utcnow)


def test_a_single_failure_never_alerts(conn, receiver: Receiver) -> None:
    for minute, status in enumerate([U, D, U, U, D, U, U]):
        cycle(conn, minute, {"valkey": status}, [receiver.url])
        send(conn, [receiver.url])
    assert receiver.received == []


def test_three_of_five_alert_once_and_the_resolution_follows(conn, receiver: Receiver) -> None:
    for minute, status in enumerate([D, U, D, U, D, U, D, U, D]):
        cycle(conn, minute, {"valkey": status}, [receiver.url])
        send(conn, [receiver.url])
    [firing] = receiver.received
    assert firing["path"] == f"/hook/{TOKEN}" and firing["type"] == "failure"
    assert firing["title"] == "FIRING: Valkey (test) down"
    [incident] = store.incident_history(conn, "valkey", T0, 10)
    key = f"hybrid-monitor:test:valkey:{incident.id}"
    assert firing["message"] == (
        f"Valkey (test) down since 2026-01-01 00:00:00 UTC; first error: refused at minute 0\nincident key: {key}"
    )
    assert firing["dedup_key"] == key
    for minute in (9, 10):
        cycle(conn, minute, {"valkey": U}, [receiver.url])
        send(conn, [receiver.url])
    [_, resolved] = receiver.received
    assert resolved["type"] == "success"
    assert resolved["title"] == "RESOLVED: Valkey (test) after 9 min"
    assert "(down since 2026-01-01 00:00:00 UTC, 5 failed checks)" in resolved["message"]


def test_a_channel_down_gets_the_message_when_back_with_every_attempt_recorded(conn) -> None:
    channel = Receiver()  # not started: its port refuses connections
    for minute in range(3):
        cycle(conn, minute, {"postgres": D}, [channel.url])
    now = utcnow()
    assert send(conn, [channel.url], now).failed == 1
    assert send(conn, [channel.url], now + retry_delay(1) - timedelta(seconds=1)).failed == 0, "waits its backoff"
    assert send(conn, [channel.url], now + retry_delay(1)).failed == 1
    channel.start()
    try:
        later = now + retry_delay(1) + retry_delay(2)
        assert send(conn, [channel.url], later).sent == 1
        assert send(conn, [channel.url], later + timedelta(hours=1)).sent == 0, "sent once"
    finally:
        channel.stop()
    assert [m["title"] for m in channel.received] == ["FIRING: PostgreSQL (test) down"]
    attempts = store.attempts(conn)
    assert [(a.attempted_at, a.outcome) for a in attempts] == [
        (now, "failed"),
        (now + retry_delay(1), "failed"),
        (later, "sent"),
    ]
    assert all(a.channel == f"json://127.0.0.1:{channel.port}/…" for a in attempts)
    assert attempts[0].error == "A Connection error occurred sending JSON notification to 127.0.0.1."
    assert retry_delay(1) < retry_delay(2) < retry_delay(20) == retry_delay(40), "doubling, then capped"


def test_a_delivery_failing_for_a_day_is_given_up_and_the_channel_goes_on(conn, receiver: Receiver) -> None:
    down = Receiver()
    for minute in range(3):
        cycle(conn, minute, {"postgres": D}, [down.url])
    now = utcnow()
    send(conn, [down.url], now)
    assert send(conn, [down.url], now + timedelta(hours=24, minutes=1)).gave_up == 1
    assert [a.outcome for a in store.attempts(conn)] == ["failed", "gave_up"]
    assert store.next_due(conn) is None


def test_incidents_opened_by_one_cycle_are_one_message_per_channel_naming_the_root_cause(conn) -> None:
    first, second = Receiver().start(), Receiver().start()
    urls = [first.url, second.url]
    no_credentials = "no AWS credentials: IAM Roles Anywhere failed (connection refused)"
    try:
        for minute in range(3):
            statuses = {"roles_anywhere": D, "secrets_manager": D, "valkey": U}
            cycle(conn, minute, statuses, urls, {"secrets_manager": no_credentials})
        send(conn, urls)
        for minute in (3, 4):
            cycle(conn, minute, {"roles_anywhere": U, "secrets_manager": U, "valkey": U}, urls)
        send(conn, urls)
    finally:
        first.stop()
        second.stop()
    assert len(first.received) == len(second.received) == 2, "one firing and one resolved on each channel"
    firing, resolved = first.received
    assert firing["title"] == "FIRING: 2 incidents (AWS IAM Roles Anywhere (test), AWS Secrets Manager (test))"
    assert (
        "AWS Secrets Manager (test) down since 2026-01-01 00:00:00 UTC; caused by AWS IAM Roles Anywhere"
        in (firing["message"])
    )
    assert resolved["title"].startswith("RESOLVED: 2 incidents")


def test_a_wrong_url_is_one_masked_line_and_the_other_channels_still_work(conn, receiver: Receiver) -> None:
    urls = ["foo://admin:hunter2@example.com/T0KEN9", "discord://only-one-part", receiver.url]
    channels, problems = channels_.parse(tuple(urls))
    assert problems == (
        "ALERT_URLS: entry 1 (foo://…) is not a URL Apprise can send to",
        "ALERT_URLS: entry 2 (discord://…) is not a URL Apprise can send to",
    )
    assert [c.masked for c in channels] == [f"json://127.0.0.1:{receiver.port}/…"]
    assert TOKEN not in repr(channels)
    for minute in range(3):
        cycle(conn, minute, {"valkey": D}, urls)
    send(conn, urls)
    assert len(receiver.received) == 1


def test_a_password_in_a_url_is_masked(receiver: Receiver) -> None:
    [channel], _ = channels_.parse((f"json://alerts:pa55word-x@127.0.0.1:{receiver.port}/hook/{TOKEN}",))
    assert channel.masked == f"json://alerts:****@127.0.0.1:{receiver.port}/…"


def test_the_worker_restarted_mid_incident_sends_no_second_firing_and_still_the_resolved(
    db_url: str, receiver: Receiver
) -> None:
    """Each cycle, from the failure onwards, runs in a process of its own, as after a restart."""
    env = {"DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url, "PATH": "/usr/bin:/bin"}
    script = (
        "import sys; from datetime import timedelta;"
        "from jobs import store; from jobs.alerting import channels; from jobs.alerting.decide import decide_incidents;"
        "from jobs.alerting.sender import send_due; from jobs.settings import load;"
        "from jobs.result import Status; from tests.test_incidents import T0, check;"
        "s = load(); conn = store.connect(s.postgres, 10); store.migrate(conn);"
        "minute, status = int(sys.argv[1]), Status(sys.argv[2]); r = [check('valkey', minute, status)];"
        "store.write_results(conn, r, T0 + timedelta(minutes=minute));"
        "chans, _ = channels.parse(s.alerting.urls);"
        "decide_incidents(conn, 'test', r, s.alerting, chans);"
        "send_due(conn, chans)"
    )
    for minute, status in enumerate(["down"] * 6 + ["up"] * 2):
        subprocess.run([sys.executable, "-c", script, str(minute), status], env=env, cwd=ROOT, check=True, timeout=60)
    assert [m["title"] for m in receiver.received] == [
        "FIRING: Valkey (test) down",
        "RESOLVED: Valkey (test) after 6 min",
    ]


def test_the_cycle_enqueues_the_sender_on_its_own_queue_and_the_rq_job_sends(
    conn, db_url: str, valkey_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"DATABASE_URL": db_url, "VALKEY_URL": valkey_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load()
    valkey = redis.Redis.from_url(valkey_url)
    for minute in range(3):
        results = [check("valkey", minute, D)]
        store.write_results(conn, results, T0 + timedelta(minutes=minute))
        after_stored(settings, results, conn, valkey)
    queue = queueing.queue(ALERTS_QUEUE, valkey)
    assert queue.count == 1, "one sender job waits on the alerts queue, none on the probes queue"
    assert [queueing.queue(name, valkey).count for name in (QUEUE, probe_queue("test"))] == [0, 0]
    assert receiver.received == [], "the cycle itself sends nothing"
    work([ALERTS_QUEUE], valkey)
    assert [m["title"] for m in receiver.received] == ["FIRING: Valkey (test) down"]
    valkey.close()


def test_postgresql_down_still_alerts_once_and_its_incident_is_recorded_when_it_returns(
    db_url: str, valkey_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL unreachable (a closed port) for three cycles: the firing goes out from the cycles kept in
    Valkey, through the `alerts` queue. Back, the kept cycles are stored, the incident opens from them with
    its firing recorded as sent (no second one), and its resolved goes out through the outbox."""
    base = {"VALKEY_URL": valkey_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url, "PROBE_TIMEOUT_S": "2"}
    down = load({**base, "DATABASE_URL": "postgresql://monitor:pw@127.0.0.1:9/monitor"})
    back = load({**base, "DATABASE_URL": db_url})
    for name, value in {**base, "DATABASE_URL": db_url}.items():
        monkeypatch.setenv(name, value)  # what the RQ jobs load
    valkey = redis.Redis.from_url(valkey_url)

    def send() -> None:
        work([ALERTS_QUEUE], valkey)

    for minute in range(2):
        assert probe_and_store(down, T0 + timedelta(minutes=minute))[1] is not None
        send()
    assert receiver.received == [], "two failed checks of five open nothing"
    probe_and_store(down, T0 + timedelta(minutes=2))
    send()
    titles = [m["title"] for m in receiver.received]
    assert titles == ["FIRING: PostgreSQL (test) down"]
    probe_and_store(down, T0 + timedelta(minutes=3))
    send()
    assert len(receiver.received) == 1, "told once per outage"

    for minute in (4, 5, 6):
        assert probe_and_store(back, T0 + timedelta(minutes=minute))[1] is None
        send()
    titles = [m["title"] for m in receiver.received]
    assert len(titles) == 2 and titles[1].startswith("RESOLVED: PostgreSQL (test) after "), titles
    conn = store.connect(back.postgres, 10)
    [incident] = store.incident_history(conn, "postgres", T0 - timedelta(days=1), 10)
    attempts = store.attempts(conn)
    conn.close()
    assert (incident.level, incident.first_error, incident.checks_failed) == (
        "critical",
        "connection refused by 127.0.0.1:9",
        4,
    )
    assert incident.ended_at is not None
    # The firing told while PostgreSQL was away is in the log as sent, then the resolved.
    assert [a.outcome for a in attempts] == ["sent", "sent"], attempts
    valkey.close()
