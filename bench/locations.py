"""What probing from more locations costs: `.venv/bin/python -m bench.locations` (`make bench-locations`).

For one location and for three (PROBE_LOCATIONS), each in a database of its own on one embedded PostgreSQL:
1. seeds a year of history for every location (bench.seed: 14 days raw, then rollups) and measures the
   database on disk;
2. times, in this process through the web's own Reader, the board's store read (uncached: what each web
   process does once per BOARD_READ_S), the board callback (`board_outputs`, the shared read as production
   has it) and the charts callback for 24 h (`chart_outputs`: a line per location);
3. starts the Procfile's web process (gunicorn) on that database and runs wrk with N connections on
   /healthz (the baseline) and /api/status.
Then prints three locations' figures beside one's, with the ratios. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.common import embedded_postgres, percentile, save, scratch, table, time_ms
from bench.history import sizes
from bench.load import add_wrk_arguments, ensure_wrk
from bench.seed import seed_year
from bench.status_page import wrk_on_web
from jobs import store
from jobs.result import SERVICE_NAMES, utcnow
from jobs.settings import Settings, load

LAYOUTS = {1: ("fra1",), 3: ("fra1", "nyc3", "sgp1")}
ENDPOINTS = ("/healthz", "/api/status")


def _database(admin_url: str, name: str) -> str:
    """A new database `name` on the server of `admin_url`; its URL."""
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def _ms(samples: list[float]) -> dict[str, float]:
    return {"p50": percentile(samples, 50), "p95": percentile(samples, 95)}


def _in_process(settings: Settings, repeat: int) -> dict[str, dict[str, float]]:
    """The web's work per board read, board refresh and 24 h charts refresh, in ms."""
    # Imported here: the app's modules read settings; the store must be seeded first.
    from dashapp.callbacks import board_outputs, chart_outputs
    from dashapp.reader import Reader

    reader = Reader(settings)
    now = utcnow()
    services, places = list(SERVICE_NAMES), list(settings.locations)
    try:
        with reader.connection() as conn:

            def read() -> object:  # as Reader does it: by location only when there are several
                if len(places) > 1:
                    return store.latest_and_checks_by_location(conn, services, places, now - store.DAY, now)
                return store.latest_and_uptimes(conn, services, now - store.DAY, now)

            store_ms = time_ms(read, repeat)
        return {
            "board_read_ms": _ms(store_ms),
            "board_callback_ms": _ms(time_ms(lambda: board_outputs(reader, settings), repeat)),
            "charts_24h_ms": _ms(time_ms(lambda: chart_outputs(reader, "24h"), max(20, repeat // 5))),
        }
    finally:
        reader.close()


def measure(count: int, pg_url: str, directory: Path, args: argparse.Namespace, wrk: str) -> dict[str, Any]:
    """Every figure of `count` locations, on a database of their own."""
    places = LAYOUTS[count]
    env = {"DATABASE_URL": _database(pg_url, f"locations_{count}"), "PROBE_LOCATIONS": ",".join(places)}
    settings = load(env)
    conn = store.connect(settings.postgres, 120)
    store.migrate(conn)
    now = utcnow()
    print(f"{count} location(s): seeding a year of history for each ...", flush=True)
    for n, place in enumerate(places):
        seed_year(conn, now, settings.raw_retention_days, seed=n + 1, location=place)
    disk = sizes(conn)
    conn.close()
    figures: dict[str, Any] = {"bytes": disk, **_in_process(settings, args.repeat)}
    figures["wrk"] = wrk_on_web(env, directory / f"web-{count}.log", "/api/status", ENDPOINTS, args, wrk)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.locations", description=__doc__)
    add_wrk_arguments(parser)
    parser.add_argument("--repeat", type=int, default=200, help="in-process calls timed per figure (default 200)")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()

    with scratch() as directory, embedded_postgres(directory) as pg:
        found = {count: measure(count, pg.url, directory, args, wrk) for count in LAYOUTS}
        load_average = os.getloadavg()

    one, three = found[1], found[3]

    def rps(figures: dict[str, Any], path: str) -> float:
        return figures["wrk"][path]["requests_per_s"]

    rows: list[tuple[Any, ...]] = [
        ("database on disk (MiB)", one["bytes"]["database"] / 2**20, three["bytes"]["database"] / 2**20),
    ]
    for key in ("board_read_ms", "board_callback_ms", "charts_24h_ms"):
        for p in ("p50", "p95"):
            rows.append((f"{key} {p}", one[key][p], three[key][p]))
    for path in ENDPOINTS:
        rows.append((f"{path} req/s", rps(one, path), rps(three, path)))
        rows.append((f"{path} p99 ms", one["wrk"][path]["p99_ms"], three["wrk"][path]["p99_ms"]))
    print()
    print(table(("figure", "1 location", "3 locations", "3 / 1"), [(*r, r[2] / r[1]) for r in rows]))
    print(
        f"(a year stored per location; wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s on gunicorn"
        f" as in the Procfile; load average at the end {load_average[0]:.1f})\n"
    )
    targets = {
        "year_of_history_3_locations_le_3x": three["bytes"]["database"] <= 3 * one["bytes"]["database"],
        "api_status_3_locations_ge_1_over_1_5": rps(three, "/api/status") * 1.5 >= rps(one, "/api/status"),
        "board_callback_3_locations_le_1_5x": three["board_callback_ms"]["p50"]
        <= 1.5 * one["board_callback_ms"]["p50"],
        "no_errors": all(
            r["non_2xx"] == 0 and r["socket_errors"] == "none" for f in found.values() for r in f["wrk"].values()
        ),
    }
    for name, ok in targets.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    data = {"settings": vars(args), "found": found, "load_average": load_average, "targets": targets}
    print(f"saved {save('locations', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
