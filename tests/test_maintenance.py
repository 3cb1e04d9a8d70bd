"""Retention against a real PostgreSQL: hourly roll-ups, pruning, and reads across the raw/rollup boundary."""

from __future__ import annotations

import itertools
import json
import random
import statistics
import threading
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from psycopg2.extras import execute_values

from jobs import maintenance, store
from jobs.settings import load

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 5
STATUSES = ("up", "up", "up", "up", "up", "up", "degraded", "down", "not_configured")


def seed(connection, start: datetime = T0, hours: int = HOURS, seed_value: int = 7) -> list[tuple]:
    """One check a minute for two services at two locations, random statuses and latencies; returns the rows
    (service, location, checked_at, status, latency_ms)."""
    rng = random.Random(seed_value)
    rows = []
    for minute in range(hours * 60):
        slot = start + timedelta(minutes=minute)
        for service in ("postgres", "valkey"):
            for location in ("ams3", "fra1"):
                # The first check of each hour falls exactly on the hour: the boundary cases.
                at = slot + timedelta(seconds=rng.uniform(0, 2) if minute % 60 else 0)
                rows.append((service, location, slot, at, rng.choice(STATUSES), round(rng.uniform(1, 200), 3)))
    with connection.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO probe_results (service, location, slot, checked_at, status, latency_ms) VALUES %s",
            rows,
            page_size=2000,
        )
    return [(s, loc, at, status, ms) for s, loc, _, at, status, ms in rows]


def expected_rollups(rows: list[tuple], until: datetime) -> dict[tuple, tuple]:
    """The rollup rows computed in Python: percentile_cont is linear interpolation, as 'inclusive' quantiles."""
    groups: dict[tuple, list[tuple]] = {}
    for service, location, at, status, ms in rows:
        hour = at.replace(minute=0, second=0, microsecond=0)
        if status != "not_configured" and hour < until:
            groups.setdefault((service, hour, location), []).append((status, ms))
    expected = {}
    for key, checks in groups.items():
        worked = sorted(ms for status, ms in checks if status in ("up", "degraded"))
        expected[key] = (
            len(checks),
            len(worked),
            worked[0],
            statistics.median(worked),
            statistics.quantiles(worked, n=20, method="inclusive")[18],
            worked[-1],
        )
    return expected


def rollups(connection) -> dict[tuple, tuple]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT service, hour, location, checks, up_checks, latency_ms_min, latency_ms_p50, latency_ms_p95,"
            " latency_ms_max FROM probe_rollups"
        )
        return {(s, h.astimezone(UTC), loc): tuple(rest) for s, h, loc, *rest in cur.fetchall()}


def direct_uptime(rows: list[tuple], service: str, start: datetime, end: datetime) -> float | None:
    checks = [
        status for s, _, at, status, _ in rows if s == service and start <= at < end and status != "not_configured"
    ]
    return sum(status in ("up", "degraded") for status in checks) / len(checks) if checks else None


def assert_same_rollups(found: dict, expected: dict) -> None:
    assert found.keys() == expected.keys()
    for key, values in expected.items():
        assert found[key][:2] == values[:2], key
        assert found[key][2:] == pytest.approx(values[2:]), key


def test_roll_up_matches_a_direct_computation_and_leaves_the_current_hour(conn) -> None:
    rows = seed(conn)
    now = T0 + timedelta(hours=3, minutes=30)
    assert store.roll_up(conn, now) > 0
    found = rollups(conn)
    assert {hour for _, hour, _ in found} == {T0 + timedelta(hours=h) for h in range(3)}
    assert_same_rollups(found, expected_rollups(rows, T0 + timedelta(hours=3)))
    with conn.cursor() as cur:
        cur.execute("SELECT rolled_until FROM probe_rollup_state")
        assert cur.fetchone()[0] == T0 + timedelta(hours=3)


def test_roll_up_twice_leaves_the_same_rows(conn) -> None:
    rows = seed(conn)
    now = T0 + timedelta(hours=HOURS, minutes=5)
    first = store.roll_up(conn, now)
    before = rollups(conn)
    assert first == len(before) == 2 * 2 * HOURS
    assert store.roll_up(conn, now) == 0  # nothing changed, nothing rewritten
    assert rollups(conn) == before
    assert_same_rollups(before, expected_rollups(rows, T0 + timedelta(hours=HOURS)))


def test_a_late_result_in_a_rolled_up_hour_is_taken_in_by_the_next_roll_up(conn) -> None:
    rows = seed(conn, hours=2)
    store.roll_up(conn, T0 + timedelta(hours=2))
    late = ("postgres", "ams3", T0 + timedelta(minutes=30, seconds=30), "down", 5000.0)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO probe_results (service, location, slot, checked_at, status, latency_ms)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (late[0], late[1], late[2], late[2], late[3], late[4]),
        )
    assert store.roll_up(conn, T0 + timedelta(hours=3)) == 1
    assert_same_rollups(rollups(conn), expected_rollups([*rows, late], T0 + timedelta(hours=2)))


def test_concurrent_roll_ups_count_every_check_once(conn, db_url: str) -> None:
    rows = seed(conn)
    now = T0 + timedelta(hours=HOURS)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        connection = psycopg2.connect(db_url)
        try:
            barrier.wait()
            store.roll_up(connection, now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    found = rollups(conn)
    assert_same_rollups(found, expected_rollups(rows, now))
    assert sum(values[0] for values in found.values()) == sum(1 for *_, status, _ in rows if status != "not_configured")


def raw_count(connection, before: datetime | None = None) -> int:
    with connection.cursor() as cur:
        if before is None:
            cur.execute("SELECT count(*) FROM probe_results")
        else:
            cur.execute("SELECT count(*) FROM probe_results WHERE checked_at < %s", (before,))
        return cur.fetchone()[0]


def test_prune_never_deletes_raw_rows_whose_hour_is_not_rolled_up(conn) -> None:
    start = T0 - timedelta(days=3)
    rows = seed(conn, start=start, hours=72)
    now = T0 + timedelta(minutes=10)
    # Nothing rolled up yet: however old, no raw row goes.
    assert store.prune(conn, now, raw_days=1, rollup_days=2, batch=100) == store.Pruned(0, 0)
    assert raw_count(conn) == len(rows)

    # Rolled up only to a day and a half ago: raw rows go up to the re-roll window before that, no further.
    rolled_until = T0 - timedelta(hours=36)
    store.roll_up(conn, rolled_until)
    keep_from = rolled_until - store.REROLL
    pruned = store.prune(conn, now, raw_days=1, rollup_days=2, batch=100)
    assert pruned.raw == sum(1 for r in rows if r[2] < keep_from)
    assert raw_count(conn, keep_from) == 0
    assert raw_count(conn) == sum(1 for r in rows if r[2] >= keep_from)
    # Rollups older than two days went; every hour whose raw rows are gone is still in the rollups.
    assert pruned.rollups > 0
    hours = {hour for _, hour, _ in rollups(conn)}
    assert min(hours) == now.replace(minute=0) - timedelta(days=2)

    # Fully rolled up: raw rows older than a day go, batch after batch.
    store.roll_up(conn, now)
    assert store.prune(conn, now, raw_days=1, rollup_days=400, batch=100).raw > 100
    keep_from = min(now - timedelta(days=1), T0 - store.REROLL)
    assert raw_count(conn, keep_from) == 0
    assert raw_count(conn) == sum(1 for r in rows if r[2] >= keep_from)


@pytest.mark.parametrize(
    ("start", "end", "rolled_until", "daily", "expected"),
    [
        # Nothing rolled up yet: all raw.
        (T0, T0 + timedelta(days=3), datetime(1, 1, 1, tzinfo=UTC), True, [("raw", T0, T0 + timedelta(days=3))]),
        # Unaligned start and end: raw for the partial hour, hours, then raw from rolled_until on.
        (
            T0 + timedelta(minutes=7),
            T0 + timedelta(hours=5, minutes=3),
            T0 + timedelta(hours=3),
            False,
            [
                ("raw", T0 + timedelta(minutes=7), T0 + timedelta(hours=1)),
                ("hourly", T0 + timedelta(hours=1), T0 + timedelta(hours=3)),
                ("raw", T0 + timedelta(hours=3), T0 + timedelta(hours=5, minutes=3)),
            ],
        ),
        # Whole days in the middle from the daily rollups, the hours around them from the hourly ones.
        (
            T0 - timedelta(days=2, hours=1, minutes=30),
            T0 + timedelta(hours=10),
            T0 + timedelta(hours=6),
            True,
            [
                ("raw", T0 - timedelta(days=2, hours=1, minutes=30), T0 - timedelta(days=2, hours=1)),
                ("hourly", T0 - timedelta(days=2, hours=1), T0 - timedelta(days=2)),
                ("daily", T0 - timedelta(days=2), T0),
                ("hourly", T0, T0 + timedelta(hours=6)),
                ("raw", T0 + timedelta(hours=6), T0 + timedelta(hours=10)),
            ],
        ),
        # Within one hour: raw only, even if rolled up far beyond.
        (
            T0 + timedelta(minutes=5),
            T0 + timedelta(minutes=50),
            T0 + timedelta(days=9),
            True,
            [("raw", T0 + timedelta(minutes=5), T0 + timedelta(minutes=50))],
        ),
    ],
)
def test_split_range_cuts_a_range_into_pieces_that_cover_it_once(start, end, rolled_until, daily, expected) -> None:
    pieces = store.spans_by_source(start, end, rolled_until, daily)
    assert [(p.source, p.start, p.end) for p in pieces] == expected
    assert pieces[0].start == start and pieces[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))


WINDOWS = [
    (T0, T0 + timedelta(hours=HOURS)),
    (T0 + timedelta(minutes=17), T0 + timedelta(hours=4, minutes=3)),
    (T0 + timedelta(hours=1, minutes=59), T0 + timedelta(hours=2, minutes=1)),
    (T0 + timedelta(hours=2, minutes=30), T0 + timedelta(hours=3, minutes=30)),
    (T0 - timedelta(days=2), T0 + timedelta(hours=2, minutes=45)),
]


@pytest.mark.parametrize("rolled_hours", [0, 1, 3, HOURS])
def test_reads_across_the_raw_rollup_boundary_count_every_check_once(conn, rolled_hours: int) -> None:
    rows = seed(conn)
    long_start, long_end = T0 - timedelta(days=2, minutes=13), T0 + timedelta(hours=HOURS, minutes=1)
    before = store.history(conn, "postgres", long_start, long_end)
    if rolled_hours:
        store.roll_up(conn, T0 + timedelta(hours=rolled_hours, minutes=20))
    for start, end in WINDOWS:
        for service in ("postgres", "valkey"):
            assert store.uptime(conn, service, start, end) == pytest.approx(direct_uptime(rows, service, start, end))
        expected = {s: direct_uptime(rows, s, start, end) for s in ("postgres", "valkey", "secrets_manager")}
        assert store.uptimes(conn, list(expected), start, end) == pytest.approx(expected)
        # The board's one-round-trip statement cuts the window the same way.
        assert store.latest_and_uptimes(conn, list(expected), start, end)[1] == pytest.approx(expected)
    # A long range reads hour buckets; whichever source each hour comes from, the points are the same.
    after = store.history(conn, "postgres", long_start, long_end)
    assert [p.t for p in after] == [p.t for p in before] == [T0 + timedelta(hours=h) for h in range(HOURS)]
    for b, a in zip(before, after, strict=True):
        assert (a.checks, a.up_ratio, a.latency_ms_max) == (b.checks, pytest.approx(b.up_ratio), b.latency_ms_max)
        assert a.latency_ms_p50 == pytest.approx(b.latency_ms_p50)
    assert sum(p.checks for p in after) == sum(1 for r in rows if r[0] == "postgres" and r[3] != "not_configured")


@pytest.mark.parametrize("rolled_hours", [0, 3])
def test_history_of_one_location_counts_its_checks_alone_from_raw_rows_and_rollups(conn, rolled_hours: int) -> None:
    rows = seed(conn)
    if rolled_hours:
        store.roll_up(conn, T0 + timedelta(hours=rolled_hours, minutes=20))
    long_range = (T0 - timedelta(days=2), T0 + timedelta(hours=HOURS, minutes=1))  # hour buckets
    short_range = (T0 + timedelta(hours=2, minutes=30), T0 + timedelta(hours=3, minutes=30))  # raw rows
    for start, end in (long_range, short_range):
        for location in ("ams3", "fra1"):
            expected = [r for r in rows if r[:2] == ("valkey", location) and start <= r[2] < end]
            points = store.history(conn, "valkey", start, end, location=location)
            counted = [r for r in expected if r[3] != "not_configured"]
            assert sum(p.checks for p in points) == len(counted)
            up = sum(p.up_ratio * p.checks for p in points)
            assert up == pytest.approx(sum(r[3] in ("up", "degraded") for r in counted))
            as_json = json.loads(store.history_json(conn, "valkey", start, end, location=location, settled={}))
            assert [p["checks"] for p in as_json] == [p.checks for p in points]
        every = store.history(conn, "valkey", start, end)
        assert sum(p.checks for p in every) == sum(
            1 for r in rows if r[0] == "valkey" and start <= r[2] < end and r[3] != "not_configured"
        )


def test_reads_across_daily_rollups_count_every_check_once(conn) -> None:
    start = T0 - timedelta(days=1)
    rows = seed(conn, start=start, hours=50, seed_value=11)
    windows = [
        (start, start + timedelta(hours=50)),
        (start - timedelta(days=3), T0 + timedelta(hours=25, minutes=13)),
        (start + timedelta(hours=23, minutes=59), T0 + timedelta(days=1, minutes=1)),
        (start + timedelta(minutes=1), T0 + timedelta(hours=23)),
    ]
    week = (T0 - timedelta(days=6, hours=3), T0 + timedelta(days=5))
    before = store.history(conn, "valkey", *week, max_points=3)  # whole-week buckets, from the raw rows
    store.roll_up(conn, T0 + timedelta(hours=26, minutes=10))
    with conn.cursor() as cur:
        cur.execute("SELECT day, sum(checks) FROM probe_rollups_daily GROUP BY day ORDER BY day")
        assert [day for day, _ in cur.fetchall()] == [start, T0]  # whole days only
    for window in windows:
        expected = {s: direct_uptime(rows, s, *window) for s in ("postgres", "valkey")}
        assert store.uptimes(conn, list(expected), *window) == pytest.approx(expected)
        assert store.latest_and_uptimes(conn, list(expected), *window)[1] == pytest.approx(expected)
    after = store.history(conn, "valkey", *week, max_points=3)  # now mostly from the daily rollups
    assert [(p.t, p.checks, p.latency_ms_max) for p in after] == [(p.t, p.checks, p.latency_ms_max) for p in before]
    for a, b in zip(after, before, strict=True):
        assert (a.up_ratio, a.latency_ms_p50) == (pytest.approx(b.up_ratio), pytest.approx(b.latency_ms_p50))
    assert sum(p.checks for p in after) == sum(1 for r in rows if r[0] == "valkey" and r[3] != "not_configured")


@pytest.fixture
def year(conn):
    """A year of hourly rollups and the last day of raw checks a minute, as retention leaves them."""
    end = T0 + timedelta(hours=10, minutes=7)
    day_ago = store.floor(end, store.HOUR) - timedelta(days=1)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO probe_rollups (service, hour, location, checks, up_checks, latency_ms_min, latency_ms_p50,"
            " latency_ms_p95, latency_ms_max)"
            " SELECT 'postgres', h, 'ams3', 60, 59, 1, 5, 9, 12 FROM generate_series(%s, %s, interval '1 hour') h",
            (day_ago - timedelta(days=370), day_ago - timedelta(hours=1)),
        )
        cur.execute(
            "INSERT INTO probe_results (service, location, slot, checked_at, status, latency_ms)"
            " SELECT 'postgres', 'ams3', t, t, 'up', 5 FROM generate_series(%s, %s, interval '1 minute') t",
            (day_ago, end),
        )
    # Rolls up the days of those hours; the raw day is left as not yet rolled up.
    store.roll_up(conn, day_ago)
    return end


@pytest.mark.parametrize("span", [timedelta(hours=1), timedelta(hours=24), timedelta(days=7), timedelta(days=365)])
def test_every_range_is_at_most_500_points(conn, year: datetime, span: timedelta) -> None:
    points = store.history(conn, "postgres", year - span, year)
    assert 0 < len(points) <= 500
    assert sum(p.checks for p in points) >= span.total_seconds() // 60 - 60  # the whole range is covered


def test_run_maintenance_rolls_up_and_prunes_with_the_settings(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RAW_RETENTION_DAYS", "1")
    connection = store.connect(load({"DATABASE_URL": db_url}).postgres, 10)
    store.migrate(connection)
    seed(connection, start=T0 - timedelta(days=3), hours=1)
    summary = maintenance.run_maintenance()
    assert summary["done"] is True
    assert summary["rollups_written"] == 8  # one hour and its day, of two services at two locations
    assert summary["raw_pruned"] == 240
    assert raw_count(connection) == 0
    connection.close()


def test_run_maintenance_against_an_unreachable_database_says_so_in_one_line(monkeypatch, caplog) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://monitor:hunter2-secret@127.0.0.1:9/monitor")
    assert maintenance.run_maintenance() == {"done": False}
    assert "maintenance not done: connection refused by 127.0.0.1:9" in caplog.text
    assert "hunter2" not in caplog.text


@pytest.mark.parametrize("span", [timedelta(hours=1), timedelta(hours=24), timedelta(days=30), timedelta(days=365)])
def test_history_as_json_holds_the_same_points(conn, year: datetime, span: timedelta) -> None:
    with conn.cursor() as cur:  # a failed check, so that some bucket has no latency
        cur.execute("UPDATE probe_results SET status = 'down' WHERE checked_at = %s", (year - timedelta(minutes=7),))
    expected = [
        {
            "t": p.t.isoformat(),
            "latency_ms_p50": p.latency_ms_p50,
            "latency_ms_max": p.latency_ms_max,
            "up_ratio": p.up_ratio,
            "checks": p.checks,
        }
        for p in store.history(conn, "postgres", year - span, year)
    ]
    assert json.loads(store.history_json(conn, "postgres", year - span, year)) == expected
    assert store.history_json(conn, "valkey", year - span, year) == "[]"


def test_long_ranges_keep_settled_points_until_the_rollups_move(conn, year: datetime) -> None:
    start = year - timedelta(days=30, minutes=17)  # 09:50, inside the bucket of 2 hours from 08:00
    settled: dict = {}
    first = json.loads(store.history_json(conn, "postgres", start, year, settled=settled))
    assert first == json.loads(store.history_json(conn, "postgres", start, year))  # the same without keeping
    # The first bucket is whole, though it begins before the range: its raw rows are long gone.
    assert first[0]["t"] == "2026-01-30T08:00:00+00:00" and first[0]["checks"] == 120
    assert len(first) <= 500 and sum(p["checks"] for p in first) >= 30 * 24 * 60
    [kept] = settled.values()
    assert kept.until <= store.floor(year, store.HOUR) - timedelta(days=2)  # outside the re-roll window
    later = start + timedelta(days=3)  # a shorter range in buckets of the same width takes its part of them
    assert store.history_json(conn, "postgres", later, year, settled=settled) == store.history_json(
        conn, "postgres", later, year
    )
    assert list(settled.values()) == [kept]

    # A settled hour is read once: a change under it (which no roll-up makes) shows only once read afresh.
    with conn.cursor() as cur:
        cur.execute("UPDATE probe_rollups SET checks = 61 WHERE service = 'postgres' AND hour = %s", (kept.start,))
    assert json.loads(store.history_json(conn, "postgres", start, year, settled=settled)) == first
    assert json.loads(store.history_json(conn, "postgres", start, year))[0]["checks"] == 121
    # Once the rollups move on, the kept points are read again.
    store.roll_up(conn, year)
    again = json.loads(store.history_json(conn, "postgres", start, year, settled=settled))
    assert again[0]["checks"] == 121
    assert again == json.loads(store.history_json(conn, "postgres", start, year))
