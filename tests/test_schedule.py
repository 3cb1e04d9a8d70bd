"""End to end: `rq cron` enqueues a cycle per location every PROBE_INTERVAL_S and each location's `rq worker`
runs its own, as the Procfile does; one scheduler or two still store each slot once per service and location,
a worker never runs another location's cycle, and a location whose worker is gone stops alone; the scheduler
registers the hourly maintenance too, and a cycle not started within its interval is dropped."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
import redis
from rq.cron import CronJob, CronScheduler

from jobs import queueing, store, tasks
from jobs.alerting.after_cycle import after_stored
from jobs.result import SERVICE_NAMES, Status, utcnow
from jobs.schedule import QUEUE
from jobs.settings import load
from jobs.tasks import probe_queue
from tests.conftest import ROOT, WORKING
from tests.rq_support import finished_cycles
from tests.stack_support import wait_until
from tests.test_alert_delivery import Receiver
from tests.test_incidents import T0, check

RQ = str(Path(sys.executable).with_name("rq"))
SLOTS = 3


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {"PATH": os.environ["PATH"], **env}
        self.logs = logs
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (the process writes to it until stopped)
        process = subprocess.Popen(
            [RQ, *args], cwd=ROOT, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        self.running.append(process)
        log.close()
        return process

    def worker(self, location: str) -> subprocess.Popen[bytes]:
        """The Procfile's worker (given `probes`) in `location`, named after it."""
        args = ("worker", "--config", "jobs.rq_config", "--worker-class", "jobs.worker.ProbeWorker")
        return self.start(f"worker-{location}", *args, "--name", f"worker-{location}", QUEUE, env=_at(location))

    def scheduler(self, name: str, locations: tuple[str, ...]) -> None:
        self.start(name, "cron", "--config", "jobs.rq_config", "jobs.schedule", env=_at(locations[0], locations))

    def tail(self) -> str:
        return "\n".join(path.read_text()[-2000:] for path in self.logs.glob("*.log"))

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _at(location: str, locations: tuple[str, ...] | None = None) -> dict[str, str]:
    return {"PROBE_LOCATION": location, "PROBE_LOCATIONS": ",".join(locations or (location,))}


@pytest.fixture
def processes(base_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(base_env, tmp_path)
    yield procs
    procs.stop()


def stored_by_location(db_url: str) -> dict[str, dict]:
    """{location: {slot: [service, ...]}} of every stored result."""
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('probe_results') IS NOT NULL")
        if not cur.fetchone()[0]:  # the worker has not migrated yet
            conn.close()
            return {}
        cur.execute("SELECT location, slot, service FROM probe_results")
        found = cur.fetchall()
    conn.close()
    by_location: dict[str, dict] = {}
    for location, slot, service in found:
        by_location.setdefault(location, {}).setdefault(slot, []).append(service)
    return by_location


def wait_for_locations(
    db_url: str, count: int, processes: Processes, limit_s: float, locations: tuple[str, ...]
) -> dict[str, dict]:
    def stored() -> dict | None:
        assert all(p.poll() is None for p in processes.running), "an rq process exited; see its log"
        by_location = stored_by_location(db_url)
        return by_location if all(len(by_location.get(place, {})) >= count for place in locations) else None

    return wait_until(stored, limit_s, f"{count} stored slots of {', '.join(locations)}", processes.tail)


def assert_each_slot_once_per_service(by_slot: dict) -> None:
    """Every stored slot has its results, each service exactly once, on the 2 s grid. (A cycle not started
    within its interval is dropped by design (ttl), so a slow moment on a loaded machine may leave a gap.)"""
    slots = sorted(by_slot)
    assert all(sorted(by_slot[slot]) == sorted(SERVICE_NAMES) for slot in slots), by_slot
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert all(gap > timedelta(0) and gap % timedelta(seconds=2) == timedelta(0) for gap in gaps), slots


@pytest.mark.parametrize(
    ("locations", "schedulers"), [(("test",), 2), (("fra1", "nyc3"), 2), (("fra1", "nyc3", "sfo2"), 1)]
)
def test_workers_and_schedulers_store_every_slot_once_per_service_and_location(
    base_env: dict[str, str], processes: Processes, locations: tuple[str, ...], schedulers: int
) -> None:
    for location in locations:
        processes.worker(location)
    for number in range(schedulers):
        processes.scheduler(f"cron-{number}", locations)

    stored = wait_for_locations(base_env["DATABASE_URL"], SLOTS + 1, processes, 40, locations)
    assert set(stored) == set(locations)
    connection = redis.Redis.from_url(base_env["VALKEY_URL"])
    for location in locations:
        assert_each_slot_once_per_service(stored[location])
        cycles = finished_cycles(connection, location)
        # Each location's cycles ran in that location's worker only.
        assert {(job.worker_name, job.return_value()["location"]) for job in cycles} == {
            (f"worker-{location}", location)
        }
        if schedulers > 1:  # both schedulers enqueued each slot: the worker really ran duplicates the store dropped
            assert len(cycles) > len(stored[location])
        postgres = {job.return_value()["statuses"]["postgres"] for job in cycles}
        assert postgres and postgres <= WORKING, postgres
        # `rq cron` kept them as JSON (the worker runs no other): RQ stores a job's call zlib-compressed.
        kept = zlib.decompress(connection.hget(cycles[0].key, "data"))
        assert json.loads(kept) == ["jobs.tasks.run_cycle", None, [], {"location": location}], kept
    connection.close()


def test_a_location_without_its_worker_stops_alone_and_its_cycles_wait_for_it(
    base_env: dict[str, str], processes: Processes
) -> None:
    locations = ("fra1", "nyc3", "sfo2")
    db_url = base_env["DATABASE_URL"]
    fra1, nyc3 = processes.worker("fra1"), processes.worker("nyc3")
    processes.scheduler("cron", locations)
    wait_for_locations(db_url, 2, processes, 40, ("fra1", "nyc3"))

    # sfo2 has no worker: its cycles wait in its own queue, never taken by another location's worker.
    connection = redis.Redis.from_url(base_env["VALKEY_URL"])
    waiting = queueing.queue(probe_queue("sfo2"), connection)
    assert waiting.count >= 1 and all(job.kwargs == {"location": "sfo2"} for job in waiting.jobs)
    assert "sfo2" not in stored_by_location(db_url)

    # nyc3's worker goes: nyc3's slots stop, fra1's go on.
    nyc3.kill()
    nyc3.wait(10)
    processes.running.remove(nyc3)
    nyc3_last = max(stored_by_location(db_url)["nyc3"])
    fra1_before = len(stored_by_location(db_url)["fra1"])
    wait_until(
        lambda: len(stored_by_location(db_url)["fra1"]) >= fra1_before + 3, 30, "three more fra1 slots", processes.tail
    )
    after = stored_by_location(db_url)
    assert max(after["nyc3"]) <= nyc3_last + timedelta(seconds=2)  # at most the slot it was running
    assert fra1.poll() is None
    assert_each_slot_once_per_service(after["fra1"])
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


@pytest.mark.parametrize("name", ["worker", "scheduler"])
def test_a_supervised_process_with_a_wrong_setting_exits_2_at_once(base_env: dict[str, str], name: str) -> None:
    """The Procfile's command, supervisor included: exit 2 is passed on, never restarted (no crash loop)."""
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    assert procfile[name].startswith("python -m jobs.supervise ")
    done = subprocess.run(
        ["sh", "-c", f"exec {procfile[name]}"],
        cwd=ROOT,
        env={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **base_env, "PROBE_INTERVAL_S": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: PROBE_INTERVAL_S: expected a whole number from 1 to 3600, got 'x'"


def test_the_scheduler_registers_both_jobs_and_a_cycle_not_started_within_its_interval_is_dropped(
    base_env: dict[str, str], processes: Processes
) -> None:
    interval = int(base_env["PROBE_INTERVAL_S"])
    connection = redis.Redis.from_url(base_env["VALKEY_URL"])
    queue = queueing.queue(probe_queue("test"), connection)
    processes.scheduler("cron", ("test",))

    # What `rq cron` registered from jobs.schedule, as it saved it in Valkey.
    def registered() -> dict[str, CronJob] | None:
        schedulers = CronScheduler.all(connection)
        return {job.func_name: job for job in schedulers[0].get_jobs()} if schedulers else None

    jobs = wait_until(registered, 30, "rq cron to register jobs.schedule's jobs")
    assert set(jobs) == {"jobs.tasks.run_cycle", "jobs.tasks.run_maintenance"}, jobs
    cycle, maintenance = jobs["jobs.tasks.run_cycle"], jobs["jobs.tasks.run_maintenance"]
    assert (cycle.queue_name, cycle.interval, cycle.job_options["ttl"]) == (probe_queue("test"), interval, interval)
    assert (maintenance.queue_name, maintenance.cron, maintenance.interval) == (QUEUE, "5 * * * *", None)
    assert maintenance.next_enqueue_time is not None and maintenance.next_enqueue_time.minute == 5

    # No worker yet: cycles pile up in the queue and each expires one interval after it was enqueued.
    wait_until(lambda: len(queue.job_ids) >= 4, 30, "four cycles queued", lambda: str(queue.job_ids))
    worker_started = utcnow()
    processes.worker("test")
    by_slot = wait_for_locations(base_env["DATABASE_URL"], 2, processes, 30, ("test",))["test"]
    # Only cycles enqueued within an interval of the worker's start ran (a slot begins at most an interval
    # before its cycle was enqueued); the backlog was dropped, not run late.
    assert min(by_slot) >= worker_started - timedelta(seconds=2 * interval), (worker_started, sorted(by_slot))
    connection.close()


def test_the_probe_workers_process_sends_notifications_while_a_cycle_runs(
    base_env: dict[str, str], processes: Processes, conn
) -> None:
    """The Procfile's one worker process serves `alerts` from a thread of its own: a notification goes out
    while the `probes` queue's job still runs, and SIGTERM still stops the process once that job is done."""
    receiver = Receiver().start()
    # The hourly maintenance, held on a lock of its table until released, is the `probes` queue's long job.
    holder = psycopg2.connect(base_env["DATABASE_URL"])
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLE probe_rollup_state IN ACCESS EXCLUSIVE MODE")
        processes.env["ALERT_URLS"] = receiver.url
        processes.worker("test")
        connection = redis.Redis.from_url(base_env["VALKEY_URL"])
        busy = queueing.queue(QUEUE, connection).enqueue(tasks.run_maintenance)
        wait_until(lambda: busy.get_status(refresh=True) == "started", 30, "the probes queue's job to start")
        # Three failed checks open an incident; storing the third enqueues the sender on `alerts`.
        settings = load({**base_env, "PROBE_LOCATION": "test", "ALERT_URLS": receiver.url})
        for minute in range(3):
            results = [check("valkey", minute, Status.DOWN)]
            store.write_results(conn, results, T0 + timedelta(minutes=minute))
            after_stored(settings, results, conn, connection)
        titles = wait_until(lambda: [m["title"] for m in receiver.received] or None, 15, "the firing notification")
        assert titles == ["FIRING: Valkey (test) down"]
        assert busy.get_status(refresh=True) == "started", "sent while the probes queue's job was running"
        # Stopped, it finishes the running job as RQ does, then ends with its sender's thread.
        worker = processes.running[0]
        worker.send_signal(signal.SIGTERM)
        holder.rollback()
        assert worker.wait(20) == 0
        assert busy.get_status(refresh=True) == "finished"
        connection.close()
    finally:
        holder.close()
        receiver.stop()
