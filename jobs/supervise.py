"""`python -m jobs.supervise COMMAND ...`: keep an RQ process running through a Valkey outage.

RQ 3 does not survive one by itself: `rq worker` retries with backoff only while waiting for a job, and quits
when Valkey fails anywhere else (at start, heartbeats, maintenance: "Redis connection timeout, quitting");
`rq cron` quits on any Valkey error. Under this loop the command is restarted after 1, 2, 4 ... 30 s (the
backoff resets once a run lasted a minute), so an outage is neither a crash loop nor, under `make run`
(honcho stops every process when one exits), the end of the stack. Exit status 2 (a wrong setting) is
final and passed on. SIGTERM/SIGINT are forwarded to the command, which stops as it would alone, and end
the loop.
"""

from __future__ import annotations

import ctypes
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

# Standard library only (not jobs.startup, which loads the settings and cryptography): a supervisor stays small.
from jobs.defaults import SUPERVISE_BACKOFF_FIRST_S, SUPERVISE_BACKOFF_MAX_S, SUPERVISE_HEALTHY_RUN_S
from jobs.exit_status import EXIT_BAD_SETTINGS

_PR_SET_PDEATHSIG = 1


def backoff_s(failures: int) -> float:
    """Seconds to wait before the restart that follows `failures` quick failures in a row (1, 2, 4 ... 30)."""
    return min(SUPERVISE_BACKOFF_MAX_S, SUPERVISE_BACKOFF_FIRST_S * 2 ** max(0, failures - 1))


def failures_after(failures: int, run_s: float) -> int:
    """The count of quick failures in a row once a run of `run_s` seconds ended: a healthy run starts it over."""
    return 1 if run_s >= SUPERVISE_HEALTHY_RUN_S else failures + 1


def _die_with_parent() -> None:
    # The command runs in its own session, so a signal sent to our process group reaches it once, through
    # us; if we are killed outright, the kernel sends it SIGTERM rather than leave it orphaned.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(command: Sequence[str]) -> int:
    """Run `command` until it is stopped by a signal or exits 2; returns its last exit status."""
    stopping = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: object) -> None:
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failures = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
        if stopping.is_set():  # the signal came while it was starting
            child.terminate()
        code = child.wait()
        if stopping.is_set() or code == EXIT_BAD_SETTINGS:
            return code
        failures = failures_after(failures, time.monotonic() - started)
        delay = backoff_s(failures)
        print(
            f"supervise: {shlex.join(command[:2])} exited with status {code}; restarting in {delay:g} s",
            file=sys.stderr,
        )
        if stopping.wait(delay):
            return code


def main(argv: list[str] | None = None) -> int:
    command = sys.argv[1:] if argv is None else argv
    if not command:
        print("usage: python -m jobs.supervise COMMAND [ARG ...]", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    return supervise(command)


if __name__ == "__main__":
    sys.exit(main())
