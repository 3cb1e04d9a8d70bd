"""The monitor watching itself, with real parts: cycles stored in a real PostgreSQL (or not), the web's watch
opening and resolving the `monitor` incident, and Apprise posting to a local HTTP receiver; no queue and no
worker anywhere."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from jobs import store
from jobs.alerting import self_watch
from jobs.alerting.decide import decide_incidents
from jobs.alerting.self_watch import NotTold, SelfWatch, silent_since, watch_once
from jobs.result import ProbeResult, Status, utcnow
from jobs.settings import AlertSettings, load
from tests import test_alert_delivery
from tests.conftest import ROOT
from tests.environment import without_product_variables
from tests.test_alert_delivery import Receiver

receiver = test_alert_delivery.receiver  # the fixture: a local HTTP receiver of Apprise's json:// posts
T0 = datetime(2026, 1, 1, tzinfo=UTC)
STARTED = T0 - timedelta(hours=1)  # when the watch started, for the tests that give `now`


def stored_cycle(conn, at: datetime) -> list[ProbeResult]:
    results = [
        ProbeResult(service=s, status=Status.UP, latency_ms=1.0, endpoint="", checked_at=at, location="test")
        for s in ("postgres", "valkey")
    ]
    store.write_results(conn, results, at)
    return results


def monitor_incidents(conn) -> list[store.Incident]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM incidents WHERE service = 'monitor'")
        return store.incidents(conn, [row[0] for row in cur.fetchall()])


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (T0, T0 + timedelta(seconds=179), None),
        (T0, T0 + timedelta(seconds=180), T0 + timedelta(seconds=60)),
        (None, STARTED + timedelta(seconds=179), None),
        (None, STARTED + timedelta(seconds=600), STARTED + timedelta(seconds=60)),
    ],
)
def test_silent_after_three_intervals_without_a_stored_cycle(last, now, expected) -> None:
    assert silent_since(last, STARTED, 60, now) == expected


def test_no_cycle_for_three_intervals_opens_the_monitor_incident_and_cycles_returning_resolve_it(
    db_url: str, conn, receiver: Receiver
) -> None:
    settings = load({"DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url})
    stored_cycle(conn, T0)
    assert [watch_once(conn, settings, STARTED, T0 + timedelta(seconds=s)) for s in (60, 120, 179)] == [None] * 3
    assert watch_once(conn, settings, STARTED, T0 + timedelta(seconds=180)) == "opened"
    assert watch_once(conn, settings, STARTED, T0 + timedelta(seconds=240)) is None, "told once"
    [firing] = receiver.received
    assert firing["title"] == "FIRING: the monitor is not reporting (test)"
    assert firing["message"].startswith("no probe cycle stored since 2026-01-01 00:00:00 UTC. The worker,")
    [incident] = monitor_incidents(conn)
    assert (incident.level, incident.worst_status) == ("critical", "down")
    assert incident.started_at == T0 + timedelta(seconds=60), "when the next cycle was due"

    back = T0 + timedelta(minutes=10)
    decide_incidents(conn, "test", stored_cycle(conn, back), AlertSettings())  # a cycle leaves it to the watch
    assert monitor_incidents(conn)[0].worst_status == "down"
    assert watch_once(conn, settings, STARTED, back + timedelta(seconds=5)) == "resolved"
    assert watch_once(conn, settings, STARTED, back + timedelta(seconds=65)) is None
    assert [m["title"] for m in receiver.received][1:] == [
        "RESOLVED: the monitor is reporting again (test) after 9 min"
    ]
    assert receiver.received[1]["type"] == "success"
    assert monitor_incidents(conn)[0].ended_at == back


def test_an_alert_no_channel_took_is_tried_again_at_the_next_check(db_url: str, conn) -> None:
    channel = Receiver()  # not started: its port refuses connections
    settings = load({"DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": channel.url})
    stored_cycle(conn, T0)
    with pytest.raises(NotTold):
        watch_once(conn, settings, STARTED, T0 + timedelta(minutes=5))
    assert monitor_incidents(conn) == [], "rolled back"
    channel.start()
    try:
        assert watch_once(conn, settings, STARTED, T0 + timedelta(minutes=6)) == "opened"
    finally:
        channel.stop()
    assert [m["title"] for m in channel.received] == ["FIRING: the monitor is not reporting (test)"]


def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_two_watchers_send_one_message_per_change(db_url: str, conn, receiver: Receiver) -> None:
    env = {"DATABASE_URL": db_url, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url, "PROBE_INTERVAL_S": "1"}
    env["PROBE_TIMEOUT_S"] = "0.9"
    stored_cycle(conn, utcnow() - timedelta(seconds=10))
    watchers = [SelfWatch(load(env)).start() for _ in range(2)]
    try:
        wait_for(lambda: receiver.received, 15)
        time.sleep(3)  # three more checks of each watcher
        stored_cycle(conn, utcnow())
        wait_for(lambda: len(receiver.received) > 1, 15)
        time.sleep(0.5)
    finally:
        threads = [threading.Thread(target=w.stop) for w in watchers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [m["title"].split(" (")[0] for m in receiver.received] == [
        "FIRING: the monitor is not reporting",
        "RESOLVED: the monitor is reporting again",
    ]
    assert len(monitor_incidents(conn)) == 1


def test_the_web_process_watches_without_queue_or_worker(db_url: str, conn, receiver: Receiver) -> None:
    """The web's entry point alone, no Valkey configured and nothing ever stored: the alert still comes."""
    env = without_product_variables(os.environ) | {
        "DATABASE_URL": db_url,
        "PROBE_LOCATION": "test",
        "PROBE_INTERVAL_S": "1",
        "PROBE_TIMEOUT_S": "0.9",
        "ALERT_URLS": receiver.url,
    }
    web = subprocess.Popen(
        [sys.executable, "-c", "import time, dashapp.app; time.sleep(60)"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: receiver.received, 40)
    finally:
        web.kill()
        web.wait(10)
    assert [m["title"] for m in receiver.received] == ["FIRING: the monitor is not reporting (test)"]


def test_no_watch_without_postgres() -> None:
    assert self_watch.start(load({})) is None


def test_an_unreachable_postgresql_is_one_logged_line_and_the_watch_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    watch = SelfWatch(load({"DATABASE_URL": "postgresql://monitor:pw-not-shown@127.0.0.1:9/monitor"}))
    with caplog.at_level(logging.WARNING, logger="jobs.alerting.self_watch"):
        assert watch.check(utcnow()) is None
        assert watch.check(utcnow()) is None  # the same problem again is not logged again
    lines = [r.getMessage() for r in caplog.records if r.name == "jobs.alerting.self_watch"]
    assert lines == ["monitor self-watch: connection refused by 127.0.0.1:9"]
