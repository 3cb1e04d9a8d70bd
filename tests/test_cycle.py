"""The probe cycle against real servers: concurrency under a hard deadline, idempotent slots, the CLI."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis

from jobs import cycle, queueing, store, tasks
from jobs.defaults import WAVE_S
from jobs.probes import PROBES, WAVES
from jobs.probes.outcome import not_configured
from jobs.result import SERVICE_NAMES, Status
from jobs.settings import load
from tests.conftest import ROOT, WORKING
from tests.phases import assert_phases_account_for_latency
from tests.rq_support import work

SLOT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rows(db_url: str) -> list[tuple]:
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT service, slot, status FROM probe_results ORDER BY slot, service")
        found = cur.fetchall()
    conn.close()
    return found


@pytest.fixture
def env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test servers as the cycle's environment (run_cycle reads its settings like the worker does)."""
    for name, value in base_env.items():
        monkeypatch.setenv(name, value)
    return base_env


@pytest.fixture
def migrated_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with the schema in place, as the web or an earlier cycle would have left it."""
    conn = store.connect(load(env).postgres, 5)
    store.migrate(conn)
    conn.close()
    return env


@pytest.fixture
def stuck() -> threading.Event:
    release = threading.Event()
    yield release
    release.set()  # let the abandoned probe thread finish


@pytest.mark.parametrize(
    ("moment", "interval", "slot"),
    [
        (datetime(2026, 3, 1, 12, 0, 59, 999000, tzinfo=UTC), 60, datetime(2026, 3, 1, 12, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 12, 1, tzinfo=UTC), 60, datetime(2026, 3, 1, 12, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, 12, 0, 3, tzinfo=UTC), 2, datetime(2026, 3, 1, 12, 0, 2, tzinfo=UTC)),
        (datetime(2026, 3, 1, 13, 0, 3, tzinfo=UTC).astimezone(), 300, datetime(2026, 3, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_slot_is_the_moment_floored_to_the_interval(moment: datetime, interval: int, slot: datetime) -> None:
    assert cycle.slot_of(moment, interval) == slot


def test_outside_rq_the_slot_is_the_current_one() -> None:
    before = cycle.slot_of(datetime.now(UTC), 60)
    assert cycle.scheduled_slot(60) in (before, before + timedelta(seconds=60))


def test_cycle_stores_one_row_per_service_even_when_run_twice_for_a_slot(env: dict[str, str]) -> None:
    first = cycle.run_cycle(SLOT)
    second = cycle.run_cycle(SLOT)
    assert first["slot"] == second["slot"] == SLOT.isoformat()
    assert first["stored"] and second["stored"]
    assert first["statuses"]["postgres"] in WORKING and first["statuses"]["valkey"] in WORKING, first
    assert first["statuses"] == {
        **{s: first["statuses"][s] for s in ("postgres", "valkey")},
        "roles_anywhere": "not_configured",
        "secrets_manager": "not_configured",
    }
    assert [(service, slot) for service, slot, _ in rows(env["DATABASE_URL"])] == [
        (service, SLOT) for service in sorted(SERVICE_NAMES)
    ]
    cycle.run_cycle(SLOT + timedelta(seconds=2))
    assert len(rows(env["DATABASE_URL"])) == 2 * len(SERVICE_NAMES)


def valkey_contents(connection: redis.Redis) -> bytes:
    """Every key and value in Valkey, as raw bytes."""
    readers = {
        b"string": connection.get,
        b"hash": connection.hgetall,
        b"list": lambda key: connection.lrange(key, 0, -1),
        b"set": connection.smembers,
        b"zset": lambda key: connection.zrange(key, 0, -1),
        b"stream": connection.xrange,
    }
    return b"\n".join(key + repr(readers[connection.type(key)](key)).encode() for key in connection.scan_iter())


def test_the_cycle_job_result_kept_in_valkey_holds_no_secret(env: dict[str, str], monkeypatch) -> None:
    """Run by a real RQ worker with wrong passwords, so that both checks fail with errors: RQ keeps what the
    job returns in Valkey, where anyone with access to `/rq` or to Valkey reads it."""
    wrong = {"DATABASE_URL": f"pg-{secrets.token_hex(8)}", "VALKEY_URL": f"vk-{secrets.token_hex(8)}"}
    for variable, password in wrong.items():
        monkeypatch.setenv(variable, env[variable].replace(urlsplit(env[variable]).password, password))
    connection = redis.Redis.from_url(env["VALKEY_URL"])  # RQ's own connection, with the right password
    queue = queueing.queue(tasks.probe_queue(env["PROBE_LOCATION"]), connection)
    job = queue.enqueue(tasks.run_cycle)
    work([queue.name], connection)

    kept = queueing.OurJob.fetch(job.id, connection=connection, serializer=queueing.SERIALIZER)
    summary = kept.return_value()
    assert summary["stored"] is False
    assert (summary["statuses"]["postgres"], summary["statuses"]["valkey"]) == ("down", "down"), summary
    read = json.dumps([summary, *[(r.return_value, r.exc_string) for r in kept.results()]])
    raw = valkey_contents(connection)
    assert job.id.encode() in raw  # the scan sees the job
    for password in wrong.values():
        assert password not in read and password.encode() not in raw
    connection.close()


def test_a_cycle_of_another_location_is_refused_not_probed_from_here(migrated_env: dict[str, str]) -> None:
    """A worker started on another location's queue by mistake fails that location's cycles, one line each."""
    connection = redis.Redis.from_url(migrated_env["VALKEY_URL"])
    queue = queueing.queue(tasks.probe_queue("nyc3"), connection)
    job = queue.enqueue(tasks.run_cycle, kwargs={"location": "nyc3"})
    work([queue.name], connection)

    assert queueing.OurJob.fetch(job.id, connection=connection, serializer=queueing.SERIALIZER).get_status() == "failed"
    assert "WrongLocation: a cycle of location 'nyc3' reached a worker in 'test'" in job.latest_result().exc_string
    assert rows(migrated_env["DATABASE_URL"]) == []
    connection.close()


def test_a_probe_that_hangs_or_crashes_is_down_and_the_cycle_ends_at_the_deadline(
    migrated_env: dict[str, str], stuck: threading.Event
) -> None:
    settings = load(migrated_env)
    password = settings.postgres.password

    def crash(_settings):
        raise RuntimeError(f"boom with {password}\nsecond line")

    probes = {"postgres": PROBES["postgres"], "valkey": lambda _settings: stuck.wait(), "roles_anywhere": crash}
    started = time.monotonic()
    results = cycle.run_probes(settings, probes)
    elapsed = time.monotonic() - started
    # The stuck probe never returns: the cycle ends at the deadline (the margin is for a loaded machine).
    assert elapsed < settings.probe_timeout_s + 3
    by_service = {r.service: r for r in results}
    assert list(by_service) == list(SERVICE_NAMES)
    assert by_service["postgres"].status in WORKING, by_service["postgres"].error
    assert by_service["valkey"].status is Status.DOWN
    assert by_service["valkey"].error == "timed out after 1.5 s (the probe did not return)"
    assert by_service["roles_anywhere"].status is Status.DOWN
    assert by_service["roles_anywhere"].error == "probe crashed: boom with ***"
    assert by_service["secrets_manager"].status is Status.NOT_CONFIGURED
    assert all(r.location == "test" for r in results)


def test_cycle_with_hung_valkey_ends_within_the_deadline_and_stores(
    migrated_env: dict[str, str], silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A timeout long enough that "waited on the hung Valkey once" (5 s + a loaded machine's margin) and
    # "waited again to cache or keep the results" (10 s and more) cannot be confused.
    monkeypatch.setenv("PROBE_INTERVAL_S", "20")
    monkeypatch.setenv("PROBE_TIMEOUT_S", "5")
    monkeypatch.setenv("VALKEY_URL", f"redis://:pw@127.0.0.1:{silent_port}/0")
    started = time.monotonic()
    summary = cycle.run_cycle(SLOT)
    assert time.monotonic() - started < 5 + 3
    assert summary["statuses"]["valkey"] == "down" and summary["statuses"]["postgres"] in WORKING, summary
    assert summary["stored"]
    assert ("valkey", SLOT, "down") in rows(migrated_env["DATABASE_URL"])


def test_cycle_with_hung_postgres_ends_within_its_bound(
    env: dict[str, str], silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_INTERVAL_S", "20")
    monkeypatch.setenv("PROBE_TIMEOUT_S", "3")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://monitor:pw@127.0.0.1:{silent_port}/monitor")
    started = time.monotonic()
    summary = cycle.run_cycle(SLOT)
    # Three waits on the hung PostgreSQL, each bounded by the probe timeout: the migration tried before
    # probing, the probe, and the migration tried before storing (the margin is for a loaded machine).
    assert time.monotonic() - started < 3 * 3 + 3
    assert summary["stored"] is False
    assert summary["statuses"]["postgres"] == "down" and summary["statuses"]["valkey"] in WORKING, summary


def run_jobs(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_once_prints_the_table_stores_and_exits_0_when_nothing_is_down(base_env: dict[str, str]) -> None:
    done = run_jobs(["run-once"], base_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["SERVICE", "STATUS", "LATENCY", "ENDPOINT", "ERROR"]
    table = {line.split()[0]: line.split() for line in lines[1:5]}
    assert list(table) == list(SERVICE_NAMES)
    assert table["postgres"][1] in WORKING and table["valkey"][1] in WORKING, done.stdout
    assert table["roles_anywhere"][1] == "not_configured"
    # The columns line up: every row's status and latency start where the header's do.
    assert {re.match(r"\S+\s+", line).end() for line in lines[:5]} == {lines[0].index("STATUS")}
    assert {re.match(r"(\S+\s+){2}", line).end() for line in lines[:5]} == {lines[0].index("LATENCY")}
    assert lines[5].startswith("stored for slot ")
    assert len(rows(base_env["DATABASE_URL"])) == len(SERVICE_NAMES)


def test_run_once_exits_1_when_a_probe_is_down_and_prints_no_password(base_env: dict[str, str]) -> None:
    password = urlsplit(base_env["VALKEY_URL"]).password
    env = {**base_env, "VALKEY_URL": base_env["VALKEY_URL"].replace(password, "not-the-password")}
    done = run_jobs(["run-once"], env)
    assert done.returncode == 1
    assert "valkey           down" in done.stdout
    assert "not-the-password" not in done.stdout + done.stderr


def test_bad_settings_are_one_line_and_exit_2(base_env: dict[str, str]) -> None:
    for command in (["run-once"], ["migrate"]):
        done = run_jobs(command, {**base_env, "PROBE_INTERVAL_S": "soon"})
        assert done.returncode == 2
        assert done.stderr == "error: PROBE_INTERVAL_S: expected a whole number from 1 to 3600, got 'soon'\n"
        assert done.stdout == ""


def test_migrate_command_applies_then_reports_up_to_date(base_env: dict[str, str]) -> None:
    first, second = run_jobs(["migrate"], base_env), run_jobs(["migrate"], base_env)
    assert (first.returncode, second.returncode) == (0, 0)
    assert first.stdout == "applied " + ", ".join(path.name for _, path in store.migration_files()) + "\n"
    assert second.stdout == "schema up to date\n"
    unreachable = run_jobs(["migrate"], {**base_env, "DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/x"})
    assert unreachable.returncode == 1
    assert unreachable.stderr == "error: connection refused by 127.0.0.1:9\n"


def test_the_probes_run_in_waves_and_a_hung_one_holds_the_next_back_only_briefly() -> None:
    settings = load({"PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "3"})
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    hang = threading.Event()

    def probe(service: str, seconds: float):
        def run(_settings):
            started[service] = time.monotonic()
            hang.wait() if seconds < 0 else time.sleep(seconds)
            ended[service] = time.monotonic()
            return not_configured(service, _settings, "test")

        return run

    quick = {"a": probe("a", 0.05), "b": probe("b", 0.1), "c": probe("c", 0.05), "later": probe("later", 0.05)}
    cycle.run_probes(settings, quick, waves=[frozenset({"a", "b"}), frozenset({"c"})])
    assert abs(started["a"] - started["b"]) < 0.05, "a wave's probes run at once"
    assert started["c"] >= max(ended["a"], ended["b"]), "the next wave starts when the one before is done"
    assert started["later"] >= ended["c"], "the others start after the last wave"

    began = time.monotonic()
    results = cycle.run_probes(settings, {"a": probe("a", -1), "later": probe("later", 0)}, waves=[frozenset({"a"})])
    assert WAVE_S <= started["later"] - began < WAVE_S + 0.5, "a hung probe delays the next wave briefly"
    assert {r.service: r.status for r in results}["a"] is Status.DOWN
    hang.set()
    assert (frozenset({"valkey"}), frozenset({"postgres"})) == WAVES


def test_a_probe_burning_cpu_does_not_show_in_the_network_probes_phases(migrated_env: dict[str, str]) -> None:
    """A probe that keeps the interpreter busy for a whole second (pure Python: it lets go only when Python's
    switch interval forces it) beside the PostgreSQL and Valkey probes: they finish while it burns, and their
    phases stay far below that second, since they wait for the interpreter only briefly after each answer; the
    waits between their steps are our overhead, not their latency."""
    settings = load({**migrated_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5"})
    burn_s = 1.0
    burned: dict[str, datetime] = {}

    def burner(_settings):
        burned["from"] = datetime.now(UTC)
        end = time.perf_counter() + burn_s
        while time.perf_counter() < end:
            pass
        burned["until"] = datetime.now(UTC)
        return not_configured("burner", _settings, "burns CPU")

    # The burner first, and in the same wave, so it is burning when the network probes start.
    probes = {"burner": burner, "postgres": PROBES["postgres"], "valkey": PROBES["valkey"]}
    by_service = {r.service: r for r in cycle.run_probes(settings, probes, waves=[frozenset(probes)])}
    for service in ("postgres", "valkey"):
        result = by_service[service]
        assert result.status in WORKING, result.error
        assert burned["from"] < result.checked_at < burned["until"], "the check did not run during the burn"
        assert_phases_account_for_latency(result)
        assert result.latency_ms < burn_s * 1000 / 4, result.phases
