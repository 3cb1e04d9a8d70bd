"""The public status page under load: `.venv/bin/python -m bench.status_page`.

1. Seeds a year of history into a fresh embedded PostgreSQL (as retention leaves it: 14 days raw, then
   rollups) and starts Valkey.
2. One render of the page's content, uncached (`read_public_status`: statuses, 24 h / 30 d / 90 d uptimes,
   open incidents), timed through the web's own Reader.
3. The Procfile's web process alone (gunicorn, as production runs it) with STATUS_PAGE=on; wrk with N
   connections on /healthz (the baseline) and /status.
Everything listens on 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, embedded_postgres, embedded_valkey, percentile, save, scratch, time_ms
from bench.load import add_wrk_arguments, ensure_wrk, get, run_wrk, wrk_table
from bench.seed import seed_year
from dashapp.public_status import read_public_status
from dashapp.reader import Reader
from jobs import store
from jobs.result import utcnow
from jobs.settings import load
from sandbox.embedded import free_port

ENDPOINTS = ("/healthz", "/status")


def web_command() -> list[str]:
    """The Procfile's `web` command."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return shlex.split(command)
    raise SystemExit("bench: no web process in the Procfile")


def wait_for(port: int, path: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if get(port, path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: {path} did not answer 200 within {limit_s:g} s")


def wrk_on_web(
    env: dict[str, str], log_path: Path, ready: str, endpoints: Sequence[str], args: argparse.Namespace, wrk: str
) -> dict[str, dict[str, Any]]:
    """The Procfile's web process alone (gunicorn, as production runs it) with `env`, once `ready` answers 200:
    wrk's figures for each of `endpoints`."""
    port = free_port()
    web_env = {
        **os.environ,
        **env,
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            web_command(), cwd=ROOT, env=web_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for(port, ready)
        results = {}
        for path in endpoints:
            print(f"wrk {args.connections} connections, {args.duration} s: {path}", flush=True)
            results[path] = run_wrk(wrk, port, path, args.connections, args.duration, args.wrk_threads)
        return results
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(20)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.status_page", description=__doc__)
    add_wrk_arguments(parser)
    parser.add_argument("--renders", type=int, default=100, help="uncached renders timed (default 100)")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()

    with scratch() as directory, embedded_postgres(directory) as pg, embedded_valkey(directory) as valkey:
        env = {"DATABASE_URL": pg.url, "VALKEY_URL": valkey.url, "STATUS_PAGE": "on"}
        settings = load(env)
        conn = store.connect(settings.postgres, 120)
        store.migrate(conn)
        print("seeding a year of history ...", flush=True)
        seed_year(conn, utcnow(), settings.raw_retention_days)
        conn.close()

        reader = Reader(settings)
        try:
            render_ms = time_ms(lambda: read_public_status(reader, settings, utcnow()), args.renders)
        finally:
            reader.close()

        results = wrk_on_web(env, directory / "web.log", "/status", ENDPOINTS, args, wrk)
        load_average = os.getloadavg()

    print()
    print(wrk_table(results))
    print(
        f"(wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s --latency; gunicorn as in the Procfile;"
        f" 127.0.0.1; load average at the end {load_average[0]:.1f})"
    )
    render = {"p50_ms": percentile(render_ms, 50), "p95_ms": percentile(render_ms, 95)}
    print(
        f"one uncached read of the page's content (a year stored): p50 {render['p50_ms']:.2f} ms,"
        f" p95 {render['p95_ms']:.2f} ms ({args.renders} reads)\n"
    )
    status = results["/status"]
    targets = {
        "status_ge_1000_rps": status["requests_per_s"] >= 1000,
        "no_errors": all(r["non_2xx"] == 0 and r["socket_errors"] == "none" for r in results.values()),
    }
    for name, ok in targets.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    data = {"settings": vars(args), "render": render, "wrk": results, "load_average": load_average, "targets": targets}
    print(f"saved {save('status_page', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
