"""`make run`'s launcher, end to end: a fresh copy of the project, real processes, real servers. (Stopping and
starting it again over the same data: tests/faults/test_restart_of_everything.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.embedded import free_port
from tests.conftest import WORKING
from tests.stack_support import Launcher, get, processes_under, wait_until


# The whole stack started (up to 90 s on a loaded machine), a second launcher, a stop.
@pytest.mark.timeout(600)
def test_make_run_serves_the_board_refuses_a_second_instance_and_stops_cleanly(project: Path) -> None:
    port = free_port()
    first = Launcher(project, port)
    try:
        first.wait_for_line(f"Dashboard: http://127.0.0.1:{port}", timeout=90)
        status, body = wait_until(lambda: get(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b'id="react-entry-point"' in page

        def board() -> dict[str, str] | None:
            services = json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])["services"]
            statuses = {s["service"]: s["status"] for s in services}
            return statuses if set(statuses.values()) <= WORKING else None

        # All four working (green, or amber on a loaded machine), the AWS rows through the local sandbox,
        # within a few probe intervals.
        statuses = wait_until(board, timeout=60)
        assert list(statuses) == ["postgres", "valkey", "roles_anywhere", "secrets_manager"]

        second = Launcher(project, free_port())
        assert second.process.wait(timeout=60) == 1
        assert any("already running" in line for line in second.lines), second.lines
    finally:
        first.stop()

    assert any("stopped everything it started" in line for line in first.lines)
    # Ctrl-C must leave no process behind (the last ones may take a moment to be reaped).
    wait_until(lambda: not processes_under(project), 10, "every process to end", lambda: str(processes_under(project)))
