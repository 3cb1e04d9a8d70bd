"""PostgreSQL down, then back, with a pending cycle that can never be stored (unreadable after an upgrade, or
refused by PostgreSQL as data): it is set aside in the dead-letter list and the cycles after it are stored."""

from __future__ import annotations

from datetime import timedelta

import psycopg2
import redis

from jobs import buffer, cycle, store
from jobs.result import SERVICE_NAMES, ProbeResult, Status
from jobs.settings import load
from tests.faults.conftest import query
from tests.faults.test_postgres_down_for_several_cycles import SLOT, results


def test_postgres_down_a_pending_cycle_that_can_never_be_stored(db_url: str, valkey_url: str) -> None:
    valkey = redis.Redis.from_url(valkey_url)
    conn = store.connect(load({"DATABASE_URL": db_url}).postgres, 5)
    store.migrate(conn)
    buffer.push(valkey, results(Status.DOWN, SLOT), SLOT)
    valkey.rpush(buffer.PENDING_KEY, b'{"slot": "not a time", "results": []}')  # a shape no version reads
    refused = [ProbeResult(s, Status.DOWN, 1.0, "h:1", SLOT, "test", error="NUL \x00 in text") for s in SERVICE_NAMES]
    buffer.push(valkey, refused, SLOT + timedelta(seconds=2))
    buffer.push(valkey, results(Status.UP, SLOT + timedelta(seconds=4)), SLOT + timedelta(seconds=4))

    flushed = buffer.flush(
        valkey,
        lambda r, s: store.write_results(conn, r, s),
        refused=(psycopg2.DataError, psycopg2.IntegrityError),
    )

    assert flushed == 2
    assert buffer.pending(valkey) == 0
    assert valkey.llen(buffer.DEAD_KEY) == 2, "both bad entries are kept for an operator, not dropped"
    stored = query(db_url, "SELECT slot, count(*) FROM probe_results GROUP BY slot ORDER BY slot")
    assert stored == [(SLOT, len(SERVICE_NAMES)), (SLOT + timedelta(seconds=4), len(SERVICE_NAMES))]
    conn.close()
    valkey.close()


def test_postgres_down_errors_never_carry_control_characters() -> None:
    assert cycle.one_line("password\x00 authentication failed\x1b[31m for user") == (
        "password  authentication failed [31m for user"
    )
