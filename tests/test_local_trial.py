"""A newcomer's trial of alerting, end to end with real processes: `make run` in a fresh copy of the project,
`python -m sandbox break roles_anywhere`, the firing (root cause named) arriving at the local sink by webhook
and by e-mail, then `heal` and the resolved."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sandbox.embedded import free_port
from tests.conftest import WORKING
from tests.stack_support import Launcher, get, wait_until
from tests.test_sandbox_cli import sandbox_cli


def _on_both_channels(launcher: Launcher, kind: str) -> dict[str, str] | None:
    """The `make run: notification by CHANNEL: KIND...` lines printed so far by channel, once both are in."""
    found = {}
    for line in launcher.lines:
        match = re.search(rf"make run: notification by (webhook|e-mail): ({kind}: .*)$", line)
        if match:
            found[match[1]] = match[2]
    return found if len(found) == 2 else None


# The whole stack started (up to 90 s on a loaded machine), then three failed cycles and two good ones.
@pytest.mark.timeout(600)
def test_break_roles_anywhere_and_watch_the_alert_and_its_resolution_arrive(project: Path) -> None:
    port = free_port()
    launcher = Launcher(project, port)
    try:
        launcher.wait_for_line(f"Dashboard: http://127.0.0.1:{port}", timeout=90)
        [sink] = [line.split()[1] for line in launcher.lines if line.startswith("Notifications: http://127.0.0.1:")]

        def working() -> bool:
            services = json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])["services"]
            return {s["status"] for s in services} <= WORKING

        wait_until(working, timeout=60, what="a working board")

        done = sandbox_cli(project, "break", "roles_anywhere")
        assert done.returncode == 0, done.stderr
        assert f"notifications: {sink}" in done.stdout

        firing = wait_until(
            lambda: _on_both_channels(launcher, "FIRING"),
            timeout=90,
            what="the firing by webhook and by e-mail",
            logs=lambda: "\n".join(launcher.lines[-40:]),
        )
        for line in firing.values():
            assert line.startswith("FIRING: 2 incidents (")
            assert "AWS IAM Roles Anywhere (local)" in line and "AWS Secrets Manager (local)" in line
        # The output's line is cut at 300 characters (the first incident's error may fill it); the page shows
        # each message whole, root cause included.
        page = get(sink)[1].decode()
        assert page.count("FIRING: 2 incidents") == 2 and "caused by AWS IAM Roles Anywhere" in page

        done = sandbox_cli(project, "heal")
        assert (done.returncode, done.stdout.split(":")[0]) == (0, "healed roles_anywhere")
        resolved = wait_until(
            lambda: _on_both_channels(launcher, "RESOLVED"),
            timeout=90,
            what="the resolved by webhook and by e-mail",
            logs=lambda: "\n".join(launcher.lines[-40:]),
        )
        assert all(line.startswith("RESOLVED: 2 incidents (") for line in resolved.values())
        assert get(sink)[1].decode().count("RESOLVED: 2 incidents") == 2
    finally:
        launcher.stop()
    assert any("stopped everything it started" in line for line in launcher.lines)
    assert not (project / ".local" / "running.json").exists()
