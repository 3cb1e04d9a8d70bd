"""Breaking and healing the local AWS sandbox's services (`python -m sandbox break|heal`, sandbox/faults.py): the
product's own probes, over real HTTPS to the Roles Anywhere emulator and HTTP to moto, go down with the
injected AWS error and up again after the heal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs import settings as settings_module
from jobs.probes import roles_anywhere, secrets_manager
from jobs.result import ProbeResult, Status
from sandbox.__main__ import CommandError, run
from sandbox.aws import AwsSandbox
from sandbox.local import Running, mark_running
from tests.conftest import ROOT, WORKING

HINT = "broken on purpose in the local sandbox: python -m sandbox heal"


@pytest.fixture
def local(tmp_path: Path, aws_sandbox: AwsSandbox) -> Iterator[Path]:
    """A `.local/` naming the session's sandbox as the running one (this process stands for `make run`); every
    service healed afterwards, whatever the test did."""
    mark_running(tmp_path, Running(os.getpid(), str(aws_sandbox.faults.directory.parent), "http://127.0.0.1:9"))
    yield tmp_path
    aws_sandbox.faults.heal()


def _probe_both(aws_env: dict[str, str]) -> tuple[ProbeResult, ProbeResult]:
    settings = settings_module.load(aws_env)
    return roles_anywhere.probe(settings), secrets_manager.probe(settings)


def test_breaking_roles_anywhere_denies_create_session_and_its_sessions_until_healed(
    local: Path, aws_env: dict[str, str]
) -> None:
    assert {r.status for r in _probe_both(aws_env)} <= WORKING

    said = run(["break", "roles_anywhere"], local)
    assert said.startswith("roles_anywhere broken: CreateSession answers AccessDeniedException")
    assert "notifications: http://127.0.0.1:9" in said
    ra, sm = _probe_both(aws_env)
    assert ra.status is Status.DOWN
    assert ra.error == f"CreateSession denied (403): The trust anchor is disabled ({HINT} roles_anywhere)"
    # Secrets Manager still holds the process's credentials from before: revoked, they are denied.
    assert sm.status is Status.DOWN
    assert sm.error == (
        f"GetSecretValue failed (400): AccessDeniedException: The role session was revoked ({HINT} roles_anywhere)"
    )

    assert run(["heal", "roles_anywhere"], local).startswith("healed roles_anywhere")
    assert {r.status for r in _probe_both(aws_env)} <= WORKING


def test_breaking_secrets_manager_hides_the_secret_and_leaves_roles_anywhere_working(
    local: Path, aws_env: dict[str, str]
) -> None:
    run(["break", "secrets_manager"], local)
    ra, sm = _probe_both(aws_env)
    assert ra.status in WORKING
    assert sm.status is Status.DOWN
    assert sm.error == (
        "GetSecretValue failed (400): ResourceNotFoundException: Secrets Manager can't find the specified secret "
        f"({HINT} secrets_manager)"
    )
    # `heal` alone heals everything.
    assert run(["heal"], local) == "healed secrets_manager: the incident resolves after 2 checks that work; " + (
        "notifications: http://127.0.0.1:9"
    )
    assert {r.status for r in _probe_both(aws_env)} <= WORKING
    assert run(["heal"], local) == "nothing to heal: roles_anywhere, secrets_manager were not broken"


def test_a_new_sandbox_starts_healed(tmp_path: Path) -> None:
    with AwsSandbox.start(tmp_path) as first:
        first.faults.break_service("roles_anywhere")
    with AwsSandbox.start(tmp_path) as second:
        assert second.faults.broken() == []


def _cycle_from(location: str, aws_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One cycle (`python -m jobs run-once`) in a process of its own, probing as `location` does under make run."""
    env = {"PATH": os.environ["PATH"], **aws_env, "PROBE_LOCATION": location, "AWS_SDK_UA_APP_ID": location}
    return subprocess.run(
        [sys.executable, "-m", "jobs", "run-once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_breaking_secrets_manager_from_one_location_fails_that_path_alone(local: Path, aws_env: dict[str, str]) -> None:
    said = run(["break", "secrets_manager", "--from", "edge"], local)
    assert said.startswith("secrets_manager broken from edge alone: GetSecretValue answers ResourceNotFoundException")
    edge, here = _cycle_from("edge", aws_env), _cycle_from("local", aws_env)
    assert edge.returncode == 1 and "ResourceNotFoundException" in edge.stdout, edge.stdout + edge.stderr
    assert here.returncode == 0 and "ResourceNotFoundException" not in here.stdout, here.stdout + here.stderr
    assert run(["heal"], local).startswith("healed secrets_manager")
    assert _cycle_from("edge", aws_env).returncode == 0


def test_only_secrets_manager_breaks_from_one_location(local: Path) -> None:
    with pytest.raises(CommandError, match=r"^--from: only secrets_manager can be broken from one location$"):
        run(["break", "roles_anywhere", "--from", "edge"], local)
