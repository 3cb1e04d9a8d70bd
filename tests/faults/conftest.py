"""Faults the product must survive: servers of each test's own that it stops, restarts and freezes, and the
Procfile's processes (supervised RQ worker and scheduler, gunicorn) run as real subprocesses."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psutil
import psycopg2
import pytest

from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port
from tests.conftest import ROOT
from tests.stack_support import wait_until

T = TypeVar("T")
PROCFILE = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
# Short cycles so several fit in a test: one every 2 s, each probe bounded by 1 s.
FAST = {"PROBE_INTERVAL_S": "2", "PROBE_TIMEOUT_S": "1", "PROBE_LOCATION": "test", "DASH_REFRESH_S": "1"}


@pytest.fixture
def own_pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server this test alone uses, so it may stop, restart and freeze it."""
    # A database name of its own: the test process migrates each (host, port, database) once, and a port can
    # come round again for another test's server.
    name = f"monitor_{secrets.token_hex(4)}"
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), secrets.token_hex(8), dbname=name)
    server.start()
    yield server
    if server.process is not None:
        signal_tree(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path / "valkey", free_port(), secrets.token_hex(8))
    server.start()
    yield server
    if server.server.is_running():
        signal_tree(server.server._process.pid, signal.SIGCONT)
    server.stop()


def signal_tree(pid: int, signum: int) -> None:
    """Signal a server and every process under it (PostgreSQL's backends run in sessions of their own)."""
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            proc.send_signal(signum)
    except psutil.NoSuchProcess:
        pass


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The server's processes stopped (SIGSTOP): TCP still accepted and acknowledged by the kernel, no reply."""
    signal_tree(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        signal_tree(pid, signal.SIGCONT)


class Processes:
    """The Procfile's processes as subprocesses, each with its own log file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        bin_dir = str(Path(sys.executable).parent)
        self.env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1", **env}
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        """Start the Procfile's `name` (or `command`) through the shell, as honcho does."""
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                ["sh", "-c", f"exec {command or PROCFILE[name]}"],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def web(self) -> str:
        port = free_port()
        self.start("web", BIND_HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: get(url + "/healthz")[0] == 200, 60, "the web to answer", self)
        return url

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tails(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)[-3000:]}" for name in self.running)

    def assert_running(self) -> None:
        exited = {n: p.returncode for n, p in self.running.items() if p.poll() is not None}
        assert not exited, f"exited: {exited}\n{self.tails()}"

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Processes]]:
    made: list[Processes] = []

    def make(env: dict[str, str]) -> Processes:
        made.append(Processes(env, tmp_path))
        return made[-1]

    yield make
    for procs in made:
        procs.stop()


def wait_for(check: Callable[[], T], limit_s: float, what: str, procs: Processes | None = None) -> T:
    """`check()`'s first truthy value within `limit_s`, else fail naming `what` (with the processes' logs)."""
    return wait_until(check, limit_s, what, procs.tails if procs else None)


def get(url: str, timeout: float = 20) -> tuple[int, Any]:
    """(status, JSON body or text) of a GET; connection errors are status 0."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError:
        return 0, None
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def timed_get(url: str) -> tuple[int, Any, float]:
    started = time.monotonic()
    status, body = get(url)
    return status, body, time.monotonic() - started


def query(db_url: str, sql: str, *params: object) -> list[tuple]:
    conn = psycopg2.connect(db_url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def slots(db_url: str) -> dict:
    """{slot: [services stored for it]} (empty before the worker's first migration)."""
    if not query(db_url, "SELECT to_regclass('probe_results') IS NOT NULL")[0][0]:
        return {}
    by_slot: dict = {}
    for slot, service in query(db_url, "SELECT slot, service FROM probe_results ORDER BY id"):
        by_slot.setdefault(slot, []).append(service)
    return by_slot
