"""`make run`'s launcher, end to end: a fresh copy of the project, real processes, real servers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sandbox.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("jobs", "dashapp", "sandbox", "assets", "Procfile")


class Launcher:
    """`python -m sandbox.stack` in a directory, with its output collected line by line."""

    def __init__(self, cwd: Path, port: int):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "VALKEY_URL", "PG"))}
        env.update({"PORT": str(port), "PROBE_INTERVAL_S": "2", "PROBE_TIMEOUT_S": "1.5", "DASH_REFRESH_S": "1"})
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox.stack"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in output:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=60)


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def wait_until(check, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.5)


def processes_under(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(path) in text and proc.pid != os.getpid():
            found.append(proc)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A copy of what a fresh clone ships, so `.local/` is this test's own."""
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    yield tmp_path
    for proc in processes_under(tmp_path):
        proc.kill()


def test_make_run_serves_the_board_stops_cleanly_and_reuses_its_data(project: Path) -> None:
    port = free_port()
    first = Launcher(project, port)
    try:
        first.wait_for_line(f"Dashboard: http://127.0.0.1:{port}", timeout=90)
        status, body = wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        assert status == 200 and json.loads(body)
        status, _page = get(f"http://127.0.0.1:{port}/")
        assert status == 200

        def board() -> dict[str, str] | None:
            services = json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])["services"]
            statuses = {s["service"]: s["status"] for s in services}
            return statuses if set(statuses.values()) == {"up"} else None

        # All four green, the AWS rows through the local sandbox, within a few probe intervals.
        statuses = wait_until(board, timeout=60)
        assert list(statuses) == ["postgres", "valkey", "roles_anywhere", "secrets_manager"]

        second = Launcher(project, free_port())
        assert second.process.wait(timeout=60) == 1
        assert any("already running" in line for line in second.lines), second.lines
    finally:
        first.stop()

    assert any("stopped everything it started" in line for line in first.lines)
    time.sleep(1)
    assert processes_under(project) == [], "Ctrl-C must leave no process behind"

    state = json.loads((project / ".local" / "state.json").read_text())
    import psycopg2

    again = Launcher(project, port)
    try:
        again.wait_for_line("Dashboard:", timeout=90)
        url = f"postgresql://monitor:{state['pg_password']}@127.0.0.1:{state['pg_port']}/monitor"
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM probe_results WHERE service = 'postgres'")
            (kept,) = cur.fetchone()
        assert kept >= 1, "the second start must see the first start's history"
    finally:
        again.stop()
    assert processes_under(project) == []
