"""Incidents in a real PostgreSQL: decided from stored checks after each cycle, one open per service and
location whatever the number of workers deciding at once."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg2
import psycopg2.errors
import pytest

from jobs import store
from jobs.alerting import channels as channels_
from jobs.alerting.decide import Decided, decide_incidents
from jobs.cycle import probe_and_store
from jobs.result import ProbeResult, Status, utcnow
from jobs.settings import AlertSettings, load
from jobs.store.db import DECIDE_LOCK_KEY
from sandbox.embedded import free_port

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULE = AlertSettings()
U, G, D = Status.UP, Status.DEGRADED, Status.DOWN


def check(service: str, minute: int, status: Status, error: str | None = None) -> ProbeResult:
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=5.0,
        endpoint="127.0.0.1:1",
        checked_at=T0 + timedelta(minutes=minute),
        location="test",
        error=error if error is not None else (f"refused at minute {minute}" if status is D else None),
    )


def cycle(conn, minute: int, statuses: dict[str, Status], errors: dict[str, str] | None = None):
    """Store one cycle at `minute` and decide, as the worker does."""
    results = [check(s, minute, st, (errors or {}).get(s)) for s, st in statuses.items()]
    store.write_results(conn, results, T0 + timedelta(minutes=minute))
    return decide_incidents(conn, "test", results, RULE)


def all_incidents(conn) -> list[store.Incident]:
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM incidents")
        return store.incidents(conn, [row[0] for row in cur.fetchall()])


def test_a_single_failure_opens_nothing(conn) -> None:
    for minute, status in enumerate([U, D, U, U, U, D, U]):
        decided = cycle(conn, minute, {"postgres": status})
        assert not decided.opened
    assert all_incidents(conn) == []


def test_three_of_five_open_one_incident_that_two_good_checks_resolve(conn) -> None:
    opened_at = []
    for minute, status in enumerate([U, D, U, D, U, D, U, D]):
        opened_at += [minute for _ in cycle(conn, minute, {"valkey": status}).opened]
    assert opened_at == [5], "opened once, at the third failure of five, not again while it flips"
    [incident] = all_incidents(conn)
    assert (incident.service, incident.location, incident.level) == ("valkey", "test", "critical")
    assert incident.started_at == T0 + timedelta(minutes=1), "starts at the first failure of the window"
    assert incident.first_error == "refused at minute 1"
    assert (incident.checks_failed, incident.worst_status, incident.ended_at) == (4, "down", None)

    assert cycle(conn, 8, {"valkey": U}).resolved == []
    assert len(cycle(conn, 9, {"valkey": U}).resolved) == 1
    [incident] = all_incidents(conn)
    assert incident.ended_at == T0 + timedelta(minutes=8), "ends at the first of the good checks"
    assert incident.duration == timedelta(minutes=7)
    assert incident.checks_failed == 4
    for minute in (10, 11, 12):  # the failures it was opened for do not open another
        assert cycle(conn, minute, {"valkey": D if minute == 10 else U}).opened == []


def test_degraded_opens_a_warning_that_failures_make_critical(conn) -> None:
    for minute in range(3):
        cycle(conn, minute, {"postgres": G})
    [incident] = all_incidents(conn)
    assert (incident.level, incident.worst_status) == ("warning", "degraded")
    escalated = [cycle(conn, minute, {"postgres": D}).escalated for minute in (3, 4, 5)]
    assert escalated == [[], [], [incident.id]]
    [incident] = all_incidents(conn)
    assert (incident.level, incident.worst_status, incident.checks_failed) == ("critical", "down", 6)


def test_not_configured_is_not_a_failure(conn) -> None:
    for minute in range(6):
        cycle(conn, minute, {"roles_anywhere": Status.NOT_CONFIGURED})
    assert all_incidents(conn) == []


def test_secrets_manager_failing_with_roles_anywhere_is_caused_by_roles_anywhere(conn) -> None:
    no_credentials = "no AWS credentials: IAM Roles Anywhere failed (connection refused)"
    for minute in range(3):
        cycle(conn, minute, {"roles_anywhere": D, "secrets_manager": D}, {"secrets_manager": no_credentials})
        cycle(conn, minute, {"postgres": D})
    by_service = {i.service: i for i in all_incidents(conn)}
    assert by_service["secrets_manager"].root_cause == "AWS IAM Roles Anywhere"
    assert by_service["secrets_manager"].first_error == no_credentials
    assert by_service["roles_anywhere"].root_cause is None
    assert by_service["postgres"].root_cause is None


def test_a_service_failing_from_one_location_of_two_is_partial_and_the_outage_is_told_once_at_its_level(
    conn,
) -> None:
    """ALERT_FAILING_LOCATIONS defaults to every location: fra1 failing alone opens `partial` (told, to the
    channel tagged `partial`); once nyc3 fails too its incident opens `critical` and is told; fra1's partial
    then rises to critical without a second firing."""
    settings = load({"PROBE_LOCATIONS": "fra1,nyc3", "ALERT_URLS": "json://127.0.0.1:9/hook"})
    channels, problems = channels_.load(settings.alerting)
    assert problems == []

    def at(location: str, minute: int, status: Status) -> Decided:
        result = replace(check("secrets_manager", minute, status), location=location)
        store.write_results(conn, [result], result.checked_at)
        return decide_incidents(conn, location, [result], settings.alerting, channels, locations=settings.locations)

    for minute in range(3):
        fra1 = at("fra1", minute, D)
        at("nyc3", minute, U)
    [partial] = all_incidents(conn)
    assert (partial.location, partial.level) == ("fra1", "partial")
    assert fra1.opened == [partial.id]
    for minute in range(3, 6):
        fra1 = at("fra1", minute, D)
        nyc3 = at("nyc3", minute, D)
        assert fra1.escalated == fra1.opened == [], "fra1 decides before nyc3's incident opens"
    assert len(nyc3.opened) == 1
    fra1 = at("fra1", 6, D)
    assert (fra1.joined, fra1.escalated) == ([partial.id], []), "told already by nyc3: joins without a firing"
    levels = {i.location: i.level for i in all_incidents(conn)}
    assert levels == {"fra1": "critical", "nyc3": "critical"}
    with conn.cursor() as cur:
        cur.execute("SELECT incident_ids FROM alert_deliveries WHERE kind = 'firing' ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == [[partial.id], nyc3.opened]


def test_partials_opened_at_once_rise_with_one_firing(conn) -> None:
    """Two locations that start failing in the same minute both open `partial` (neither sees the other's yet);
    the next decision at the first raises its partial to critical with a firing, the second's joins it."""
    settings = load({"PROBE_LOCATIONS": "fra1,nyc3"})
    with store.transaction(conn) as cur:
        for location in ("fra1", "nyc3"):
            store.open_incident(cur, "valkey", location, "partial", T0, "refused", None)
    told = {}
    for location in ("fra1", "nyc3"):
        results = [replace(check("valkey", m, D), location=location) for m in range(3)]
        for result in results:
            store.write_results(conn, [result], result.checked_at)
        decided = decide_incidents(conn, location, results[-1:], settings.alerting, locations=settings.locations)
        told[location] = (len(decided.escalated), len(decided.joined))
    assert told == {"fra1": (1, 0), "nyc3": (0, 1)}
    assert {i.level for i in all_incidents(conn)} == {"critical"}


def _decide_at(conn, settings, location: str, service: str, minute: int, status: Status, now=None) -> Decided:
    result = replace(check(service, minute, status), location=location)
    store.write_results(conn, [result], result.checked_at)
    return decide_incidents(conn, location, [result], settings.alerting, now=now, locations=settings.locations)


def test_a_partial_rising_above_what_another_location_told_is_told(conn) -> None:
    """nyc3 told a warning (degraded there); fra1's partial, down, rises to critical: that level was not told,
    so it is. A rise to a level another location's incident holds already is not told again."""
    settings = load({"PROBE_LOCATIONS": "fra1,nyc3"})
    with store.transaction(conn) as cur:
        partial = store.open_incident(cur, "valkey", "fra1", "partial", T0, "refused", None)
        store.open_incident(cur, "valkey", "nyc3", "warning", T0, "slow", None)
    for minute in range(2):
        _decide_at(conn, settings, "fra1", "valkey", minute, D)
    rose = _decide_at(conn, settings, "fra1", "valkey", 2, D)
    assert (rose.escalated, rose.joined) == ([partial], [])
    with store.transaction(conn) as cur:
        other = store.open_incident(cur, "postgres", "nyc3", "critical", T0, "refused", None)
        degraded = store.open_incident(cur, "postgres", "fra1", "partial", T0, "slow", None)
    for minute in range(3):
        joined = _decide_at(conn, settings, "fra1", "postgres", minute, G)
    assert (joined.escalated, joined.joined) == ([], [degraded]), "warning: below nyc3's critical, told already"
    assert other is not None


def test_a_partial_held_in_a_quiet_period_owes_no_firing_once_it_joins_a_told_outage(conn) -> None:
    """fra1's partial opened in a silence (its firing held) joins nyc3's critical during the silence: when the
    silence ends, no firing is owed for it."""
    settings = load({"PROBE_LOCATIONS": "fra1,nyc3"})
    quiet = utcnow()
    store.add_silence(conn, "valkey", quiet - timedelta(hours=1), quiet + timedelta(hours=1), "upgrade")
    with store.transaction(conn) as cur:
        held = store.open_incident(cur, "valkey", "fra1", "partial", T0, "refused", None, held=True)
        store.open_incident(cur, "valkey", "nyc3", "critical", T0, "refused", None, told_at=T0)
    for minute in range(3):
        decided = _decide_at(conn, settings, "fra1", "valkey", minute, D, now=quiet)
    assert decided.joined == [held]
    after = _decide_at(conn, settings, "fra1", "valkey", 3, D, now=quiet + timedelta(hours=2))
    assert after.released == [], "told by nyc3: no firing owed once the silence ends"


def test_two_locations_deciding_at_once_see_each_others_incident(conn, db_url: str) -> None:
    """While nyc3's decision (holding the decision lock) has opened its partial and not committed, fra1's
    decision waits for it, then counts it: fra1 opens critical, not a second partial."""
    settings = load({"PROBE_LOCATIONS": "fra1,nyc3"})
    for minute in range(2):
        _decide_at(conn, settings, "fra1", "valkey", minute, D)
    other = store.connect(load({"DATABASE_URL": db_url}).postgres, 10)
    other.autocommit = False
    with other.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (DECIDE_LOCK_KEY,))
        store.open_incident(cur, "valkey", "nyc3", "partial", T0, "refused", None)
    found: list[Decided] = []
    fra1 = threading.Thread(target=lambda: found.append(_decide_at(conn, settings, "fra1", "valkey", 2, D)))
    fra1.start()
    fra1.join(1.0)
    assert fra1.is_alive(), "fra1 decided without waiting for nyc3's decision"
    other.commit()
    other.close()
    fra1.join(10)
    [decided] = found
    assert len(decided.opened) == 1
    assert {i.location: i.level for i in all_incidents(conn)} == {"nyc3": "partial", "fra1": "critical"}


def test_one_location_opens_at_its_level_as_before(conn) -> None:
    """With one location (or ALERT_FAILING_LOCATIONS=1), no incident is partial."""
    for settings in (load({}), load({"PROBE_LOCATIONS": "test,nyc3", "ALERT_FAILING_LOCATIONS": "1"})):
        conn.cursor().execute("TRUNCATE incidents")
        for minute in range(3):
            result = check("postgres", minute, D)
            store.write_results(conn, [result], result.checked_at)
            decide_incidents(conn, "test", [result], settings.alerting, locations=settings.locations)
        assert [i.level for i in all_incidents(conn)] == ["critical"]


def test_the_database_refuses_a_second_open_incident(conn) -> None:
    with store.transaction(conn) as cur:
        assert store.open_incident(cur, "valkey", "test", "critical", T0, "x", None) is not None
        assert store.open_incident(cur, "valkey", "test", "critical", T0, "x", None) is None
        assert store.open_incident(cur, "valkey", "elsewhere", "critical", T0, "x", None) is not None
    with pytest.raises(psycopg2.errors.UniqueViolation), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO incidents (service, location, level, started_at, worst_status)"
            " VALUES ('valkey', 'test', 'critical', %s, 'down')",
            (T0,),
        )


def test_two_workers_deciding_the_same_cycles_at_once_open_and_resolve_each_incident_once(db_url: str) -> None:
    pg = load({"DATABASE_URL": db_url}).postgres
    first, second = store.connect(pg, 10), store.connect(pg, 10)
    store.migrate(first)
    services = ["postgres", "valkey", "roles_anywhere", "secrets_manager"]
    statuses = [D, D, D, U, U] * 4  # each round: opens at its third check, resolves at its fifth
    decided_by: dict[str, list] = {"first": [], "second": []}
    errors: list[BaseException] = []

    def decide(name: str, conn, results: list[ProbeResult], barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            decided_by[name].append(decide_incidents(conn, "test", results, RULE))
        except BaseException as exc:
            errors.append(exc)

    for minute, status in enumerate(statuses):
        results = [check(s, minute, status) for s in services]
        store.write_results(first, results, T0 + timedelta(minutes=minute))
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=decide, args=(name, conn, results, barrier))
            for name, conn in (("first", first), ("second", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    opened = [i for d in decided_by["first"] + decided_by["second"] for i in d.opened]
    resolved = [i for d in decided_by["first"] + decided_by["second"] for i in d.resolved]
    incidents = all_incidents(first)
    assert len(incidents) == 4 * len(services), "one incident per service per round"
    assert sorted(opened) == sorted(resolved) == sorted(i.id for i in incidents), "each opened and resolved once"
    assert all(i.ended_at is not None and i.checks_failed == 3 for i in incidents)
    first.close()
    second.close()


def test_a_second_opener_waits_for_the_first_and_opens_nothing(db_url: str) -> None:
    pg = load({"DATABASE_URL": db_url}).postgres
    first, second = store.connect(pg, 10), store.connect(pg, 10)
    store.migrate(first)
    got: list[int | None] = []
    with store.transaction(first) as cur:
        mine = store.open_incident(cur, "valkey", "test", "critical", T0, "x", None)
        thread = threading.Thread(
            target=lambda: got.append(store.open_incident(second.cursor(), "valkey", "test", "critical", T0, "y", None))
        )
        thread.start()
        thread.join(timeout=1)
        assert thread.is_alive(), "the second insert waits on the first transaction's open incident"
    thread.join(timeout=10)
    assert mine is not None and got == [None]
    first.close()
    second.close()


def test_the_cycle_decides_incidents_from_what_it_stored(db_url: str) -> None:
    """Real cycles: Valkey's port closed for three of them opens Valkey's incident, and nothing else's."""
    env = {"DATABASE_URL": db_url, "VALKEY_URL": f"redis://127.0.0.1:{free_port()}/0", "PROBE_INTERVAL_S": "60"}
    env |= {"PROBE_TIMEOUT_S": "2", "PROBE_LOCATION": "test"}
    settings = load(env)
    for minute in range(3):
        results, not_stored = probe_and_store(settings, T0 + timedelta(minutes=minute))
        assert not_stored is None
        assert {r.service: r.status for r in results}["valkey"] is D
    conn = store.connect(settings.postgres, 10)
    [incident] = [i for i in all_incidents(conn) if i.level == "critical"]
    assert (incident.service, incident.location, incident.checks_failed) == ("valkey", "test", 3)
    assert "refused" in incident.first_error
    conn.close()
