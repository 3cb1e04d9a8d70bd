"""Operator commands: `python -m jobs run-once` (one probe cycle in the foreground), `python -m jobs migrate` and
`python -m jobs silence add|list|remove` (silences of alerts)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

import psycopg2

from jobs import silence_command, store
from jobs.cycle import probe_and_store, slot_of
from jobs.defaults import CLI_TIMEOUT_MIN_S
from jobs.exit_status import EXIT_BAD_SETTINGS
from jobs.result import ProbeResult, Status, one_line, utcnow
from jobs.startup import load_or_exit, require

HEADERS = ("SERVICE", "STATUS", "LATENCY", "ENDPOINT", "ERROR")


def format_table(results: list[ProbeResult]) -> str:
    """The results as an aligned text table, one row per service."""
    rows = [HEADERS] + [
        (r.service, r.status.value, f"{r.latency_ms:.1f} ms", r.endpoint or "-", r.error or "") for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    )


def run_once() -> int:
    settings = load_or_exit()
    slot = slot_of(utcnow(), settings.probe_interval_s)
    results, not_stored = probe_and_store(settings, slot)
    print(format_table(results))
    if not_stored:
        print(f"not stored: {not_stored}", file=sys.stderr)
    else:
        print(f"stored for slot {slot.isoformat()}")
    return 1 if any(r.status is Status.DOWN for r in results) else 0


def migrate() -> int:
    settings = load_or_exit()
    pg = require(settings.postgres, settings.problems.get("postgres") or "DATABASE_URL: not set")
    try:
        applied = store.migrate_once(pg, max(CLI_TIMEOUT_MIN_S, settings.probe_timeout_s))
    except psycopg2.Error as exc:
        print(f"error: {one_line(store.describe_error(str(exc), pg), *settings.secrets())}", file=sys.stderr)
        return 1
    print("applied " + ", ".join(applied) if applied else "schema up to date")
    return 0


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is one --help away)."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m jobs", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run-once", help="probe every service once, print and store the results; exit 1 if any is down")
    commands.add_parser("migrate", help="create or upgrade the PostgreSQL schema")
    silence_command.add_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "silence":
        return silence_command.run(args)
    return run_once() if args.command == "run-once" else migrate()


if __name__ == "__main__":
    sys.exit(main())
