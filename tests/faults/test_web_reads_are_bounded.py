"""The web's own reads are bounded: a PostgreSQL or Valkey whose processes freeze mid-session (SIGSTOP: the
kernel still accepts and acknowledges, nothing answers) never holds a request longer than a few seconds, and
the pool recovers when the server thaws."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashapp.reader import Reader, Unavailable
from jobs import buffer
from jobs.result import SERVICE_NAMES, Status, utcnow
from jobs.settings import load
from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey
from tests.faults.conftest import FAST, frozen, get, timed_get
from tests.web_support import result, seed_history

# The reader's bound is 2 s per wait; a request makes at most a couple of bounded waits.
FEW_SECONDS = 6.0
PATHS = ("/api/status", "/api/history?service=postgres&range=1h", "/readyz", "/metrics", "/badge/valkey.svg", "/")


def test_web_reads_are_bounded(own_pg: EmbeddedPostgres, own_valkey: EmbeddedValkey, processes) -> None:
    env = {**FAST, "DATABASE_URL": own_pg.url, "VALKEY_URL": own_valkey.url}
    settings = load(env)
    seed_history(settings, utcnow())
    cache = buffer.client(settings.valkey, 2)
    buffer.cache_latest(cache, [result(s, utcnow(), Status.UP, 5.0) for s in SERVICE_NAMES], 600)
    cache.close()
    procs = processes(env)
    web = procs.web()
    for path in PATHS:  # fills the pools with connections that are about to go silent
        assert get(web + path)[0] == 200, path

    with frozen(own_pg.process.pid):
        for path in PATHS:
            status, body, took = timed_get(web + path)
            assert took < FEW_SECONDS, (path, took)
            assert status in (200, 503), (path, status, body)
        status, body = get(web + "/api/status")
        assert status == 200 and body["source"] == "valkey-cache"
    # Thawed: the broken connections were discarded, fresh ones answer.
    for path in PATHS:
        assert get(web + path)[0] == 200, path
    assert get(web + "/api/status")[1]["source"] == "postgres"

    with frozen(own_valkey.server._process.pid):
        for path in PATHS:
            status, body, took = timed_get(web + path)
            assert took < FEW_SECONDS, (path, took)
            assert status == (503 if path == "/readyz" else 200), (path, status, body)
        # RQ's own reads for the worker-health line go through the same bounded client.
        reader = Reader(settings)
        started = time.monotonic()
        with pytest.raises(Unavailable, match=r"^Valkey: "):
            reader.worker_health()
        assert time.monotonic() - started < FEW_SECONDS
        reader.close()
    assert get(web + "/readyz")[0] == 200
    procs.assert_running()


def test_web_reads_are_bounded_for_every_request_at_once_when_postgres_never_answered(
    own_valkey: EmbeddedValkey, silent_port: int, processes
) -> None:
    """PostgreSQL silent since before the web started (a firewall dropping packets): requests arriving together
    each wait their own bounded time; none queues behind another's wait."""
    env = {**FAST, "DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{silent_port}/monitor"}
    env["VALKEY_URL"] = own_valkey.url
    web = processes(env).web()
    with ThreadPoolExecutor(max_workers=8) as pool:
        timings = list(pool.map(lambda _: timed_get(web + "/api/status"), range(8)))
    assert all(status == 503 for status, _, _ in timings), timings
    assert max(took for _, _, took in timings) < FEW_SECONDS, [took for _, _, took in timings]
