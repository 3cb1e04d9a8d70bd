"""`make run`'s launcher (`python -m sandbox.stack`) in a copy of the project, for the tests that start and
stop the whole stack (tests/test_make_run.py, tests/faults/test_restart_of_everything.py)."""

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
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil

from tests.environment import without_product_variables

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
# What a fresh clone ships that `make run` needs.
SHIPPED = ("jobs", "dashapp", "sandbox", "assets", "Procfile")


class Launcher:
    """`python -m sandbox.stack` in a directory, with its output collected line by line."""

    def __init__(self, cwd: Path, port: int, settings: dict[str, str] | None = None):
        env = without_product_variables(os.environ)
        env.update({"PORT": str(port), "PROBE_INTERVAL_S": "2", "PROBE_TIMEOUT_S": "1.5", "DASH_REFRESH_S": "1"})
        env.update(settings or {})
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

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as in the terminal of `make run`; its exit status once it ended (within `timeout`)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
        return self.process.wait(timeout=timeout)


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


def wait_until(
    check: Callable[[], T], timeout: float, what: str = "the condition", logs: Callable[[], str] | None = None
) -> T:
    """`check()`'s first truthy value within `timeout` seconds (connection errors count as not yet), else fail
    naming `what`, with `logs()` when given (the processes' output, say)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}\n" + (logs() if logs else ""))
        time.sleep(0.2)


def processes_under(path: Path) -> list[psutil.Process]:
    """Every process (but this one) whose command line or working directory is in `path`."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " " + (proc.info["cwd"] or "")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(path) in text and proc.pid != os.getpid():
            found.append(proc)
    return found


def copy_project(dest: Path) -> None:
    """A copy of what a fresh clone ships, so `.local/` is the copy's own."""
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dest / name)


def embedded_database_url(project: Path) -> str:
    """The URL of the embedded PostgreSQL `make run` started in `project` (from its `.local/state.json`)."""
    state = json.loads((project / ".local" / "state.json").read_text())
    return f"postgresql://monitor:{state['pg_password']}@127.0.0.1:{state['pg_port']}/monitor"
