"""Worker killed (SIGKILL) mid-cycle: the supervisor restarts it, the next slot is stored on time by the
restarted worker, RQ's own maintenance on that worker moves the killed cycle to the FailedJobRegistry, which
`/rq` shows under Failed as `AbandonedJobError`, and no row is doubled.

The `rq worker` under `python -m jobs.supervise` is what is killed, as the kernel's OOM killer would (the
largest process); on App Platform a lost container is the same crash, restarted by the platform instead."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import timedelta

import psutil
import redis
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from jobs.cycle import slot_of
from jobs.queueing import SERIALIZER
from jobs.result import SERVICE_NAMES
from jobs.tasks import probe_queue
from jobs.worker import ABANDONED_AFTER_TIMEOUT_S
from sandbox.aws import AwsSandbox
from tests.faults.conftest import FAST, query, slots, wait_for
from tests.rq_support import cycle_started_within, finished_cycles

# Roles Anywhere hangs, so every cycle spends PROBE_TIMEOUT_S probing: long enough that a kill aimed at a
# cycle that started less than KILL_WITHIN_S ago lands inside it even on a loaded machine. (The job timeout,
# ceil(6 * PROBE_TIMEOUT_S) + 5 s (jobs/schedule.py), bounds how long RQ takes to fail the killed cycle.)
TIMING = {"PROBE_INTERVAL_S": "4", "PROBE_TIMEOUT_S": "3"}
INTERVAL_S, KILL_WITHIN_S = int(TIMING["PROBE_INTERVAL_S"]), 1.0
# FAST's PROBE_LOCATION: the worker serves this queue.
QUEUE = probe_queue(FAST["PROBE_LOCATION"])
RQ_LOGIN = {"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": "rq-pw-for-this-test"}


def rq_failed_jobs(web: str) -> dict[str, str]:
    """{job id: exception text} of the jobs `/rq` lists under Failed, read as an operator's browser does."""
    token = base64.b64encode(f"{RQ_LOGIN['RQ_DASHBOARD_USERNAME']}:{RQ_LOGIN['RQ_DASHBOARD_PASSWORD']}".encode())
    url = f"{web}/rq/0/data/jobs/{QUEUE}/failed/100/asc/1.json"
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token.decode()}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback only
        return {job["id"]: job["exc_info"] or "" for job in json.loads(response.read())["jobs"]}


def test_worker_killed_mid_cycle(
    db_url: str, valkey_url: str, aws_sandbox: AwsSandbox, silent_port: int, processes
) -> None:
    env = {**aws_sandbox.env, **FAST, **TIMING, **RQ_LOGIN, "DATABASE_URL": db_url, "VALKEY_URL": valkey_url}
    env["AWS_ENDPOINT_URL_ROLESANYWHERE"] = f"https://127.0.0.1:{silent_port}"
    procs = processes(env)
    supervisor = psutil.Process(procs.start("worker").pid)
    procs.start("scheduler")
    web = procs.web()
    valkey = redis.Redis.from_url(valkey_url)
    started = StartedJobRegistry(QUEUE, connection=valkey)
    wait_for(lambda: len(slots(db_url)) >= 1, 40, "a first stored cycle", procs)

    worker = wait_for(lambda: supervisor.children(), 5, "the supervised rq worker", procs)[0]

    # A running cycle that started under KILL_WITHIN_S ago: its Roles Anywhere probe is blocked on the silent
    # port for PROBE_TIMEOUT_S from then, so it is still running when the kill lands.
    just_started = wait_for(
        lambda: cycle_started_within(valkey, FAST["PROBE_LOCATION"], KILL_WITHIN_S), 8 * INTERVAL_S, "a cycle", procs
    )
    killed_id = just_started.id
    worker.kill()
    worker.wait(5)
    killed = Job.fetch(killed_id, connection=valkey, serializer=SERIALIZER)
    assert killed.get_status() == JobStatus.STARTED, "the kill must land while the cycle runs"
    killed_slot, killed_worker = killed.enqueued_at, killed.worker_name

    # The supervisor starts a new worker, which runs the next slots.
    wait_for(lambda: "restarting in" in procs.log("worker"), 10, "the supervisor to restart the worker", procs)
    restarted = wait_for(lambda: supervisor.children(), 10, "a restarted rq worker", procs)[0]
    assert restarted.pid != worker.pid

    def next_slot_done() -> Job | None:
        return next(
            (job for job in finished_cycles(valkey, FAST["PROBE_LOCATION"]) if job.enqueued_at > killed_slot), None
        )

    after_kill = wait_for(next_slot_done, 8 * INTERVAL_S, "a cycle after the kill to finish", procs)
    assert after_kill.worker_name != killed_worker
    assert after_kill.return_value()["stored"] is True
    # On time: the slot right after the killed one, not a later one, is the restarted worker's first.
    next_slot = slot_of(killed_slot, INTERVAL_S) + timedelta(seconds=INTERVAL_S)
    assert sorted(slots(db_url).get(next_slot, [])) == sorted(SERVICE_NAMES), (next_slot, sorted(slots(db_url)))

    # RQ's maintenance on the restarted worker finds the abandoned cycle once its registry entry expires.
    failed = FailedJobRegistry(QUEUE, connection=valkey)
    limit_s = killed.timeout + ABANDONED_AFTER_TIMEOUT_S + 3 * INTERVAL_S
    wait_for(lambda: killed_id in failed.get_job_ids(cleanup=False), limit_s, "RQ to fail the killed cycle", procs)
    assert killed_id not in started.get_job_ids(cleanup=False)
    assert killed.get_status(refresh=True) == JobStatus.FAILED
    assert "AbandonedJobError" in (killed.latest_result().exc_string or "")
    assert "AbandonedJobError" in procs.log("worker")
    # What an operator sees: /rq lists it under Failed, with the reason.
    assert "AbandonedJobError" in rq_failed_jobs(web).get(killed_id, ""), rq_failed_jobs(web)

    # Every stored slot has each service once; none twice, the killed one included.
    doubled = query(db_url, "SELECT service, location, slot FROM probe_results GROUP BY 1, 2, 3 HAVING count(*) > 1")
    assert doubled == []
    by_slot = slots(db_url)
    assert all(sorted(services) == sorted(SERVICE_NAMES) for services in by_slot.values()), by_slot
    assert len(by_slot) >= 3
    procs.assert_running()
    valkey.close()
