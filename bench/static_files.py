"""The page's static files, this tree against an earlier commit: `.venv/bin/python -m bench.static_files
--before REF` (without --before, this tree alone).

1. Embedded PostgreSQL (two days of history, so the charts draw) and Valkey.
2. For each tree (REF's from `git archive`, then this one), the Procfile's web process alone (gunicorn, as
   production runs it), with the same .venv, one after the other:
   - the page's first load: the same-origin GETs headless Chromium makes (bench.load.page_urls; Dash's callback
     POSTs are not included, they are the same work in both trees);
   - the web process's CPU time per request of each of those URLs and of Dash's full plotly.js bundle, for three
     Accept-Encoding headers: gzip only, CloudFront's `br,gzip`, Chromium's `gzip, deflate, br, zstd`;
   - page loads per second: N clients, each on one keep-alive connection, fetching the whole set again and
     again for D seconds, and the web's CPU time per page load; with Chromium's header (a browser on the
     web itself) and with CloudFront's (what the web sees behind CloudFront).
Everything listens on 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import ROOT, embedded_postgres, embedded_valkey, save, scratch, table
from bench.load import get, page_urls
from bench.seed import seed_year
from bench.status_page import wait_for, web_command
from jobs import store
from jobs.result import utcnow
from jobs.settings import load
from sandbox.embedded import free_port

FULL_PLOTLY = "/_dash-component-suites/plotly/package_data/plotly.min.js"
ENCODINGS = {"gzip": "gzip", "cloudfront": "br,gzip", "chromium": "gzip, deflate, br, zstd"}
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
PAGE_LOADS = ("chromium", "cloudfront")  # the Accept-Encoding headers page loads are measured with


def tree_of(ref: str, directory: Path) -> Path:
    """The project as commit `ref` holds it, unpacked under `directory`."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory


class Web:
    """The Procfile's web process of the project at `cwd`."""

    def __init__(self, cwd: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        web_env = {
            **os.environ,
            **env,
            "PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                web_command(), cwd=cwd, env=web_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self.port, "/healthz")

    def cpu_s(self) -> float:
        """CPU time (user + system) of gunicorn and its workers so far."""
        root = psutil.Process(self.process.pid)
        return sum(sum(p.cpu_times()[:2]) for p in [root, *root.children(recursive=True)])

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(20)


def cpu_ms_per_request(web: Web, path: str, encoding: str, requests: int) -> dict[str, Any]:
    """The web's CPU ms per GET of `path`, its status and Content-Encoding; after two untimed requests (a file
    compressed once is compressed on the first)."""
    headers = {"Accept-Encoding": encoding}
    for _ in range(2):
        status, answer, _ = get(web.port, path, headers)
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
    started = web.cpu_s()
    for _ in range(requests):
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
    used = web.cpu_s() - started
    conn.close()
    return {"cpu_ms": used / requests * 1000, "status": status, "encoding": answer.get("content-encoding", "identity")}


def page_loads(web: Web, urls: list[str], encoding: str, clients: int, duration_s: float) -> dict[str, float]:
    """Page loads per second by `clients` clients fetching all of `urls` in turn, and the web's CPU per load."""
    done = [0] * clients
    errors = [0] * clients
    stop_at = time.monotonic() + duration_s

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        while time.monotonic() < stop_at:
            for url in urls:
                conn.request("GET", url, headers={"Accept-Encoding": encoding})
                response = conn.getresponse()
                response.read()
                errors[n] += response.status != 200
            done[n] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    cpu_started, started = web.cpu_s(), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.monotonic() - started, web.cpu_s() - cpu_started
    loads = sum(done)
    return {
        "page_loads_per_s": loads / elapsed,
        "cpu_ms_per_page_load": cpu / max(loads, 1) * 1000,
        "page_loads": loads,
        "errors": sum(errors),
    }


def measure(cwd: Path, env: dict[str, str], log: Path, args: argparse.Namespace) -> dict[str, Any]:
    web = Web(cwd, env, log)
    try:
        urls = page_urls(web.port)
        static = [u for u in urls if u.startswith(STATIC_PREFIXES)]
        per_request = {
            path: {name: cpu_ms_per_request(web, path, header, args.requests) for name, header in ENCODINGS.items()}
            for path in [*static, FULL_PLOTLY]
        }
        load_before = os.getloadavg()[0]
        loads = {name: page_loads(web, urls, ENCODINGS[name], args.clients, args.duration) for name in PAGE_LOADS}
        return {
            "urls": urls,
            "per_request": per_request,
            "page": loads,
            "load_average": [load_before, os.getloadavg()[0]],
        }
    finally:
        web.stop()


def _short(path: str) -> str:
    """A URL without its fingerprint, for the table."""
    return path.split("?")[0].replace("/_dash-component-suites/", "suites/")[:60]


def report(runs: dict[str, dict[str, Any]]) -> None:
    names = list(runs)
    keys = list(dict.fromkeys(_short(p) for run in runs.values() for p in run["per_request"]))
    rows = []
    for key in keys:
        row: list[Any] = [key]
        for encoding in ENCODINGS:
            for name in names:
                match = next((r for p, r in runs[name]["per_request"].items() if _short(p) == key), None)
                row.append("-" if match is None else match[encoding]["cpu_ms"])
        rows.append(row)
    totals: list[Any] = ["all static files of one page load"]
    for encoding in ENCODINGS:
        for name in names:
            totals.append(sum(r[encoding]["cpu_ms"] for p, r in runs[name]["per_request"].items() if p != FULL_PLOTLY))
    headers = ["web CPU ms per request"] + [f"{e} {n}" for e in ENCODINGS for n in names]
    print(table(headers, [*rows, totals]))
    for name in names:
        full = runs[name]["per_request"][FULL_PLOTLY]["gzip"]
        print(f"{name}: {FULL_PLOTLY} answers {full['status']} ({full['encoding']})")
    print()
    print(
        table(
            ("tree", "encoding", "page loads/s", "web CPU ms per page load", "page loads", "errors", "load avg"),
            [
                (
                    name,
                    encoding,
                    page["page_loads_per_s"],
                    page["cpu_ms_per_page_load"],
                    page["page_loads"],
                    page["errors"],
                    "/".join(f"{x:.1f}" for x in run["load_average"]),
                )
                for name, run in runs.items()
                for encoding, page in run["page"].items()
            ],
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.static_files", description=__doc__)
    parser.add_argument("--before", help="a git commit to measure first, e.g. the one before a change")
    parser.add_argument("--requests", type=int, default=40, help="requests per URL and encoding (default 40)")
    parser.add_argument("--clients", type=int, default=4, help="page-load clients (default 4)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of page loads per tree (default 15)")
    args = parser.parse_args(argv)

    with scratch() as directory, embedded_postgres(directory) as pg, embedded_valkey(directory) as valkey:
        env = {"DATABASE_URL": pg.url, "VALKEY_URL": valkey.url}
        conn = store.connect(load(env).postgres, 120)
        store.migrate(conn)
        seed_year(conn, utcnow(), raw_days=2, days=2)
        conn.close()
        trees = {}
        if args.before:
            trees[f"before ({args.before})"] = tree_of(args.before, directory / "before")
        trees["this tree"] = ROOT
        runs = {}
        for name, cwd in trees.items():
            print(f"measuring {name} ...", flush=True)
            runs[name] = measure(cwd, env, directory / f"web-{len(runs)}.log", args)

    print()
    report(runs)
    print(f"(gunicorn as in the Procfile, 127.0.0.1; {args.requests} requests per URL and encoding;")
    print(f" {args.clients} page-load clients for {args.duration:g} s; machine: {psutil.cpu_count()} CPUs)")
    print(f"saved {save('static_files', {'settings': vars(args), 'runs': runs})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
