"""The store against a real PostgreSQL: migrations, idempotent writes and the dashboard's reads."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from jobs import store
from jobs.result import ProbeResult, Status
from jobs.settings import load
from jobs.store.schema import MigrateOnce
from sandbox.embedded import free_port
from tests.conftest import ROOT

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def result(service: str, at: datetime, status: Status = Status.UP, latency_ms: float = 10.0, **extra) -> ProbeResult:
    return ProbeResult(
        service=service,
        status=status,
        latency_ms=latency_ms,
        endpoint="127.0.0.1:5432",
        checked_at=at,
        location=extra.pop("location", "test"),
        phases={"connect": latency_ms / 2, "read": latency_ms / 2},
        detail={"tls": False},
        error=None if status in (Status.UP, Status.DEGRADED) else "connection refused by 127.0.0.1:5432",
        **extra,
    )


def schema(connection) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
        return cur.fetchall()


def test_migrate_twice_applies_each_migration_once(db_url: str) -> None:
    connection = store.connect(load({"DATABASE_URL": db_url}).postgres, 5)
    first = store.migrate(connection)
    before = schema(connection)
    assert first == [path.name for _, path in store.migration_files()]
    assert store.migrate(connection) == []
    assert schema(connection) == before
    with connection.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations")
        assert sorted(row[0] for row in cur.fetchall()) == [v for v, _ in store.migration_files()]
    connection.close()


def test_migrations_from_several_processes_at_once_leave_one_schema(db_url: str) -> None:
    code = (
        "import sys; from jobs import store; from jobs.settings import load; "
        "print(len(store.migrate(store.connect(load({'DATABASE_URL': sys.argv[1]}).postgres, 10))))"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", code, db_url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    applied = [int(p.communicate(timeout=60)[0]) for p in processes]
    assert all(p.returncode == 0 for p in processes)
    # Exactly one process applied the migrations; the others found them done.
    assert sorted(applied) == [0, 0, 0, len(store.migration_files())]
    connection = psycopg2.connect(db_url)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        assert cur.fetchone()[0] == len(store.migration_files())
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'probe_results'")
        assert cur.fetchone()[0] == 3  # primary key, once-per-slot, (service, checked_at)
    connection.close()


def test_write_results_is_idempotent_per_service_location_and_slot(conn) -> None:
    slot = T0
    cycle = [result("postgres", T0 + timedelta(seconds=1)), result("valkey", T0 + timedelta(seconds=1))]
    assert store.write_results(conn, cycle, slot) == 2
    rerun = [result("postgres", T0 + timedelta(seconds=2), Status.DOWN), result("valkey", T0 + timedelta(seconds=2))]
    assert store.write_results(conn, rerun, slot) == 0
    # Another location shares the database without colliding.
    assert store.write_results(conn, [result("postgres", T0, location="fra1")], slot) == 1
    assert store.write_results(conn, [], slot) == 0
    with conn.cursor() as cur:
        cur.execute("SELECT service, location, status FROM probe_results ORDER BY service, location")
        assert cur.fetchall() == [("postgres", "fra1", "up"), ("postgres", "test", "up"), ("valkey", "test", "up")]


def test_failed_check_counts_never_count_a_duplicate_and_never_decrease(conn) -> None:
    down = [result("postgres", T0, Status.DOWN), result("valkey", T0), result("secrets_manager", T0, Status.DOWN)]
    store.write_results(conn, down, T0)
    store.write_results(conn, down, T0)  # the same slot again: dropped, so not counted
    store.write_results(conn, [result("postgres", T0, Status.DOWN, location="fra1")], T0)
    store.write_results(conn, [result("roles_anywhere", T0, Status.NOT_CONFIGURED)], T0)
    assert store.failed_check_counts(conn) == {"postgres": 2, "valkey": 0, "secrets_manager": 1}
    with conn.cursor() as cur:
        cur.execute("DELETE FROM probe_results")  # what retention does to old rows
    assert store.failed_check_counts(conn) == {"postgres": 2, "valkey": 0, "secrets_manager": 1}


def test_status_outside_the_known_set_is_refused_by_the_schema(conn) -> None:
    with pytest.raises(psycopg2.errors.CheckViolation), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO probe_results (service, location, slot, checked_at, status, latency_ms)"
            " VALUES ('postgres', 'test', now(), now(), 'green', 1)"
        )


def test_latest_and_recent_results_round_trip(conn) -> None:
    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        status = Status.DOWN if minute == 4 else Status.UP
        store.write_results(conn, [result("postgres", at, status, 10 + minute), result("valkey", at)], at)
    latest = store.latest_results(conn)
    assert list(latest) == ["postgres", "valkey"]  # display order; unchecked services absent
    assert latest["postgres"].status is Status.DOWN
    assert latest["postgres"].checked_at == T0 + timedelta(minutes=4)
    assert latest["postgres"].checked_at.tzinfo is not None
    assert latest["postgres"] == result("postgres", T0 + timedelta(minutes=4), Status.DOWN, 14)

    recent = store.recent_results(conn, "postgres", limit=3)
    assert [r.latency_ms for r in recent] == [14, 13, 12]
    assert store.recent_results(conn, "secrets_manager") == []
    assert store.last_cycle_at(conn) == T0 + timedelta(minutes=4)


def test_latest_with_uptimes_in_one_go_and_again_after_a_rollback(conn) -> None:
    for minute in range(4):
        at = T0 + timedelta(minutes=minute)
        store.write_results(conn, [result("postgres", at, Status.DOWN if minute == 3 else Status.UP)], at)
    conn.autocommit = False  # so that the first call runs in a transaction, which is then rolled back
    window = (T0, T0 + timedelta(hours=1))
    for _ in range(2):  # the latest results' statement, prepared by the first call, outlives a rollback
        latest, uptimes = store.latest_and_uptimes(conn, ["postgres", "valkey"], *window)
        conn.rollback()
        assert latest == store.latest_results(conn)
        assert latest["postgres"].checked_at == T0 + timedelta(minutes=3)
        assert uptimes == {"postgres": 0.75, "valkey": None}
        assert uptimes == store.uptimes(conn, ["postgres", "valkey"], *window)


def test_the_board_statement_is_prepared_again_in_a_new_server_session(conn) -> None:
    store.write_results(conn, [result("postgres", T0)], T0)
    window = (T0, T0 + timedelta(hours=1))
    assert store.latest_and_uptimes(conn, ["postgres"], *window)[1] == {"postgres": 1.0}
    with conn.cursor() as cur:
        cur.execute("DISCARD ALL")  # what a pooler handing over another session amounts to
    with pytest.raises(psycopg2.errors.InvalidSqlStatementName):
        store.latest_and_uptimes(conn, ["postgres"], *window)
    assert store.latest_and_uptimes(conn, ["postgres"], *window)[1] == {"postgres": 1.0}


def test_empty_store_reads(conn) -> None:
    assert store.latest_results(conn) == {}
    assert store.last_cycle_at(conn) is None
    assert store.uptime(conn, "postgres", T0, T0 + timedelta(hours=1)) is None
    assert store.history(conn, "postgres", T0, T0 + timedelta(hours=1)) == []


def test_history_downsamples_in_the_server(conn) -> None:
    # Two hours of one check a minute: latency = minute of the hour, down every 10th minute.
    rows = []
    for minute in range(120):
        at = T0 + timedelta(minutes=minute)
        status = Status.DOWN if minute % 10 == 9 else Status.UP
        rows.append((at, result("postgres", at, status, float(minute % 60))))
    for at, row in rows:
        store.write_results(conn, [row], at)
    store.write_results(conn, [result("postgres", T0, Status.NOT_CONFIGURED, location="other")], T0)

    points = store.history(conn, "postgres", T0, T0 + timedelta(hours=2), max_points=5)
    assert len(points) <= 5
    assert points[0].t == T0  # buckets are aligned to the epoch
    width = points[1].t - points[0].t
    assert width == store.bucket_width(T0, T0 + timedelta(hours=2), 5) == timedelta(minutes=30)
    assert sum(p.checks for p in points) == 120  # not_configured is not a check
    first = points[0]  # minutes 0..29: down at 9, 19, 29
    assert first.checks == 30
    assert first.up_ratio == pytest.approx(27 / 30)
    working = sorted(m for m in range(30) if m % 10 != 9)
    assert first.latency_ms_max == 28
    assert len(working) == 27
    assert first.latency_ms_p50 == working[13] == 14

    fine = store.history(conn, "postgres", T0, T0 + timedelta(hours=2), max_points=500)
    assert len(fine) == 120
    assert all(p.checks == 1 for p in fine)
    assert fine[9].latency_ms_p50 is None and fine[9].up_ratio == 0

    assert store.uptime(conn, "postgres", T0, T0 + timedelta(hours=2)) == pytest.approx(108 / 120)
    assert store.uptime(conn, "postgres", T0, T0 + timedelta(minutes=9)) == 1.0


@pytest.mark.parametrize(
    ("span", "max_points", "width"),
    [
        (timedelta(hours=1), 500, timedelta(seconds=10)),
        (timedelta(hours=24), 500, timedelta(minutes=5)),
        (timedelta(days=7), 500, timedelta(minutes=30)),
        (timedelta(days=30), 500, timedelta(hours=2)),
        (timedelta(days=365), 500, timedelta(days=1)),
        (timedelta(days=3650), 500, timedelta(days=8)),
        (timedelta(minutes=5), 500, timedelta(seconds=1)),
        (timedelta(0), 500, timedelta(seconds=1)),
    ],
)
def test_bucket_width_is_a_readable_step_within_max_points(span, max_points, width) -> None:
    start = T0 + timedelta(seconds=7)  # not aligned to the buckets
    assert store.bucket_width(start, start + span, max_points) == width
    # However the range falls on the epoch-aligned buckets, it touches at most max_points of them.
    first = (start - store.EPOCH) // width
    last = (start + span - timedelta(microseconds=1) - store.EPOCH) // width
    assert last - first + 1 <= max_points


def test_bucket_width_refuses_fewer_than_two_points() -> None:
    with pytest.raises(ValueError, match="max_points"):
        store.bucket_width(T0, T0 + timedelta(hours=1), 1)


def test_migrate_once_applies_once_per_database_and_after_a_failure_waits_out_retry_s(db_url: str) -> None:
    once = MigrateOnce()  # a process's own instance, so no other test's migrations count
    pg = load({"DATABASE_URL": db_url}).postgres
    assert once(pg, 10) == [path.name for _, path in store.migration_files()]
    # Done for this database: not even a connection is opened again (a wrong password would fail it).
    assert once(dataclasses.replace(pg, password="wrong"), 10) == []

    nowhere = load({"DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{free_port()}/monitor"}).postgres
    with pytest.raises(psycopg2.OperationalError):
        once(nowhere, 2)  # a caller that does not wait out failures (the web's start) ...
    with pytest.raises(psycopg2.OperationalError):
        once(nowhere, 2, retry_s=60)  # ... leaves the next caller free to try at once
    assert once(nowhere, 2, retry_s=60) == [], "within retry_s of a remembered failure it is not tried again"
    with pytest.raises(psycopg2.OperationalError):
        once(nowhere, 2)


def test_audit_log_keeps_who_what_when_newest_first(conn) -> None:
    start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    ids = [
        store.add_audit_entry(conn, start, "ann@example.com", "sign-in", "oidc"),
        store.add_audit_entry(conn, start + timedelta(seconds=5), "-", "sign-in refused", "basic: wrong password"),
        store.add_audit_entry(conn, start + timedelta(seconds=9), "ann@example.com", "sign-out"),
    ]
    entries = store.audit_entries(conn, 10)
    assert [e.id for e in entries] == ids[::-1]
    assert entries[0] == store.AuditEntry(ids[2], start + timedelta(seconds=9), "ann@example.com", "sign-out", "")
    assert [e.id for e in store.audit_entries(conn, 1)] == [ids[2]]
    assert [(e.actor, e.detail) for e in store.audit_entries(conn, 10, "sign-in")] == [("ann@example.com", "oidc")]
