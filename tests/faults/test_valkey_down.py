"""Valkey down: the web keeps serving from PostgreSQL and goes stale once the worker stops reporting; the
supervised worker and scheduler restart with backoff, without a crash loop, and cycles resume."""

from __future__ import annotations

import re

from sandbox.embedded import EmbeddedValkey
from tests.faults.conftest import FAST, get, slots, wait_for


def test_valkey_down(own_valkey: EmbeddedValkey, db_url: str, processes) -> None:
    env = {**FAST, "DATABASE_URL": db_url, "VALKEY_URL": own_valkey.url}
    procs = processes(env)
    procs.start("worker")
    procs.start("scheduler")
    web = procs.web()
    wait_for(lambda: len(slots(db_url)) >= 2, 40, "two stored cycles", procs)

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
    assert ready_status == 503 and ready["checks"]["postgres"] == "ok"
    assert ready["checks"]["valkey"].startswith("Valkey: ")
    for path in ("/", "/metrics", "/api/history?service=valkey&range=1h"):
        assert get(web + path)[0] == 200, path
    wait_for(lambda: "restarting in" in procs.log("scheduler"), 20, "the scheduler to be restarted", procs)
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
        delays = [float(d) for d in re.findall(r"restarting in ([\d.]+) s", procs.log(name))]
        # Backoff, not a crash loop: each restart waits at least as long as the one before.
        assert delays == sorted(delays) and len(delays) <= 6, (name, delays)
