"""The public status page's rules, pure: the overall line, incidents merged per service, the brief cache."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from dashapp.brief_cache import BriefCache
from dashapp.public_status import PublicIncident, PublicService, overall, public_incidents
from jobs.store import Incident

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def services(*statuses: str) -> list[PublicService]:
    names = ("PostgreSQL", "Valkey", "AWS IAM Roles Anywhere", "AWS Secrets Manager")
    return [PublicService(name, status, {}) for name, status in zip(names, statuses, strict=True)]


def test_overall_line_names_each_state_that_is_not_up_worst_first() -> None:
    assert overall(services("up", "up", "up", "up")) == "All services operational"
    assert overall(services("up", "down", "up", "up")) == "1 of 4 down: Valkey"
    assert overall(services("stale", "degraded", "down", "down")) == (
        "2 of 4 down: AWS IAM Roles Anywhere, AWS Secrets Manager; 1 of 4 degraded: Valkey;"
        " 1 of 4 status unknown: PostgreSQL"
    )
    assert overall(services("up", "up", "up", "not_configured")) == "1 of 4 not monitored: AWS Secrets Manager"


def incident(service: str, location: str, level: str, started_h: int, ended: bool = False) -> Incident:
    started = T0 - timedelta(hours=started_h)
    return Incident(0, service, location, level, started, T0 if ended else None, "err", "down", 3, None)


def test_incidents_one_per_service_earliest_start_worst_level_resolved_left_out() -> None:
    found = public_incidents(
        [
            incident("valkey", "a", "warning", 1),
            incident("roles_anywhere", "b", "warning", 5),
            incident("roles_anywhere", "a", "critical", 2),
            incident("postgres", "a", "critical", 9, ended=True),
        ]
    )
    assert found == [
        PublicIncident("Valkey", T0 - timedelta(hours=1), "degraded"),
        PublicIncident("AWS IAM Roles Anywhere", T0 - timedelta(hours=5), "down"),
    ]


def test_brief_cache_keeps_a_value_for_its_time_to_live_then_makes_another() -> None:
    now = [100.0]
    made = []
    cache = BriefCache(lambda: made.append(now[0]) or len(made), ttl_s=5, clock=lambda: now[0])
    assert (cache.get(), cache.get()) == (1, 1)
    now[0] = 104.9
    assert cache.get() == 1
    now[0] = 105.0
    assert cache.get() == 2
    assert made == [100.0, 105.0]


def test_brief_cache_makes_once_for_a_burst_of_threads() -> None:
    calls = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return len(calls)

    cache = BriefCache(slow, ttl_s=60)
    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got == [1] * 8 and len(calls) == 1
