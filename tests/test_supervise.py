"""The supervisor's restart backoff (jobs/supervise.py): doubling from 1 s, capped at 30 s, started over by a
healthy run. (The supervisor restarting real RQ processes through a Valkey outage:
tests/faults/test_valkey_down.py.)"""

from __future__ import annotations

from itertools import accumulate

from jobs.supervise import backoff_s, failures_after
from jobs.worker import ProbeWorker

# The README's promise, written out rather than computed, so a change of rule shows here.
SEQUENCE_S = [1, 2, 4, 8, 16, 30, 30, 30]


def test_the_backoff_doubles_from_one_second_and_is_capped_at_thirty() -> None:
    assert [backoff_s(failures) for failures in range(1, 9)] == SEQUENCE_S
    assert backoff_s(100) == 30


def delays(runs_s: list[float]) -> list[float]:
    """The waits before each restart, after runs lasting `runs_s` seconds, as the supervisor counts them."""
    counts = accumulate(runs_s, failures_after, initial=0)
    return [backoff_s(failures) for failures in list(counts)[1:]]


def test_quick_failures_in_a_row_back_off_further_each_time() -> None:
    assert delays([0.5] * 8) == SEQUENCE_S


def test_a_run_of_a_minute_or_more_starts_the_backoff_over() -> None:
    assert delays([1, 1, 1, 60, 1, 1]) == [1, 2, 4, 1, 2, 4]
    assert delays([1] * 7 + [3600, 1]) == [*SEQUENCE_S[:7], 1, 2]
    assert delays([59.9, 59.9]) == [1, 2]


def test_an_idle_worker_reconnects_to_valkey_within_the_same_cap() -> None:
    # RQ's own reconnect loop (a worker waiting for a job) doubles up to 60 s unless capped.
    assert ProbeWorker.max_connection_wait_time == backoff_s(100) == 30
