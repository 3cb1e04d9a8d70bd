"""PostgreSQL down for several cycles: the worker keeps probing, keeps its results in Valkey and stores them,
in order and exactly once, when PostgreSQL returns; meanwhile the web serves the status from Valkey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import redis

from dashapp.callbacks import board_outputs, chart_outputs
from dashapp.reader import Reader
from jobs import buffer, cycle, store
from jobs.result import SERVICE_NAMES, ProbeResult, Status
from jobs.settings import load
from sandbox.embedded import EmbeddedPostgres
from tests.conftest import WORKING
from tests.faults.conftest import FAST, get, query, slots, wait_for
from tests.rq_support import finished_cycles
from tests.web_support import metric_samples

SLOT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_postgres_down_for_several_cycles(own_pg: EmbeddedPostgres, valkey_url: str, processes) -> None:
    env = {**FAST, "DATABASE_URL": own_pg.url, "VALKEY_URL": valkey_url}
    procs = processes(env)
    procs.start("worker")
    procs.start("scheduler")
    web = procs.web()
    wait_for(lambda: len(slots(own_pg.url)) >= 2, 40, "two stored cycles", procs)
    valkey = redis.Redis.from_url(valkey_url)

    own_pg.stop()
    wait_for(lambda: buffer.pending(valkey) >= 3, 30, "three cycles kept in Valkey", procs)

    # The API serves the worker's cached results: PostgreSQL down, the rest up, no uptime, and says so.
    status, body = get(web + "/api/status")
    assert status == 200, body
    assert body["source"] == "valkey-cache"
    statuses = {s["service"]: s["status"] for s in body["services"]}
    assert statuses["valkey"] in WORKING, statuses
    assert statuses == {
        "postgres": "down",
        "valkey": statuses["valkey"],
        "roles_anywhere": "not_configured",
        "secrets_manager": "not_configured",
    }
    assert body["warnings"][0].startswith("history temporarily unavailable: PostgreSQL: ")
    assert all(s["uptime_24h"] is None for s in body["services"])
    ready_status, ready = get(web + "/readyz")
    assert ready_status == 503 and ready == {"status": "not ready"}
    assert "readyz: not ready: PostgreSQL: " in procs.log("web")
    history_status, history = get(web + "/api/history?service=postgres&range=1h")
    assert history_status == 503 and history["error"].startswith("temporarily unavailable: PostgreSQL: "), history
    for path in ("/", "/metrics", "/badge/postgres.svg"):
        assert get(web + path)[0] == 200, path
    # The board comes from the cache, but the store is down, and /metrics says so.
    assert metric_samples(get(web + "/metrics")[1])[("hybrid_monitor_store_up", None)] == 0
    # The page's callbacks, as gunicorn runs them: rows from the cache, charts replaced by a notice.
    reader = Reader(load(env))
    rows, _summary, *_details, _health, _locations, _grid, alert, alert_open = board_outputs(reader, load(env))
    assert alert_open and alert.startswith("history temporarily unavailable")
    assert "status-down" in str(rows[0]) and "status-up" in str(rows[1])
    captions = chart_outputs(reader, "1h")[len(SERVICE_NAMES) :]
    assert all("history temporarily unavailable" in str(c) for c in captions)
    reader.close()
    procs.assert_running()

    own_pg.start()
    wait_for(lambda: buffer.pending(valkey) == 0, 30, "the kept cycles to be stored", procs)
    wait_for(lambda: get(web + "/readyz")[0] == 200, 20, "/readyz to recover", procs)
    assert get(web + "/api/status")[1]["source"] == "postgres"

    # What the worker ran, read before what is stored, so every cycle in it has had its turn to be stored.
    probed = {
        datetime.fromisoformat(job.return_value()["slot"]) for job in finished_cycles(valkey, FAST["PROBE_LOCATION"])
    }
    by_slot = slots(own_pg.url)
    ordered = list(by_slot)  # in insertion (id) order
    # Every cycle the worker ran is stored, each service once, in slot order: nothing lost, nothing doubled,
    # the kept cycles in the order they were probed. (A cycle not started within its interval is dropped by
    # design, so the slots need not be contiguous on a loaded machine; they stay on the 2 s grid.)
    assert probed and probed <= set(ordered), sorted(probed - set(ordered))
    assert ordered == sorted(ordered)
    assert all(b - a > timedelta(0) and (b - a) % timedelta(seconds=2) == timedelta(0) for a, b in pairwise(ordered))
    assert all(sorted(services) == sorted(SERVICE_NAMES) for services in by_slot.values())
    down = query(own_pg.url, "SELECT count(*) FROM probe_results WHERE service = 'postgres' AND status = 'down'")
    assert down[0][0] >= 3, "the cycles probed while PostgreSQL was down are stored with it down"
    valkey.close()


def results(status: Status, at: datetime) -> list[ProbeResult]:
    return [ProbeResult(s, status, 1.0, "h:1", at, "test") for s in SERVICE_NAMES]


def test_postgres_down_for_several_cycles_buffer_survives_a_crash_between_write_and_removal(
    db_url: str, valkey_url: str
) -> None:
    """The crash window of a flush: a cycle written but not yet removed is written again, as a no-op."""
    valkey = redis.Redis.from_url(valkey_url)
    conn = store.connect(load({"DATABASE_URL": db_url}).postgres, 5)
    store.migrate(conn)
    for n in range(3):
        buffer.push(valkey, results(Status.DOWN, SLOT + timedelta(seconds=2 * n)), SLOT + timedelta(seconds=2 * n))

    class Crash(Exception):
        pass

    def write_then_crash(cycle_results: list[ProbeResult], slot: datetime) -> None:
        store.write_results(conn, cycle_results, slot)
        if slot == SLOT + timedelta(seconds=2):
            raise Crash  # as if the process died before removing the entry

    with pytest.raises(Crash):
        buffer.flush(valkey, write_then_crash)
    assert buffer.pending(valkey) == 2
    assert buffer.flush(valkey, lambda r, s: store.write_results(conn, r, s)) == 2
    assert buffer.pending(valkey) == 0
    stored = query(db_url, "SELECT slot, count(*) FROM probe_results GROUP BY slot ORDER BY slot")
    assert stored == [(SLOT + timedelta(seconds=2 * n), len(SERVICE_NAMES)) for n in range(3)]
    conn.close()
    valkey.close()


def test_postgres_down_for_several_cycles_buffer_is_capped_keeping_the_newest(valkey_url: str) -> None:
    valkey = redis.Redis.from_url(valkey_url)
    for n in range(5):
        buffer.push(valkey, results(Status.UP, SLOT + timedelta(seconds=n)), SLOT + timedelta(seconds=n), limit=3)
    kept = [buffer.decode(entry)[1] for entry in valkey.lrange(buffer.PENDING_KEY, 0, -1)]
    assert kept == [SLOT + timedelta(seconds=n) for n in (2, 3, 4)]
    valkey.close()


def test_postgres_down_the_cycle_keeps_at_most_1440_cycles_the_newest(valkey_url: str) -> None:
    """The cap as configured (README: up to 1440 cycles), through the cycle's own path with PostgreSQL away."""
    valkey = redis.Redis.from_url(valkey_url)
    cap = 1440
    valkey.rpush(
        buffer.PENDING_KEY, *(buffer.encode(results(Status.UP, SLOT), SLOT + timedelta(n)) for n in range(cap))
    )
    settings = load({"DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/x", "VALKEY_URL": valkey_url})
    newest = SLOT + timedelta(days=cap)
    # (Valkey's own probe up: the cycle keeps results only in a Valkey that answered.)
    not_stored = cycle.persist(settings, results(Status.UP, newest), newest)
    assert (
        not_stored
        == f"connection refused by 127.0.0.1:9; kept in Valkey until PostgreSQL returns ({cap} cycle(s) pending)"
    )
    kept = [buffer.decode(entry)[1] for entry in valkey.lrange(buffer.PENDING_KEY, 0, -1)]
    assert len(kept) == cap
    assert kept[0] == SLOT + timedelta(1) and kept[-1] == newest, "the oldest dropped, the newest kept"
    valkey.close()


def test_postgres_down_and_valkey_down_the_cycle_reports_why_nothing_was_kept(
    base_env: dict[str, str], monkeypatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:9/x")
    monkeypatch.setenv("VALKEY_URL", "redis://:hunter2@127.0.0.1:9/0")
    settings = load()
    not_stored = cycle.persist(settings, results(Status.DOWN, SLOT), SLOT)
    assert not_stored == "connection refused by 127.0.0.1:9"
    assert "hunter2" not in not_stored
