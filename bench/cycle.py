"""One probe cycle against local servers: `.venv/bin/python -m bench.cycle` (or `make bench-cycle`).

Starts embedded PostgreSQL and Valkey and the local AWS sandbox (in a process of its own, as under `make run`),
then, round after round, times the cycle
(every probe at once, as `jobs.cycle.run_probes` runs them; and with its results stored, as the RQ job does)
against each probe run alone, and each probe against a bare round trip to the same server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime

import psycopg2
import redis

from bench.common import percentile, probe_stack, save, table
from jobs.cycle import persist, run_probes
from jobs.probes import PROBES


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def bare_round_trips(pg_url: str, valkey_url: str, repeat: int) -> dict[str, list[float]]:
    """PostgreSQL SELECT 1 on an open connection and on a fresh one (connect, SELECT 1, close); Valkey PING
    on an open connection and on a fresh one."""
    samples: dict[str, list[float]] = {
        "pg_select1_open": [],
        "pg_select1_fresh": [],
        "valkey_ping_open": [],
        "valkey_ping_fresh": [],
    }
    conn = psycopg2.connect(pg_url)
    client = redis.Redis.from_url(valkey_url)
    client.ping()
    with conn.cursor() as cur:
        for _ in range(repeat):
            started = time.perf_counter()
            cur.execute("SELECT 1")
            cur.fetchone()
            samples["pg_select1_open"].append(_ms(started))
            started = time.perf_counter()
            fresh = psycopg2.connect(pg_url)
            with fresh.cursor() as fresh_cur:
                fresh_cur.execute("SELECT 1")
                fresh_cur.fetchone()
            fresh.close()
            samples["pg_select1_fresh"].append(_ms(started))
            started = time.perf_counter()
            client.ping()
            samples["valkey_ping_open"].append(_ms(started))
            started = time.perf_counter()
            fresh_client = redis.Redis.from_url(valkey_url)
            fresh_client.ping()
            fresh_client.close()
            samples["valkey_ping_fresh"].append(_ms(started))
    conn.close()
    client.close()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cycle", description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="rounds (default 30)")
    args = parser.parse_args(argv)

    with probe_stack() as stack:
        settings = stack.settings
        alone: dict[str, list[float]] = {s: [] for s in PROBES}
        reported: dict[str, list[float]] = {s: [] for s in PROBES}
        cycle_ms, stored_ms, ratios, stored_ratios = [], [], [], []
        for n in range(args.rounds):
            slowest = 0.0
            for service, probe in PROBES.items():
                started = time.perf_counter()
                result = probe(settings)
                took = _ms(started)
                alone[service].append(took)
                reported[service].append(result.latency_ms)
                slowest = max(slowest, took)
            started = time.perf_counter()
            run_probes(settings)
            cycle_ms.append(_ms(started))
            started = time.perf_counter()
            results = run_probes(settings)
            persist(settings, results, datetime.fromtimestamp(n * 60, UTC))  # a distinct slot per round
            stored_ms.append(_ms(started))
            ratios.append(cycle_ms[-1] / slowest)
            stored_ratios.append(stored_ms[-1] / slowest)
        bare = bare_round_trips(stack.pg_url, stack.valkey_url, args.rounds * 3)

    median = statistics.median
    bare_fresh = {"postgres": median(bare["pg_select1_fresh"]), "valkey": median(bare["valkey_ping_fresh"])}
    rows = []
    for service in PROBES:
        overhead = median(alone[service]) - bare_fresh[service] if service in bare_fresh else None
        rows.append(
            (
                service,
                median(alone[service]),
                percentile(alone[service], 95),
                median(reported[service]),
                "n/a" if overhead is None else overhead,
            )
        )
    print(table(("probe alone", "wall p50", "wall p95", "reported latency p50", "over bare fresh round trip"), rows))
    print()
    print(
        table(
            ("bare round trip", "p50", "p95"),
            [(name, median(values), percentile(values, 95)) for name, values in bare.items()],
        )
    )
    print()
    print(
        table(
            ("cycle", "wall p50", "wall p95", "÷ slowest probe alone (p50)", "(p95)"),
            [
                ("probes at once", median(cycle_ms), percentile(cycle_ms, 95), median(ratios), percentile(ratios, 95)),
                (
                    "probes + store",
                    median(stored_ms),
                    percentile(stored_ms, 95),
                    median(stored_ratios),
                    percentile(stored_ratios, 95),
                ),
            ],
        )
    )
    print("(ms; each round runs every probe alone, one after another, then the cycle; ratio per round)")
    sequential = median(map(sum, zip(*alone.values(), strict=True)))
    print(f"sum of the probes alone (a sequential cycle), p50: {sequential:.1f}")
    ok = median(ratios) <= 1.2
    print(f"{'PASS' if ok else 'FAIL'}  cycle_within_1.2x_slowest_probe (p50 ratio {median(ratios):.2f})")
    data = {
        "rounds": args.rounds,
        "probe_alone_ms": {s: {"p50": median(v), "p95": percentile(v, 95)} for s, v in alone.items()},
        "probe_reported_latency_ms_p50": {s: median(v) for s, v in reported.items()},
        "bare_ms": {k: {"p50": median(v), "p95": percentile(v, 95)} for k, v in bare.items()},
        "sequential_sum_ms_p50": sequential,
        "cycle_ms": {"p50": median(cycle_ms), "p95": percentile(cycle_ms, 95)},
        "cycle_with_store_ms": {"p50": median(stored_ms), "p95": percentile(stored_ms, 95)},
        "ratio_to_slowest_p50": median(ratios),
        "ratio_with_store_to_slowest_p50": median(stored_ratios),
        "targets": {"cycle_within_1_2x_slowest": ok},
    }
    print(f"saved {save('cycle', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
