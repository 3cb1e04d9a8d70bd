"""The running stack under load: `.venv/bin/python -m bench.load` (or `make bench-load`).

1. Seeds a year of history into a fresh embedded PostgreSQL, then stops it (the data a running install has).
2. Warm start, timed as `make run` does it: embedded PostgreSQL and Valkey, the local AWS sandbox, then the
   Procfile's processes (gunicorn web, rq worker, rq cron) — until `/api/status` shows all four services up
   from a cycle of this run.
3. Idle memory of web (every gunicorn process), worker and scheduler, after they settle.
4. The page's first load: the URLs headless Chromium fetches to render the page, each fetched again with
   `Accept-Encoding: gzip` only, bytes on the wire summed.
5. wrk (Debian's; installed if absent) with N connections on /healthz (the baseline), /api/status and /.
Everything listens on 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from bench.common import ROOT, save, scratch, table
from bench.seed import seed_year
from jobs import store
from jobs.result import utcnow
from jobs.settings import load
from sandbox.aws import start_sandbox
from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port

ENDPOINTS = ("/healthz", "/api/status", "/", "/api/history?service=postgres&range=24h")


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        print("installing wrk (Debian package)", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    return shutil.which("wrk") or "wrk"


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Stack:
    """The Procfile's processes, each in its own process group, as honcho runs them for `make run`."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        from honcho.environ import expand_processes, parse_procfile

        procfile = parse_procfile((ROOT / "Procfile").read_text())
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        for process in expand_processes(procfile.processes, env=env, port=int(env["PORT"])):
            with open(logs / f"{process.name}.log", "wb") as log:
                self.processes[process.name.split(".")[0]] = subprocess.Popen(  # noqa: S602 - the Procfile's commands
                    process.cmd,
                    shell=True,
                    cwd=ROOT,
                    env={**env, **process.env},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SystemExit(f"bench: the {name} process exited with {process.returncode}; see its log")

    def memory(self) -> dict[str, dict[str, float]]:
        """RSS and PSS (MiB) of each process's tree, shells excluded."""
        found = {}
        for name, process in self.processes.items():
            root = psutil.Process(process.pid)
            tree = [p for p in [root, *root.children(recursive=True)] if p.name() not in ("sh", "bash", "dash")]
            infos = [p.memory_full_info() for p in tree]
            found[name] = {
                "processes": len(tree),
                "rss_mib": sum(i.rss for i in infos) / 2**20,
                "pss_mib": sum(i.pss for i in infos) / 2**20,
            }
        return found

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_green(port: int, since: Any, stack: Stack, limit_s: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        stack.check()
        try:
            status, _, body = get(port, "/api/status")
        except OSError:
            status, body = 0, b""
        if status == 200:
            services = json.loads(body)["services"]
            if all(s["status"] == "up" and s["checked_at"] and s["checked_at"] >= since.isoformat() for s in services):
                return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"bench: the board was not green within {limit_s:g} s")


def page_urls(port: int) -> list[str]:
    """Every same-origin URL headless Chromium fetches to render the page with its charts."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser.conftest import pytest_setup_options

    options = pytest_setup_options()  # the browser tests' Chromium, flags and all
    options.add_argument("--headless=new")
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the four charts have drawn their data
            if driver.execute_script("return document.querySelectorAll('.js-plotly-plot .scatterlayer').length") >= 4:
                break
            time.sleep(0.2)
        time.sleep(1)
        names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    finally:
        driver.quit()
    local = [urlsplit(n) for n in names if n.startswith(f"http://127.0.0.1:{port}/")]
    return ["/", *dict.fromkeys(u.path + (f"?{u.query}" if u.query else "") for u in local)]


def page_bytes(port: int) -> dict[str, Any]:
    """Bytes on the wire of each URL of the first load, fetched with gzip only and with brotli (what Chromium
    negotiates). Dash's callback POSTs are not included."""
    rows = []
    for path in page_urls(port):
        if path.startswith("/_dash-update-component"):
            continue
        status, headers, body = get(port, path, {"Accept-Encoding": "gzip"})
        _, _, br_body = get(port, path, {"Accept-Encoding": "br"})
        _, _, plain = get(port, path)
        rows.append(
            {
                "path": path,
                "status": status,
                "encoding": headers.get("content-encoding", "identity"),
                "bytes": len(body),
                "bytes_br": len(br_body),
                "uncompressed": len(plain),
            }
        )
    return {
        "total_bytes_gzip": sum(r["bytes"] for r in rows),
        "total_bytes_br": sum(r["bytes_br"] for r in rows),
        "total_bytes_uncompressed": sum(r["uncompressed"] for r in rows),
        "files": rows,
    }


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNIT[unit]


def run_wrk(wrk: str, port: int, path: str, connections: int, duration_s: int, threads: int) -> dict[str, Any]:
    output = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "--timeout",
            "5s",
            f"http://127.0.0.1:{port}{path}",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(latency["50"]),
        "p90_ms": _ms(latency["90"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "none",
    }


def add_wrk_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connections", type=int, default=20, help="concurrent wrk connections (default 20)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint (default 15)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")


def wrk_table(results: dict[str, dict[str, Any]], baseline: str = "/healthz") -> str:
    """wrk's figures per endpoint, each against the baseline endpoint's requests per second."""
    base = results[baseline]["requests_per_s"]
    return table(
        ("endpoint", "req/s", "p50 ms", "p90 ms", "p99 ms", "vs baseline", "errors"),
        [
            (
                path,
                r["requests_per_s"],
                r["p50_ms"],
                r["p90_ms"],
                r["p99_ms"],
                r["requests_per_s"] / base,
                r["non_2xx"] + (0 if r["socket_errors"] == "none" else 1),
            )
            for path, r in results.items()
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    add_wrk_arguments(parser)
    parser.add_argument("--idle", type=float, default=10, help="seconds to settle before measuring memory")
    parser.add_argument("--web-concurrency", help="WEB_CONCURRENCY for gunicorn (the Procfile's default is 1)")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn flags via GUNICORN_CMD_ARGS")
    args = parser.parse_args(argv)
    wrk = ensure_wrk()

    with scratch() as directory:
        pg = EmbeddedPostgres(directory / "postgres", free_port(), "bench-" + os.urandom(6).hex())
        pg.start()
        conn = store.connect(load({"DATABASE_URL": pg.url}).postgres, 120)
        store.migrate(conn)
        print("seeding a year of history ...", flush=True)
        seed_year(conn, utcnow(), 14)
        conn.close()
        pg.stop()
        valkey = EmbeddedValkey(directory / "valkey", free_port(), "bench-" + os.urandom(6).hex())
        port = free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "BIND_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "GUNICORN_CMD_ARGS": args.gunicorn_args,
        }
        if args.web_concurrency:
            env["WEB_CONCURRENCY"] = args.web_concurrency
        stops = []
        stack = None
        try:
            # The warm start, as `make run` does it: servers with their data, the sandbox, the Procfile.
            since = utcnow()
            started = time.perf_counter()
            pg.start()
            stops.append(pg.stop)
            valkey.start()
            stops.append(valkey.stop)
            aws_env, stop_aws = start_sandbox(directory / "sandbox")
            stops.append(stop_aws)
            env.update({"DATABASE_URL": pg.url, "VALKEY_URL": valkey.url, **aws_env})
            servers_s = time.perf_counter() - started
            stack = Stack(env, directory)
            green_s = servers_s + wait_green(port, since, stack)
            print(f"warm start to a green board: {green_s:.1f} s (servers and sandbox {servers_s:.1f} s)", flush=True)

            time.sleep(args.idle)
            memory = stack.memory()
            page = page_bytes(port)
            results = {}
            for path in ENDPOINTS:
                print(f"wrk {args.connections} connections, {args.duration} s: {path}", flush=True)
                results[path] = run_wrk(wrk, port, path, args.connections, args.duration, args.wrk_threads)
            stack.check()
        finally:
            if stack is not None:
                stack.stop()
            for stop in reversed(stops):
                stop()

    base = results["/healthz"]["requests_per_s"]
    print()
    print(wrk_table(results))
    print(
        f"(wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s --latency, gunicorn as in the Procfile"
        f"{', GUNICORN_CMD_ARGS=' + repr(args.gunicorn_args) if args.gunicorn_args else ''}"
        f"{', WEB_CONCURRENCY=' + args.web_concurrency if args.web_concurrency else ''}; 127.0.0.1)\n"
    )
    print(
        table(
            ("process", "processes", "RSS MiB", "PSS MiB"),
            [(n, m["processes"], m["rss_mib"], m["pss_mib"]) for n, m in memory.items()]
            + [
                (
                    "all",
                    sum(m["processes"] for m in memory.values()),
                    sum(m["rss_mib"] for m in memory.values()),
                    sum(m["pss_mib"] for m in memory.values()),
                )
            ],
        )
    )
    print("(idle, after start; PSS shares each page among the processes that map it)\n")
    top = sorted(page["files"], key=lambda f: -f["bytes"])[:6]
    print(
        table(
            ("page file (largest)", "encoding", "bytes", "uncompressed"),
            [(f["path"][:70], f["encoding"], f["bytes"], f["uncompressed"]) for f in top],
        )
    )
    print(
        f"page first load: {page['total_bytes_gzip']:,} bytes with gzip, {page['total_bytes_br']:,} with brotli"
        f" ({len(page['files'])} files;"
        f" {page['total_bytes_uncompressed']:,} uncompressed)\n"
    )
    status = results["/api/status"]
    rss_all = sum(m["rss_mib"] for m in memory.values())
    targets = {
        "api_status_ge_650_rps": status["requests_per_s"] >= 650,
        "api_status_p99_lt_20ms": status["p99_ms"] < 20,
        "api_status_ge_half_baseline": status["requests_per_s"] >= base / 2,
        "page_first_load_lt_1_5MB_gzip": page["total_bytes_gzip"] < 1.5e6,
        "idle_rss_lt_300MiB": rss_all < 300,
        "warm_start_to_green_lt_10s": green_s < 10,
        "no_errors": all(r["non_2xx"] == 0 and r["socket_errors"] == "none" for r in results.values()),
    }
    for name, ok in targets.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    data = {
        "settings": vars(args),
        "warm_start_s": green_s,
        "servers_and_sandbox_s": servers_s,
        "memory": memory,
        "page": page,
        "wrk": results,
        "targets": targets,
    }
    print(f"saved {save('load', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
