"""`make run`'s launcher, end to end: a fresh copy of the project, real processes, real servers. (Stopping and
starting it again over the same data: tests/faults/test_restart_of_everything.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg2
import pytest

from sandbox.aws import AwsSandbox
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
        # The embedded servers are reached over verified TLS (the sandbox's CA given as DATABASE_CA_CERT and
        # VALKEY_CA_CERT): a check that worked went through it.
        services = {s["service"]: s for s in json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])["services"]}
        assert services["postgres"]["detail"]["tls"] is True and services["valkey"]["detail"]["tls"] is True
        # The public status page is on locally, and said where it is.
        first.wait_for_line(f"Public status page: http://127.0.0.1:{port}/status", timeout=5)
        status, page = get(f"http://127.0.0.1:{port}/status")
        assert status == 200 and b"<h1>Service status</h1>" in page

        # At once: it does not wait for the lock, nor start anything.
        second = Launcher(project, free_port())
        assert second.process.wait(timeout=15) == 1
        assert not any("embedded" in line or "Dashboard:" in line for line in second.lines), second.lines
        assert any("already running" in line for line in second.lines), second.lines
    finally:
        first.stop()

    assert any("stopped everything it started" in line for line in first.lines)
    # Ctrl-C must leave no process behind (the last ones may take a moment to be reaped).
    wait_until(lambda: not processes_under(project), 10, "every process to end", lambda: str(processes_under(project)))


def _stored_checks(db_url: str) -> int:
    conn = psycopg2.connect(db_url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('probe_results') IS NOT NULL")
            if not cur.fetchone()[0]:
                return 0
            cur.execute("SELECT count(*) FROM probe_results")
            return cur.fetchone()[0]
    finally:
        conn.close()


def _rq_worker(project: Path) -> psutil.Process | None:
    """The probes' `rq worker` the supervisor runs (not the supervisor itself)."""
    for proc in processes_under(project):
        try:
            cmdline = proc.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "--worker-class" in cmdline and "jobs.supervise" not in cmdline and cmdline[-1] == "probes":
            return proc
    return None


def test_make_run_with_given_servers_and_aws_starts_none_and_survives_a_worker_crash(
    project: Path, db_url: str, valkey_url: str, aws_sandbox: AwsSandbox
) -> None:
    port = free_port()
    given = {**aws_sandbox.env, "DATABASE_URL": db_url, "VALKEY_URL": valkey_url}
    launcher = Launcher(project, port, given)
    try:
        launcher.wait_for_line(f"Dashboard: http://127.0.0.1:{port}", timeout=90)
        # Neither embedded server nor the sandbox: the settings given name what to use.
        assert not any("embedded" in line or "local AWS sandbox" in line for line in launcher.lines), launcher.lines
        assert not any((project / ".local" / name).exists() for name in ("postgresql", "valkey", "sandbox"))

        def board() -> dict[str, str] | None:
            services = json.loads(get(f"http://127.0.0.1:{port}/api/status")[1])["services"]
            endpoints = {s["service"]: s["endpoint"] for s in services}
            return endpoints if {s["status"] for s in services} <= WORKING else None

        endpoints = wait_until(board, timeout=60, what="a working board")
        assert endpoints == {
            "postgres": urlsplit(db_url).netloc.rsplit("@", 1)[-1],
            "valkey": urlsplit(valkey_url).netloc.rsplit("@", 1)[-1],
            "roles_anywhere": aws_sandbox.env["AWS_ENDPOINT_URL_ROLESANYWHERE"].removeprefix("https://"),
            "secrets_manager": aws_sandbox.moto_url.removeprefix("http://"),
        }

        # The worker crashes: its supervisor restarts it, and make run (honcho) stays up and keeps storing.
        worker = wait_until(lambda: _rq_worker(project), timeout=10, what="the rq worker")
        worker.kill()
        before = _stored_checks(db_url)
        wait_until(lambda: any("restarting in 1 s" in line for line in launcher.lines), timeout=20, what="a restart")
        restarted = wait_until(lambda: _rq_worker(project), timeout=30, what="a restarted rq worker")
        assert restarted.pid != worker.pid
        wait_until(lambda: _stored_checks(db_url) >= before + 8, timeout=30, what="two more stored cycles")
        assert launcher.process.poll() is None, launcher.lines[-40:]
    finally:
        launcher.stop()
    assert any("stopped everything it started" in line for line in launcher.lines)


def test_make_run_probes_from_each_of_several_locations(
    project: Path, db_url: str, valkey_url: str, aws_sandbox: AwsSandbox
) -> None:
    """PROBE_LOCATIONS=local,edge: a worker per location, each location's checks stored and shown."""
    port = free_port()
    given = {**aws_sandbox.env, "DATABASE_URL": db_url, "VALKEY_URL": valkey_url, "PROBE_LOCATIONS": "local,edge"}
    launcher = Launcher(project, port, given)
    try:
        launcher.wait_for_line(f"Dashboard: http://127.0.0.1:{port}", timeout=90)

        seen: list[dict] = []

        def both_working() -> dict | None:
            seen.append(json.loads(get(f"http://127.0.0.1:{port}/api/status")[1]))
            services = seen[-1]["services"]
            at = {(s["service"], p): v["status"] for s in services for p, v in s.get("locations", {}).items()}
            return seen[-1] if set(at.values()) <= WORKING and {p for _, p in at} == {"local", "edge"} else None

        def logs() -> str:
            return json.dumps(seen[-1:]) + "\n" + "\n".join(launcher.lines[-60:])

        body = wait_until(both_working, 90, "both locations working", logs)
        assert body["locations"] == ["local", "edge"]
        assert any(" worker-edge " in line and "probes:edge: jobs.tasks.run_cycle" in line for line in launcher.lines)
        # Each worker names its location in its AWS requests (the sandbox can then fail one location's path).
        named = set()
        for proc in processes_under(project):
            try:
                if "--worker-class" in proc.cmdline():
                    named.add((proc.environ().get("PROBE_LOCATION"), proc.environ().get("AWS_SDK_UA_APP_ID")))
            except psutil.NoSuchProcess:
                continue
        assert named == {("local", "local"), ("edge", "edge")}, named
    finally:
        launcher.stop()
    assert any("stopped everything it started" in line for line in launcher.lines)
