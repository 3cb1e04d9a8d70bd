"""The probe cycle against real servers: concurrency under a hard deadline, idempotent slots, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg2
import pytest

from jobs import cycle, store
from jobs.probes import PROBES
from jobs.result import SERVICE_NAMES, Status
from jobs.settings import load
from tests.conftest import ROOT, WORKING

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


def test_cycle_summary_holds_no_secret(env: dict[str, str]) -> None:
    summary = json.dumps(cycle.run_cycle(SLOT))
    for variable in ("DATABASE_URL", "VALKEY_URL"):
        assert urlsplit(env[variable]).password not in summary


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


def test_cycle_with_hung_postgres_still_finishes(
    env: dict[str, str], silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://monitor:pw@127.0.0.1:{silent_port}/monitor")
    summary = cycle.run_cycle(SLOT)
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
