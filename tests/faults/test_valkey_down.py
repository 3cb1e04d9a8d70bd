"""Valkey down: the web keeps serving from PostgreSQL and goes stale once the worker stops reporting; the
supervised worker and scheduler restart with backoff, without a crash loop, and cycles resume.

Valkey stops while a cycle runs, so the worker meets the outage when it reports the job's end and quits, as
it does whenever Valkey fails outside its wait for the next job (there RQ's own reconnecting carries it)."""

from __future__ import annotations

import re

import redis

from sandbox.aws import AwsSandbox
from sandbox.embedded import EmbeddedValkey
from tests.faults.conftest import FAST, get, slots, wait_for
from tests.rq_support import cycle_started_within
from tests.test_supervise import SEQUENCE_S


def restart_delays(log: str) -> list[float]:
    """The waits a supervisor announced before each restart, in order."""
    return [float(d) for d in re.findall(r"restarting in ([\d.]+) s", log)]


def test_valkey_down(
    own_valkey: EmbeddedValkey, db_url: str, aws_sandbox: AwsSandbox, silent_port: int, processes
) -> None:
    # Roles Anywhere hangs, so every cycle runs for PROBE_TIMEOUT_S: time for Valkey to stop inside one, even
    # on a loaded machine.
    env = {**aws_sandbox.env, **FAST, "PROBE_TIMEOUT_S": "1.5", "DATABASE_URL": db_url, "VALKEY_URL": own_valkey.url}
    env["AWS_ENDPOINT_URL_ROLESANYWHERE"] = f"https://127.0.0.1:{silent_port}"
    procs = processes(env)
    procs.start("worker")
    procs.start("scheduler")
    web = procs.web()
    wait_for(lambda: len(slots(db_url)) >= 2, 40, "two stored cycles", procs)

    valkey = redis.Redis.from_url(own_valkey.url)
    wait_for(lambda: cycle_started_within(valkey, FAST["PROBE_LOCATION"], 0.3), 20, "a cycle to start", procs)
    valkey.close()
    port = own_valkey.port
    own_valkey.stop()

    # Board from PostgreSQL: once the worker stops reporting (2.5 intervals), every row says stale.
    def all_stale() -> dict | None:
        status, body = get(web + "/api/status")
        assert status == 200 and body["source"] == "postgres", body
        return body if {s["status"] for s in body["services"]} == {"stale"} else None

    body = wait_for(all_stale, 20, "the board to go stale", procs)
    assert all(s["reason"].startswith("worker not reporting since ") for s in body["services"])
    ready_status, ready = get(web + "/readyz")
    assert ready_status == 503 and ready == {"status": "not ready"}
    assert "readyz: not ready: Valkey: " in procs.log("web")
    for path in ("/", "/metrics", "/api/history?service=valkey&range=1h"):
        assert get(web + path)[0] == 200, path
    # Both RQ processes quit on the outage and are restarted, more than once: 1 s, then 2 s.
    for name in ("worker", "scheduler"):
        wait_for(lambda n=name: len(restart_delays(procs.log(n))) >= 2, 30, f"the {name} to be restarted twice", procs)
    procs.assert_running()  # the supervisors never exit, so `make run` (honcho) keeps the stack up

    stored_before = len(slots(db_url))
    own_valkey.start()
    assert own_valkey.port == port
    wait_for(lambda: len(slots(db_url)) >= stored_before + 2, 45, "cycles to resume", procs)
    wait_for(lambda: get(web + "/readyz")[0] == 200, 10, "/readyz to recover", procs)
    wait_for(
        lambda: {s["status"] for s in get(web + "/api/status")[1]["services"]} != {"stale"}, 10, "a fresh board", procs
    )
    procs.assert_running()
    for name in ("worker", "scheduler"):
        # Backoff, not a crash loop: 1 s, 2 s, 4 s ... (the cap at 30 s: tests/test_supervise.py).
        delays = restart_delays(procs.log(name))
        assert len(delays) >= 2 and delays == SEQUENCE_S[: len(delays)], (name, delays)
