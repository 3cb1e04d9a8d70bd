"""`python -m sandbox break|heal` as a user runs it, in a fresh copy of the project: bad input and no running
`make run` are one line each, never a traceback. (Breaking a running stack: tests/test_local_trial.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.local import Running, mark_running
from tests.environment import without_product_variables


def sandbox_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=project,
        env=without_product_variables(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("break", "postgres"), "sandbox: unknown service 'postgres'; accepted: roles_anywhere, secrets_manager"),
        (("heal", "<nope>"), "sandbox: unknown service '<nope>'; accepted: roles_anywhere, secrets_manager"),
        (("break",), "sandbox: usage: python -m sandbox break SERVICE [--from LOCATION] | heal [SERVICE]"),
        (
            ("break", "roles_anywhere", "secrets_manager"),
            "sandbox: usage: python -m sandbox break SERVICE [--from LOCATION] | heal [SERVICE]",
        ),
        (("explode",), "sandbox: usage: python -m sandbox break SERVICE [--from LOCATION] | heal [SERVICE]"),
        ((), "sandbox: usage: python -m sandbox break SERVICE [--from LOCATION] | heal [SERVICE]"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(project: Path, args: tuple[str, ...], error: str) -> None:
    done = sandbox_cli(project, *args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", error + "\n")


@pytest.mark.parametrize("args", [("break", "roles_anywhere"), ("heal",)])
def test_without_a_running_make_run_it_says_so_in_one_line(project: Path, args: tuple[str, ...]) -> None:
    done = sandbox_cli(project, *args)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "sandbox: no `make run` is running in this project; start it first, then break a service\n"
    assert not (project / ".local" / "sandbox" / "faults").exists(), "nothing switched"


def test_the_state_left_by_a_crashed_make_run_is_not_a_running_one(project: Path) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    (project / ".local").mkdir()
    mark_running(project / ".local", Running(ended.pid, str(project / ".local" / "sandbox"), None))
    done = sandbox_cli(project, "break", "roles_anywhere")
    assert done.returncode == 1 and "no `make run` is running" in done.stderr
    assert not (project / ".local" / "sandbox" / "faults").exists(), "nothing switched"


def test_a_make_run_on_aws_settings_of_ones_own_has_no_sandbox_to_break(project: Path) -> None:
    (project / ".local").mkdir()
    mark_running(project / ".local", Running(os.getpid(), None, None))
    done = sandbox_cli(project, "break", "secrets_manager")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "sandbox: this `make run` uses the AWS endpoints of your settings, not the local sandbox\n"
