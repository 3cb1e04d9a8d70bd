"""`python -m jobs silence add|list|remove`: an operator's silences, stored in PostgreSQL. While one is active
its service's incidents are recorded and marked, and their firing waits until it ends."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta

import psycopg2

from jobs import store
from jobs.alerting.quiet import window_open
from jobs.defaults import CLI_TIMEOUT_MIN_S
from jobs.exit_status import EXIT_BAD_SETTINGS
from jobs.result import SERVICE_NAMES, one_line, utcnow
from jobs.settings import Settings
from jobs.settings.parse import DURATION_FORMAT, duration
from jobs.startup import load_or_exit, require

_LONGEST = timedelta(days=365)
_SERVICES = f"all or one of {', '.join(SERVICE_NAMES)}"


def add_parser(commands: argparse._SubParsersAction) -> None:
    silence = commands.add_parser("silence", help="hold firing alerts of a service (or all) for a while, with a reason")
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="silence SERVICE (or all) from now on")
    add.add_argument("service", metavar="SERVICE|all", help=_SERVICES)
    add.add_argument("--for", dest="length", required=True, metavar="DURATION", help=DURATION_FORMAT)
    add.add_argument("--reason", required=True, help="why, shown in `silence list`")
    actions.add_parser("list", help="the silences not yet ended, and the maintenance windows")
    remove = actions.add_parser("remove", help="end a silence now")
    remove.add_argument("id", metavar="ID", help="the silence's id, as `silence list` shows it")


def _bad(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_SETTINGS


def run(args: argparse.Namespace) -> int:
    """Run one `silence` action; 0 done, 1 PostgreSQL failed or no such silence, 2 bad input."""
    if args.action == "add":
        if args.service != "all" and args.service not in SERVICE_NAMES:
            return _bad(f"silence add: unknown service {args.service!r}; expected {_SERVICES}")
        length = duration(args.length)
        if length is None or length > _LONGEST:
            return _bad(f"--for: expected {DURATION_FORMAT} (at most 365d), got {args.length!r}")
        if not args.reason.strip():
            return _bad("--reason: expected a few words saying why, got nothing")
    elif args.action == "remove" and not (args.id.isascii() and args.id.isdigit()):
        return _bad(f"silence remove: expected a silence id (a whole number), got {args.id!r}")
    settings = load_or_exit()
    pg = require(settings.postgres, settings.problems.get("postgres") or "DATABASE_URL: not set")
    try:
        timeout_s = max(CLI_TIMEOUT_MIN_S, settings.probe_timeout_s)
        store.migrate_once(pg, timeout_s)
        conn = store.connect(pg, timeout_s)
        try:
            return _act(conn, args, settings)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        print(f"error: {one_line(store.describe_error(str(exc), pg), *settings.secrets())}", file=sys.stderr)
        return 1


def _operator() -> str:
    """Who ran the command, for the audit log: the shell's user (the CLI has no sign-in)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _act(conn: store.Connection, args: argparse.Namespace, settings: Settings) -> int:
    now = utcnow()
    if args.action == "add":
        silence = store.add_silence(conn, args.service, now, now + duration(args.length), args.reason.strip())
        store.add_audit_entry(conn, now, _operator(), "silence add", f"{silence.id}: {silence.service} {args.length}")
        print(f"silence {silence.id}: {silence.service} until {silence.ends_at:%Y-%m-%d %H:%M:%S} UTC")
        return 0
    if args.action == "remove":
        if store.remove_silence(conn, int(args.id)):
            store.add_audit_entry(conn, now, _operator(), "silence remove", str(args.id))
            print(f"silence {args.id} removed")
            return 0
        print(f"error: no silence with id {args.id}", file=sys.stderr)
        return 1
    with conn.cursor() as cur:
        silences = store.active_silences(cur, now)
    for s in silences:
        print(f"{s.id}  {s.service}  until {s.ends_at:%Y-%m-%d %H:%M:%S} UTC  {s.reason}")
    if not silences:
        print("no silence active")
    for window in settings.alerting.windows:
        print(f"maintenance window: {window.text}{' (open now)' if window_open(window, now) else ''}")
    return 0
