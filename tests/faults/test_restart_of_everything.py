"""Restart of everything: `make run` stopped with Ctrl-C and started again over the same `.local/` keeps its
history and its embedded PostgreSQL cluster, re-runs no migration, appends new cycles, and leaves no process
behind when stopped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.result import SERVICE_NAMES
from sandbox.embedded import free_port
from tests.faults.conftest import query, slots
from tests.stack_support import Launcher, embedded_database_url, processes_under, wait_until

# Ctrl-C stops the stack within this: honcho gives each process 5 s before SIGKILL, then the servers stop.
STOP_LIMIT_S = 20


def snapshot(db_url: str) -> dict[str, list[tuple]]:
    return {
        "rows": query(db_url, "SELECT id, service, location, slot, checked_at, status FROM probe_results ORDER BY id"),
        "migrations": query(db_url, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"),
        "cluster": query(
            db_url, "SELECT system_identifier, current_setting('data_directory') FROM pg_control_system()"
        ),
    }


def stop(launcher: Launcher, project: Path) -> None:
    launcher.stop(timeout=STOP_LIMIT_S)
    assert any("stopped everything it started" in line for line in launcher.lines), launcher.lines[-20:]
    wait_until(lambda: not processes_under(project), 5)


# Two starts of the whole stack (each up to 90 s on a loaded machine), cycles and two stops.
@pytest.mark.timeout(600)
def test_restart_of_everything(project: Path) -> None:
    port = free_port()
    first = Launcher(project, port)
    try:
        first.wait_for_line("Dashboard:", timeout=90)
        db_url = embedded_database_url(project)
        wait_until(lambda: len(slots(db_url)) >= 3, 60)
        before = snapshot(db_url)
    finally:
        stop(first, project)
    stopped_at = datetime.now(UTC)
    assert any("applied migrations" in line for line in first.lines)

    again = Launcher(project, port)
    try:
        again.wait_for_line("Dashboard:", timeout=90)
        assert embedded_database_url(project) == db_url
        # New cycles are appended: two slots that began after the stop, each with every service.
        wait_until(lambda: len([slot for slot in slots(db_url) if slot > stopped_at]) >= 2, 60)
        after = snapshot(db_url)
    finally:
        stop(again, project)

    # The same PostgreSQL cluster (not a fresh initdb) in the same data directory under .local/.
    assert after["cluster"] == before["cluster"]
    assert Path(after["cluster"][0][1]) == (project / ".local" / "postgresql").resolve()
    # No migration ran again: same versions, same applied_at.
    assert after["migrations"] == before["migrations"] and before["migrations"]
    assert not any("applied migrations" in line for line in again.lines)
    # History intact: every earlier row is still there, unchanged, and more were added.
    assert set(before["rows"]) <= set(after["rows"])
    assert len(after["rows"]) > len(before["rows"])
    by_slot: dict[datetime, list[str]] = {}
    for _id, service, _location, slot, _checked_at, _status in after["rows"]:
        by_slot.setdefault(slot, []).append(service)
    assert all(sorted(services) == sorted(SERVICE_NAMES) for services in by_slot.values()), by_slot
