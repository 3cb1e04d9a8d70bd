"""Alerting's costs: `.venv/bin/python -m bench.alerting` (or `make bench-alerting`).

Starts its own embedded PostgreSQL and Valkey, a local HTTP receiver (an Apprise `json://` channel) and the
Procfile's worker (`rq worker ... ProbeWorker probes`, which sends notifications from a thread), then measures:

- deciding incidents after a stored cycle (`jobs.alerting.after_cycle.after_stored` on the cycle's own
  connections, as the worker runs it: the rule, the conditional statements and the outbox, plus queueing the
  sender when a notification is due), four services per cycle, against the cycle's store write timed alone;
- the firing's delay: from the end of the deciding cycle's `after_stored` to the receiver holding the message,
  one incident opened per round (a location of its own each round);
- `/api/incidents` with a year of incidents at one per day per service (1,460), through the real Flask app (its
  test client): its default answer (the last 7 days) for a service and for all, and the whole year.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.common import ROOT, embedded_postgres, embedded_valkey, percentile, save, scratch, table, time_ms
from jobs import buffer, store
from jobs.alerting.after_cycle import after_stored
from jobs.result import SERVICE_NAMES, ProbeResult, Status, utcnow
from jobs.settings import load


class _Receiver:
    """Keeps the arrival time (perf_counter) of each POST's JSON title."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.arrived[body["title"]] = time.perf_counter()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"


def _cycle(location: str, minute: int, status: Status, now) -> list[ProbeResult]:  # type: ignore[no-untyped-def]
    return [
        ProbeResult(
            service=service,
            status=status if service == "valkey" else Status.UP,
            latency_ms=5.0,
            endpoint="127.0.0.1:1",
            checked_at=now + timedelta(minutes=minute),
            location=location,
            error="connection refused by 127.0.0.1:1" if status is Status.DOWN and service == "valkey" else None,
        )
        for service in SERVICE_NAMES
    ]


def _seed_year_of_incidents(conn) -> int:  # type: ignore[no-untyped-def]
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO incidents (service, location, level, started_at, ended_at, first_error, worst_status,"
            " checks_failed, root_cause)"
            " SELECT s, 'bench', 'critical', d, d + interval '7 minutes', 'connection refused by 10.0.0.1:5432',"
            " 'down', 7, NULL FROM unnest(%s::text[]) AS s, generate_series(now() - interval '365 days',"
            " now() - interval '1 day', interval '1 day') AS d",
            (list(SERVICE_NAMES),),
        )
        return cur.rowcount


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.alerting", description=__doc__)
    parser.add_argument("--rounds", type=int, default=40, help="cycles decided, and firings sent (default 40)")
    parser.add_argument("--requests", type=int, default=400, help="timed /api/incidents requests (default 400)")
    args = parser.parse_args(argv)

    with scratch() as directory, embedded_postgres(directory) as pg, embedded_valkey(directory) as vk:
        receiver = _Receiver()
        env = {"DATABASE_URL": pg.url, "VALKEY_URL": vk.url, "ALERT_URLS": receiver.url, "PROBE_LOCATION": "bench"}
        settings = load(env)
        conn = store.connect(settings.postgres, 30)
        store.migrate(conn)
        valkey = buffer.client(settings.valkey, 30)
        worker = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "rq"),
                *("worker", "--config", "jobs.rq_config", "--worker-class", "jobs.worker.ProbeWorker", "probes"),
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            now = utcnow() - timedelta(days=1)
            decide_ms, store_ms, firing_ms = [], [], []
            for round_ in range(args.rounds):
                location = f"bench-{round_}"
                round_settings = load({**env, "PROBE_LOCATION": location})
                for minute, status in enumerate((Status.UP, Status.DOWN, Status.DOWN, Status.DOWN)):
                    results = _cycle(location, minute, status, now)
                    started = time.perf_counter()
                    store.write_results(conn, results, now + timedelta(minutes=minute))
                    stored = time.perf_counter()
                    after_stored(round_settings, results, conn, valkey)
                    decided = time.perf_counter()
                    store_ms.append((stored - started) * 1000)
                    decide_ms.append((decided - stored) * 1000)
                title = f"FIRING: Valkey ({location}) down"
                deadline = time.monotonic() + 30
                while title not in receiver.arrived and time.monotonic() < deadline:
                    time.sleep(0.002)
                if title not in receiver.arrived:
                    raise SystemExit(f"bench: no firing for {location} within 30 s")
                firing_ms.append((receiver.arrived[title] - decided) * 1000)
        finally:
            worker.terminate()
            worker.wait(30)

        seeded = _seed_year_of_incidents(conn)
        from dashapp.factory import create_app  # reads its settings: imported once the store is ready

        client = create_app(settings).server.test_client()

        def get(query: str) -> None:
            response = client.get(f"/api/incidents?{query}")
            assert response.status_code == 200, response.get_data(as_text=True)

        one_ms = time_ms(lambda: get("service=postgres"), args.requests)
        all_ms = time_ms(lambda: get(""), args.requests)
        year_ms = time_ms(lambda: get("since=365d"), max(20, args.requests // 10))
        conn.close()

    rows = [
        ("deciding after a stored cycle (4 services)", percentile(decide_ms, 50), percentile(decide_ms, 95)),
        ("the cycle's store write alone", percentile(store_ms, 50), percentile(store_ms, 95)),
        ("firing: decided to received", percentile(firing_ms, 50), percentile(firing_ms, 95)),
        (f"/api/incidents?service=postgres ({seeded:,} stored)", percentile(one_ms, 50), percentile(one_ms, 95)),
        ("/api/incidents (all services, 7 days)", percentile(all_ms, 50), percentile(all_ms, 95)),
        ("/api/incidents?since=365d (the whole year)", percentile(year_ms, 50), percentile(year_ms, 95)),
    ]
    print(table(("what", "p50 ms", "p95 ms"), rows))
    print(f"({args.rounds} rounds of 4 cycles; {args.requests} requests each)")
    checks = {
        "deciding_p50_le_5ms": percentile(decide_ms, 50) <= 5,
        "firing_p95_le_2s": percentile(firing_ms, 95) <= 2000,
        "api_incidents_p95_lt_10ms": max(percentile(one_ms, 95), percentile(all_ms, 95)) < 10,
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    path = save(
        "alerting",
        {
            "rounds": args.rounds,
            "deciding_ms": {"p50": percentile(decide_ms, 50), "p95": percentile(decide_ms, 95)},
            "store_write_ms": {"p50": percentile(store_ms, 50), "p95": percentile(store_ms, 95)},
            "firing_ms": {"p50": percentile(firing_ms, 50), "p95": percentile(firing_ms, 95)},
            "api_incidents_ms": {
                "one_service": {"p50": percentile(one_ms, 50), "p95": percentile(one_ms, 95)},
                "all": {"p50": percentile(all_ms, 50), "p95": percentile(all_ms, 95)},
                "year": {"p50": percentile(year_ms, 50), "p95": percentile(year_ms, 95)},
            },
            "checks": checks,
        },
    )
    print(f"saved {path}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
