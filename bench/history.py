"""History with a year of data: `.venv/bin/python -m bench.history` (or `make bench-history`).

Starts its own embedded PostgreSQL, seeds a year of four services at one check a minute (raw rows for the
raw retention window, hourly rollups for the rest), prints what that costs on disk, then times the store's
history read, `/api/history` through the real Flask app (its test client: the app's whole request path, no
socket) and the chart callback's work (`dashapp.callbacks.chart_outputs`: four series, four uptimes, four
figures) for each range.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from datetime import timedelta

from bench.common import embedded_postgres, percentile, save, scratch, table, time_ms
from bench.seed import seed_year
from dashapp.ranges import CHART_RANGES, RANGES
from jobs import store
from jobs.defaults import MAX_POINTS
from jobs.result import SERVICE_NAMES, utcnow
from jobs.settings import load


def sizes(conn) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with conn.cursor() as cur:
        cur.execute(
            "SELECT 'probe_results', pg_total_relation_size('probe_results') UNION ALL"
            " SELECT 'probe_rollups', pg_total_relation_size('probe_rollups') UNION ALL"
            " SELECT 'probe_rollups_daily', pg_total_relation_size('probe_rollups_daily') UNION ALL"
            " SELECT 'database', pg_database_size(current_database())"
        )
        return dict(cur.fetchall())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="timed requests per range (default 400)")
    parser.add_argument("--raw-days", type=int, default=14, help="raw retention in days (default 14)")
    args = parser.parse_args(argv)

    with scratch() as directory, embedded_postgres(directory) as pg:
        settings = load({"DATABASE_URL": pg.url, "RAW_RETENTION_DAYS": str(args.raw_days)})
        conn = store.connect(settings.postgres, 120)
        store.migrate(conn)
        print(f"seeding a year of 4 services at one check a minute ({args.raw_days} days raw) ...", flush=True)
        seeded = seed_year(conn, utcnow(), args.raw_days)
        disk = sizes(conn)
        stored = disk["probe_results"] + disk["probe_rollups"] + disk["probe_rollups_daily"]
        storage = {
            "raw_rows": seeded.raw_rows,
            "rollup_rows": seeded.rollup_rows,
            "daily_rollup_rows": seeded.daily_rows,
            "raw_equivalent_checks": seeded.raw_equivalent_checks,
            "bytes": disk,
            "bytes_per_stored_check": stored / seeded.raw_equivalent_checks,
            "seeding_s": seeded.seconds,
        }
        print(
            table(
                ("table", "rows", "bytes on disk", "MiB"),
                [
                    ("probe_results (raw)", seeded.raw_rows, disk["probe_results"], disk["probe_results"] / 2**20),
                    (
                        "probe_rollups (hourly)",
                        seeded.rollup_rows,
                        disk["probe_rollups"],
                        disk["probe_rollups"] / 2**20,
                    ),
                    (
                        "probe_rollups_daily",
                        seeded.daily_rows,
                        disk["probe_rollups_daily"],
                        disk["probe_rollups_daily"] / 2**20,
                    ),
                    ("whole database", "", disk["database"], disk["database"] / 2**20),
                ],
            )
        )
        print(
            f"{seeded.raw_equivalent_checks:,} raw-equivalent checks; {storage['bytes_per_stored_check']:.1f} bytes"
            f" per check (all three tables); seeded in {seeded.seconds:.1f} s\n",
            flush=True,
        )

        # Imported here: the app reads its settings, and the store must be seeded and migrated first.
        from dashapp import callbacks
        from dashapp.factory import create_app
        from dashapp.reader import Reader

        app = create_app(settings)
        client = app.server.test_client()
        reader = Reader(settings)
        rows, results = [], {}
        services = itertools.cycle(SERVICE_NAMES)
        for name, span in RANGES.items():
            end = utcnow()
            points = {s: len(store.history(conn, s, end - span, end, MAX_POINTS)) for s in SERVICE_NAMES}

            def read_store(span: timedelta = span) -> None:
                end = utcnow()
                store.history(conn, next(services), end - span, end, MAX_POINTS)

            def get_api(name: str = name) -> None:
                response = client.get(f"/api/history?service={next(services)}&range={name}")
                assert response.status_code == 200, response.get_data(as_text=True)

            store_ms = time_ms(read_store, args.requests)
            api_ms = time_ms(get_api, args.requests)
            chart_ms = (
                time_ms(lambda name=name: callbacks.chart_outputs(reader, name), max(20, args.requests // 10))
                if name in CHART_RANGES
                else None
            )
            results[name] = {
                "points_max": max(points.values()),
                "store_ms": {"p50": percentile(store_ms, 50), "p95": percentile(store_ms, 95)},
                "api_ms": {"p50": percentile(api_ms, 50), "p95": percentile(api_ms, 95)},
                "chart_callback_ms": None
                if chart_ms is None
                else {"p50": percentile(chart_ms, 50), "p95": percentile(chart_ms, 95)},
            }
            r = results[name]
            chart = r["chart_callback_ms"]
            rows.append(
                (
                    name,
                    r["points_max"],
                    r["store_ms"]["p50"],
                    r["store_ms"]["p95"],
                    r["api_ms"]["p50"],
                    r["api_ms"]["p95"],
                    chart["p50"] if chart else "(API only)",
                    chart["p95"] if chart else "",
                )
            )
        reader.close()
        conn.close()

    headers = ("range", "points", "store p50", "store p95", "API p50", "API p95", "chart p50", "chart p95")
    print(table(headers, rows))
    print("(ms; store = store.history of one service; API = GET /api/history via the Flask test client;")
    print(" chart = the chart callback's work for all four services: history, uptime and figure each)")
    base = results["1h"]["api_ms"]["p95"]
    verdicts = {
        "points_le_500": all(r["points_max"] <= MAX_POINTS for r in results.values()),
        "api_p95_30d_365d_within_2x_1h_and_under_25ms": all(
            results[n]["api_ms"]["p95"] <= 2 * base and results[n]["api_ms"]["p95"] < 25 for n in ("30d", "365d")
        ),
        "db_under_50_mb": disk["database"] < 50 * 10**6,
    }
    for name, ok in verdicts.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(f"saved {save('history', {'storage': storage, 'ranges': results, 'targets': verdicts})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
