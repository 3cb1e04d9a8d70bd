"""Where `make run` keeps its local state (`.local/`), and how other commands find the running stack: while it
runs, `.local/running.json` says what it started (its pid, the AWS sandbox's directory, the sink's page)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
RUNNING = "running.json"


@dataclass(frozen=True)
class Running:
    pid: int
    # The local AWS sandbox's directory, None when the settings name AWS endpoints of their own.
    sandbox: str | None
    # The notification sink's page, None when ALERT_URLS was given.
    notifications: str | None


def mark_running(local: Path, running: Running) -> None:
    (local / RUNNING).write_text(json.dumps(asdict(running)))


def unmark_running(local: Path) -> None:
    (local / RUNNING).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def find_running(local: Path) -> Running | None:
    """The running `make run` of this directory, or None (none started, or it ended without cleaning up)."""
    try:
        running = Running(**json.loads((local / RUNNING).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return running if _alive(running.pid) else None
