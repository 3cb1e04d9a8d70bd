"""Silences, maintenance windows, reminders and dedup keys with real parts: incidents decided in a real
PostgreSQL, the outbox, Apprise posting JSON to the HTTP receiver of the delivery tests, and the silence
commands run as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import timedelta

import apprise

from jobs import store
from jobs.alerting import channels as channels_
from jobs.alerting.decide import decide_incidents
from jobs.alerting.sender import send_due
from jobs.result import Status
from jobs.settings import load
from jobs.settings.windows import read
from tests.conftest import ROOT
from tests.test_alert_delivery import RULE, Receiver, cycle, send
from tests.test_alert_delivery import receiver as receiver  # the fixture
from tests.test_incidents import T0, check

U, D = Status.UP, Status.DOWN


def minute(n: float):
    return T0 + timedelta(minutes=n)


def run_minutes(conn, receiver: Receiver, statuses_by_minute: list[dict[str, Status]], rule=RULE) -> list[list[str]]:
    """Each minute a cycle decided and the due deliveries sent at that minute; the titles received after each."""
    titles = []
    for n, statuses in enumerate(statuses_by_minute):
        cycle(conn, n, statuses, [receiver.url], rule=rule, now=minute(n))
        send(conn, [receiver.url], minute(n))
        titles.append([m["title"] for m in receiver.received])
    return titles


def test_a_silence_holds_the_firing_and_releases_it_when_it_expires(conn, receiver: Receiver) -> None:
    store.add_silence(conn, "valkey", minute(0), minute(5), "replica upgrade")
    titles = run_minutes(conn, receiver, [{"valkey": D, "postgres": D}] * 7)
    assert titles[2] == ["FIRING: PostgreSQL (test) down"], "a silence of Valkey holds nothing else"
    assert titles[4] == titles[2], "Valkey's incident is open and recorded, its firing held"
    [valkey] = store.incident_history(conn, "valkey", T0, 10)
    assert valkey.in_maintenance and valkey.ended_at is None and valkey.checks_failed == 7
    assert titles[5] == [*titles[2], "FIRING: Valkey (test) down"], "released when the silence ends"
    assert titles[6] == titles[5], "released once"
    firing = receiver.received[1]["message"]
    assert firing.startswith("Valkey (test) down since 2026-01-01 00:00:00 UTC; held during maintenance;")
    for n in (7, 8):
        cycle(conn, n, {"valkey": U}, [receiver.url], now=minute(n))
        send(conn, [receiver.url], minute(n))
    assert receiver.received[-1]["title"] == "RESOLVED: Valkey (test) after 7 min"


def test_an_incident_that_ends_inside_a_silence_tells_nobody(conn, receiver: Receiver) -> None:
    store.add_silence(conn, "all", minute(0), minute(60), "planned failover")
    run_minutes(conn, receiver, [{"valkey": s} for s in [D, D, D, D, U, U, U]])
    [incident] = store.incident_history(conn, "valkey", T0, 10)
    assert incident.ended_at == minute(4) and incident.in_maintenance
    assert receiver.received == [], "no firing while silenced, so no resolved either"
    assert store.next_due(conn) is None


def test_a_removed_silence_releases_the_firing_at_the_next_cycle(conn, receiver: Receiver) -> None:
    silence = store.add_silence(conn, "valkey", minute(0), minute(60), "replica upgrade")
    assert run_minutes(conn, receiver, [{"valkey": D}] * 4)[-1] == []
    assert store.remove_silence(conn, silence.id) and not store.remove_silence(conn, silence.id)
    cycle(conn, 4, {"valkey": D}, [receiver.url], now=minute(4))
    send(conn, [receiver.url], minute(4))
    assert [m["title"] for m in receiver.received] == ["FIRING: Valkey (test) down"]


def test_a_maintenance_window_holds_the_firing_of_its_services_until_it_closes(conn, receiver: Receiver) -> None:
    """T0 is 00:00 UTC: the window is open for its first four minutes."""
    rule = replace(RULE, windows=read("0 0 * * * 4m valkey"))
    titles = run_minutes(conn, receiver, [{"valkey": D, "postgres": D}] * 6, rule)
    assert titles[3] == ["FIRING: PostgreSQL (test) down"]
    assert titles[4] == ["FIRING: PostgreSQL (test) down", "FIRING: Valkey (test) down"]
    assert titles[5] == titles[4]
    by_service = {i.service: i.in_maintenance for i in store.incident_history(conn, None, T0, 10)}
    assert by_service == {"valkey": True, "postgres": False}


def test_a_reminder_is_sent_once_per_period_with_two_deciders(db_url: str, receiver: Receiver) -> None:
    pg = load({"DATABASE_URL": db_url}).postgres
    first, second = store.connect(pg, 10), store.connect(pg, 10)
    store.migrate(first)
    rule = replace(RULE, reminder_s=600)
    [channel], _ = channels_.parse((receiver.url,))
    errors: list[BaseException] = []

    def decide(conn, results, n: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            decide_incidents(conn, "test", results, rule, [channel], minute(n))
        except BaseException as exc:
            errors.append(exc)

    for n in range(26):
        results = [check("valkey", n, D if n < 24 else U)]
        store.write_results(first, results, minute(n))
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=decide, args=(c, results, n, barrier)) for c in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        send(first, [receiver.url], minute(n))
    assert errors == []
    assert [m["title"] for m in receiver.received] == [
        "FIRING: Valkey (test) down",  # minute 2
        "REMINDER: Valkey (test) still down",  # minute 12
        "REMINDER: Valkey (test) still down",  # minute 22
        "RESOLVED: Valkey (test) after 24 min",
    ]
    assert receiver.received[1]["message"].startswith("Valkey (test) still down after 12 min (since 2026-01-01 00:00")
    assert receiver.received[1]["type"] == "failure"
    [incident] = store.incident_history(first, "valkey", T0, 10)
    key = f"hybrid-monitor:test:valkey:{incident.id}"
    assert [m["dedup_key"] for m in receiver.received] == [key] * 4, "one key for every message of the incident"
    assert all(m["message"].endswith(f"\nincident key: {key}") for m in receiver.received)
    first.close()
    second.close()


def test_no_reminder_before_the_firing_was_sent_nor_when_reminders_are_off(conn) -> None:
    channel = Receiver()  # not started: the firing cannot be sent
    for n in range(40):
        cycle(conn, n, {"valkey": D}, [channel.url], rule=replace(RULE, reminder_s=600), now=minute(n))
    with conn.cursor() as cur:
        cur.execute("SELECT kind, count(*) FROM alert_deliveries GROUP BY kind")
        assert dict(cur.fetchall()) == {"firing": 1}
    receiver = Receiver().start()
    try:
        run_minutes(conn, receiver, [{"postgres": D}] * 40, replace(RULE, reminder_s=0))
    finally:
        receiver.stop()
    assert [m["title"] for m in receiver.received] == ["FIRING: PostgreSQL (test) down"]


def test_incidents_of_one_message_each_carry_their_key() -> None:
    [pagerduty, json_, slack], problems = channels_.parse(
        ("pagerduty://abc123@def456/", "json://127.0.0.1:1/hook", "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7F")
    )
    assert problems == () and [c.one_per_incident for c in (pagerduty, json_, slack)] == [True, False, False]
    plugin = apprise.Apprise.instantiate(channels_.keyed_url(pagerduty, ["hybrid-monitor:test:valkey:7"]))
    assert (plugin.dedup, plugin.action) == ("hybrid-monitor:test:valkey:7", "map"), "PagerDuty resolves its own"
    [chosen], _ = channels_.parse(("pagerduty://abc123@def456/?action=trigger",))
    assert apprise.Apprise.instantiate(channels_.keyed_url(chosen, ["k"])).action == "trigger", "the URL's own kept"
    plugin = apprise.Apprise.instantiate(channels_.keyed_url(json_, ["a:b:c:1", "a:b:d:2"]))
    assert plugin.payload_extras == {"dedup_key": "a:b:c:1,a:b:d:2"}
    assert channels_.keyed_url(slack, ["k"]) == slack.url, "others: the keys are in the body only"


def test_a_channel_taking_one_key_per_event_gets_one_message_per_incident(conn, receiver: Receiver) -> None:
    """PagerDuty's way (one dedup key per event), sent for real to the JSON receiver."""
    [channel], _ = channels_.parse((receiver.url,))
    channel = replace(channel, keyed_by="pagerduty")
    assert channel.one_per_incident
    for n in range(5):
        results = [check(s, n, D if n < 3 else U) for s in ("postgres", "valkey")]
        store.write_results(conn, results, minute(n))
        decide_incidents(conn, "test", results, RULE, [channel], minute(n))
        send_due(conn, [channel], clock=lambda n=n: minute(n))
    ids = {i.service: i.id for i in store.incident_history(conn, None, T0, 10)}
    assert [(m["title"], m["message"].splitlines()[-1]) for m in receiver.received] == [
        ("FIRING: PostgreSQL (test) down", f"incident key: hybrid-monitor:test:postgres:{ids['postgres']}"),
        ("FIRING: Valkey (test) down", f"incident key: hybrid-monitor:test:valkey:{ids['valkey']}"),
        ("RESOLVED: PostgreSQL (test) after 3 min", f"incident key: hybrid-monitor:test:postgres:{ids['postgres']}"),
        ("RESOLVED: Valkey (test) after 3 min", f"incident key: hybrid-monitor:test:valkey:{ids['valkey']}"),
    ]


def silence_cli(db_url: str, *args: str, windows: str = "") -> subprocess.CompletedProcess:
    env = {"DATABASE_URL": db_url, "PATH": os.environ["PATH"], "MAINTENANCE_WINDOWS": windows}
    return subprocess.run(
        [sys.executable, "-m", "jobs", "silence", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_silence_commands_add_list_and_remove(db_url: str) -> None:
    added = silence_cli(db_url, "add", "postgres", "--for", "2h", "--reason", "replica upgrade")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("silence 1: postgres until ")
    listed = silence_cli(db_url, "list")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert line.startswith("1  postgres  until ") and line.endswith(" UTC  replica upgrade")
    conn = store.connect(load({"DATABASE_URL": db_url}).postgres, 10)
    with conn.cursor() as cur:
        cur.execute("SELECT ends_at - starts_at, reason FROM silences")
        assert cur.fetchall() == [(timedelta(hours=2), "replica upgrade")]
    conn.close()
    assert silence_cli(db_url, "remove", "1").stdout == "silence 1 removed\n"
    assert silence_cli(db_url, "list").stdout == "no silence active\n"
    missing = silence_cli(db_url, "remove", "1")
    assert (missing.returncode, missing.stderr) == (1, "error: no silence with id 1\n")
    # Each change is an operator action in the audit log (the shell's user: the CLI has no sign-in).
    conn = store.connect(load({"DATABASE_URL": db_url}).postgres, 10)
    entries = [(e.action, e.detail, e.actor.startswith("cli")) for e in store.audit_entries(conn, 10)]
    conn.close()
    assert entries == [("silence remove", "1", True), ("silence add", "1: postgres 2h", True)]


def test_wrong_silence_commands_are_one_line_naming_what_is_accepted(db_url: str) -> None:
    cases = {
        ("add", "pg", "--for", "2h", "--reason", "x"): "error: silence add: unknown service 'pg'; expected all or"
        " one of postgres, valkey, roles_anywhere, secrets_manager",
        ("add", "all", "--for", "2 hours", "--reason", "x"): "error: --for: expected a duration such as 90s, 15m, 2h"
        " or 1d12h (at most 365d), got '2 hours'",
        ("add", "all", "--for", "2h", "--reason", " "): "error: --reason: expected a few words saying why, got nothing",
        ("add", "valkey", "--reason", "x"): "error: python -m jobs silence add: the following arguments are required:"
        " --for (see python -m jobs silence add --help)",
        ("remove", "one"): "error: silence remove: expected a silence id (a whole number), got 'one'",
        ("mute",): "error: python -m jobs silence: argument action: invalid choice: 'mute' (choose from 'add',"
        " 'list', 'remove') (see python -m jobs silence --help)",
    }
    for args, error in cases.items():
        result = silence_cli(db_url, *args)
        assert (result.returncode, result.stdout, result.stderr) == (2, "", error + "\n"), args


def test_an_apprise_config_routes_by_tag_to_level_and_service(conn, tmp_path) -> None:
    every, database, warnings = Receiver().start(), Receiver().start(), Receiver().start()
    config = tmp_path / "apprise.yml"
    config.write_text(
        f"urls:\n  - {every.url}\n  - {database.url}:\n      tag: postgres\n  - {warnings.url}:\n      tag: warning\n"
    )
    channels, problems = channels_.load(load({"ALERT_CONFIG": str(config)}).alerting)
    assert problems == [] and [sorted(c.tags) for c in channels] == [[], ["postgres"], ["warning"]]
    try:
        for n in range(5):
            statuses = {"postgres": D, "valkey": D, "roles_anywhere": Status.DEGRADED} if n < 3 else {}
            statuses = statuses or {"postgres": U, "valkey": U, "roles_anywhere": U}
            results = [check(s, n, st) for s, st in statuses.items()]
            store.write_results(conn, results, minute(n))
            decide_incidents(conn, "test", results, RULE, channels, minute(n))
            send_due(conn, channels, clock=lambda n=n: minute(n))
    finally:
        for receiver_ in (every, database, warnings):
            receiver_.stop()
    assert [m["title"] for m in every.received] == [
        "FIRING: 3 incidents (PostgreSQL (test), Valkey (test), AWS IAM Roles Anywhere (test))",
        "RESOLVED: 3 incidents (PostgreSQL (test), Valkey (test), AWS IAM Roles Anywhere (test))",
    ]
    assert [m["title"] for m in database.received] == [
        "FIRING: PostgreSQL (test) down",
        "RESOLVED: PostgreSQL (test) after 3 min",
    ]
    assert [m["title"] for m in warnings.received] == [
        "FIRING: AWS IAM Roles Anywhere (test) degraded",
        "RESOLVED: AWS IAM Roles Anywhere (test) after 3 min",
    ]


def test_an_unusable_apprise_config_is_one_line_and_the_other_channels_still_work(tmp_path) -> None:
    missing = tmp_path / "missing.yml"
    channels, problems = channels_.load(
        load({"ALERT_CONFIG": str(missing), "ALERT_URLS": "json://127.0.0.1:1/a"}).alerting
    )
    assert [c.masked for c in channels] == ["json://127.0.0.1:1/…"]
    assert problems == [f"ALERT_CONFIG: {missing}: no URL Apprise can send to (not readable, or not Apprise YAML/TEXT)"]
    partly = tmp_path / "partly.txt"
    partly.write_text(f"json://127.0.0.1:1/hook/{'x' * 8}\nfoo://admin:hunter2@example.com/T0KEN9\n")
    channels, problems = channels_.load(load({"ALERT_CONFIG": str(partly)}).alerting)
    assert len(channels) == 1
    assert problems == [f"ALERT_CONFIG: {partly}: some entries are not URLs Apprise can send to; 1 used"]


def test_the_apprise_config_is_parsed_once_and_again_when_the_file_changes(tmp_path) -> None:
    config = tmp_path / "apprise.yml"
    config.write_text("urls:\n  - json://127.0.0.1:1/first\n")
    first = channels_.from_config(str(config))
    assert channels_.from_config(str(config)) is first  # each cycle asks; an unchanged file is not parsed again
    config.write_text("urls:\n  - json://127.0.0.1:1/first\n  - json://127.0.0.1:1/second:\n      tag: postgres\n")
    later = os.stat(config).st_mtime_ns + 1_000_000_000
    os.utime(config, ns=(later, later))  # a file system whose clock ticks coarsely still sees a new version
    channels, problems = channels_.from_config(str(config))
    assert problems == () and [sorted(c.tags) for c in channels] == [[], ["postgres"]]


def test_the_silence_list_names_the_maintenance_windows_and_a_wrong_one_stops_it(db_url: str) -> None:
    listed = silence_cli(db_url, "list", windows="* * * * * 1h all; 0 0 29 2 * 1m valkey")
    assert listed.stdout.splitlines() == [
        "no silence active",
        "maintenance window: * * * * * 1h all (open now)",
        "maintenance window: 0 0 29 2 * 1m valkey",
    ]
    wrong = silence_cli(db_url, "list", windows="0 3 * * sun 2h everything")
    assert (wrong.returncode, wrong.stdout) == (2, "")
    assert wrong.stderr == (
        "error: MAINTENANCE_WINDOWS: entry 1 ('0 3 * * sun 2h everything'): unknown service 'everything';"
        " expected all or postgres, valkey, roles_anywhere, secrets_manager\n"
    )
