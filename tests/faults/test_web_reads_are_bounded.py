"""The web's own reads are bounded: a PostgreSQL or Valkey whose processes freeze mid-session (SIGSTOP: the
kernel still accepts and acknowledges, nothing answers) never holds a request longer than a few seconds, and
the pool recovers when the server thaws."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dashapp.reader import Reader, Unavailable
from jobs import buffer
from jobs.defaults import WEB_QUIET_S as QUIET_S
from jobs.result import SERVICE_NAMES, Status, utcnow
from jobs.settings import load
from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port
from tests.faults.conftest import FAST, frozen, get, timed_get
from tests.stack_support import wait_until
from tests.web_support import metric_samples, result, seed_history

# The reader's bound is 2 s per wait; a request makes at most a couple of bounded waits.
FEW_SECONDS = 6.0
STATUS, HISTORY, READY, METRICS, BADGE, PAGE = PATHS = (
    "/api/status",
    "/api/history?service=postgres&range=1h",
    "/readyz",
    "/metrics",
    "/badge/valkey.svg",
    "/",
)


def answers_with_postgres_frozen(path: str, status: int, body: Any) -> bool:
    """What each path answers while PostgreSQL is frozen: what Valkey's cache holds, or a 503 naming it."""
    if path == STATUS:
        return status == 200 and body["source"] == "valkey-cache"
    if path == HISTORY:
        return status == 503 and body["error"].startswith("temporarily unavailable: PostgreSQL: ")
    if path == READY:
        return status == 503 and body == {"status": "not ready"}
    if path == METRICS:
        return status == 200 and metric_samples(body)[("hybrid_monitor_store_up", None)] == 0
    if path == BADGE:  # the cache's latest check, without the uptime only PostgreSQL knows
        return status == 200 and "Valkey: " in body and " n/a 24h" in body
    return status == 200 and 'id="react-entry-point"' in body  # the page itself reads nothing


def answers_with_valkey_frozen(path: str, status: int, body: Any) -> bool:
    """What each path answers while Valkey is frozen: everything from PostgreSQL; /readyz says not ready."""
    if path == STATUS:
        return status == 200 and body["source"] == "postgres"
    if path == HISTORY:
        return status == 200 and len(body["points"]) > 0
    if path == READY:
        return status == 503 and body == {"status": "not ready"}
    if path == METRICS:
        return status == 200 and metric_samples(body)[("hybrid_monitor_store_up", None)] == 1
    if path == BADGE:
        return status == 200 and re.search(r"Valkey: \w+ · \d+\.\d% 24h", body) is not None
    return status == 200 and 'id="react-entry-point"' in body


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
            time.sleep(QUIET_S)  # so that this path's own reads wait out their bound, not another's quiet period
            status, body, took = timed_get(web + path)
            assert took < FEW_SECONDS, (path, took)
            assert answers_with_postgres_frozen(path, status, body), (path, status, body)
        time.sleep(QUIET_S)
        # Waits out its bound (2 s; an answer at once takes well under 1 s), which begins a quiet period.
        assert timed_get(web + "/api/status")[2] >= 1.5
        status, body, took = timed_get(web + "/api/status")  # within it: answered at once, from Valkey's cache
        assert status == 200 and body["source"] == "valkey-cache" and took < 1, (status, took)
    # Thawed: the broken connections were discarded, fresh ones answer once the reader asks again.
    wait_until(lambda: all(get(web + path)[0] == 200 for path in PATHS), QUIET_S + 5, "every path to answer")
    assert get(web + "/api/status")[1]["source"] == "postgres"

    with frozen(own_valkey.server._process.pid):
        for path in PATHS:
            status, body, took = timed_get(web + path)
            assert took < FEW_SECONDS, (path, took)
            assert answers_with_valkey_frozen(path, status, body), (path, status, body)
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


def timed_read(reader: Reader) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        reader.check_postgres()
    return str(caught.value), time.monotonic() - started


def test_after_a_read_waits_out_its_bound_the_next_ones_fail_at_once_for_a_while(silent_port: int) -> None:
    # A bound of 1 s, so that "waited it out" and "answered at once" (< 0.5 s) stay apart on a loaded machine.
    reader = Reader(load({"DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{silent_port}/monitor"}), 1.0, 2.0)
    silent = "PostgreSQL: timeout expired: the server sent nothing for 1 s"
    first, took = timed_read(reader)  # (its first contact, a migration, is what waits)
    assert took >= 0.9 and first.startswith(silent)
    second, took = timed_read(reader)
    assert took < 0.5 and second == f"{silent} (asked again in 2 s)"
    time.sleep(2.0)  # the quiet period, which began before the second read
    third, took = timed_read(reader)  # asked again, and waited again
    assert took >= 0.9 and third == silent
    reader.close()


def test_a_read_that_fails_fast_does_not_stop_the_next_from_asking() -> None:
    reader = Reader(load({"DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{free_port()}/monitor"}), 2.0, 60)
    for _ in range(2):
        message, took = timed_read(reader)
        assert message == "PostgreSQL: Connection refused" and took < 1
    reader.close()


def test_a_slow_query_cancelled_by_its_timeout_does_not_stop_the_next_reads(db_url: str) -> None:
    reader = Reader(load({"DATABASE_URL": db_url}), 0.5, 60)
    with pytest.raises(Unavailable, match="statement timeout"), reader.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(2)")
    started = time.monotonic()
    reader.check_postgres()  # answered: the database is up, only that query was slow
    assert time.monotonic() - started < 0.5
    reader.close()
