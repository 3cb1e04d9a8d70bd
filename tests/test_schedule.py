"""End to end: `rq cron` enqueues a cycle every PROBE_INTERVAL_S and an `rq worker` runs it, as the Procfile
does; two schedulers at once still store each slot once per service."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
import redis

from jobs.result import SERVICE_NAMES
from jobs.schedule import QUEUE
from tests.conftest import ROOT, WORKING
from tests.rq_support import finished_cycles
from tests.stack_support import wait_until

RQ = str(Path(sys.executable).with_name("rq"))
SLOTS = 3


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {"PATH": os.environ["PATH"], **env}
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (the process writes to it until stopped)
        self.running.append(subprocess.Popen([RQ, *args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def processes(base_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(base_env, tmp_path)
    yield procs
    procs.stop()


def stored_slots(db_url: str) -> dict:
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('probe_results') IS NOT NULL")
        if not cur.fetchone()[0]:  # the worker has not migrated yet
            conn.close()
            return {}
        cur.execute("SELECT slot, service FROM probe_results")
        found = cur.fetchall()
    conn.close()
    by_slot: dict = {}
    for slot, service in found:
        by_slot.setdefault(slot, []).append(service)
    return by_slot


def wait_for_slots(db_url: str, count: int, processes: Processes, limit_s: float) -> dict:
    def stored() -> dict | None:
        assert all(p.poll() is None for p in processes.running), "an rq process exited; see its log"
        by_slot = stored_slots(db_url)
        return by_slot if len(by_slot) >= count else None

    def logs() -> str:
        return "\n".join(path.read_text()[-2000:] for path in processes.logs.glob("*.log"))

    return wait_until(stored, limit_s, f"{count} stored slots", logs)


def test_worker_and_two_schedulers_store_every_slot_once_per_service(
    base_env: dict[str, str], processes: Processes
) -> None:
    processes.start(
        "worker", "worker", "--config", "jobs.rq_config", "--worker-class", "jobs.worker.ProbeWorker", QUEUE
    )
    processes.start("cron-1", "cron", "--config", "jobs.rq_config", "jobs.schedule")
    processes.start("cron-2", "cron", "--config", "jobs.rq_config", "jobs.schedule")

    by_slot = wait_for_slots(base_env["DATABASE_URL"], SLOTS + 1, processes, limit_s=30)
    slots = sorted(by_slot)
    # Every stored slot has its results, each service exactly once, on the 2 s grid. (A cycle not started
    # within its interval is dropped by design (ttl), so a slow moment on a loaded machine may leave a gap.)
    assert all(sorted(by_slot[slot]) == sorted(SERVICE_NAMES) for slot in slots), by_slot
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(gap > timedelta(0) and gap % timedelta(seconds=2) == timedelta(0) for gap in gaps), slots
    # Both schedulers enqueued each slot, so the worker really ran duplicates that the store dropped.
    connection = redis.Redis.from_url(base_env["VALKEY_URL"])
    cycles = finished_cycles(connection)
    assert len(cycles) > len(slots)
    postgres = {job.return_value()["statuses"]["postgres"] for job in cycles}
    assert postgres and postgres <= WORKING, postgres
    connection.close()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["worker", "--config", "jobs.rq_config", QUEUE],
            {"PROBE_INTERVAL_S": "x"},
            "error: PROBE_INTERVAL_S: expected a whole number from 1 to 3600, got 'x'",
        ),
        (
            ["cron", "--config", "jobs.rq_config", "jobs.schedule"],
            {"VALKEY_URL": ""},
            "error: VALKEY_URL: not set (the worker and the scheduler queue jobs in Valkey)",
        ),
        (
            ["cron", "--config", "jobs.rq_config", "jobs.schedule"],
            {"VALKEY_URL": "http://nope"},
            "error: VALKEY_URL: expected rediss://[user:password@]host:port (redis:// for no TLS)",
        ),
    ],
)
def test_rq_processes_with_wrong_settings_print_one_line_and_exit_2(
    base_env: dict[str, str], args: list[str], env: dict[str, str], message: str
) -> None:
    done = subprocess.run(
        [RQ, *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **base_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == message


@pytest.mark.parametrize(
    ("module", "unloaded"),
    [
        # rq cron only names the jobs: the probes' libraries load on the worker that runs them.
        ("jobs.schedule", {"boto3", "botocore", "psycopg2", "jobs.probes", "jobs.cycle", "jobs.maintenance"}),
        # A supervisor (one per RQ process) only starts and waits: not even the settings.
        ("jobs.supervise", {"jobs.settings", "cryptography", "rq", "redis"}),
    ],
)
def test_the_scheduler_and_the_supervisor_leave_heavy_modules_unloaded(
    base_env: dict[str, str], module: str, unloaded: set[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(*sys.modules)"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **base_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(done.stdout.split())
    assert module in loaded
    assert loaded & unloaded == set()
