"""PostgreSQL probe: connect, INSERT a canary row, SELECT it back and compare, DELETE it.

The connection is libpq's non-blocking one, waited on here with one deadline for the whole check, because
libpq's own connect_timeout counts whole seconds (at least 2) and a server that accepts TCP but never answers
must not hold the probe past PROBE_TIMEOUT_S.
"""

from __future__ import annotations

import secrets
import select
import time

import psycopg2
import psycopg2.errors
from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE
from psycopg2.extensions import connection as Connection

from jobs.probes.outcome import not_configured, result_of_check
from jobs.result import ProbeResult, Timer, one_line
from jobs.settings import Settings
from jobs.store import connect_kwargs, describe_error

WAVE = 1  # its turn before the AWS probes (jobs.probes.WAVES)
SERVICE = "postgres"


class _Timeout(Exception):
    pass


def _wait(conn: Connection, deadline: float) -> None:
    """Drive a non-blocking connection until its current operation is done, or raise _Timeout."""
    while True:
        state = conn.poll()
        if state == POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout
        fd = conn.fileno()
        if state == POLL_READ:
            select.select([fd], [], [], remaining)
        elif state == POLL_WRITE:
            select.select([], [fd], [], remaining)


def probe(settings: Settings) -> ProbeResult:
    pg = settings.postgres
    if pg is None:
        return not_configured(SERVICE, settings, "set DATABASE_URL (or PGHOST, PGUSER, PGPASSWORD, PGDATABASE)")
    timeout_s = settings.probe_timeout_s
    deadline = time.monotonic() + timeout_s
    timer = Timer()
    detail: dict[str, object] = {}
    error: str | None = None
    doing = "connecting to"
    conn: Connection | None = None
    try:
        with timer.phase("connect"):
            conn = psycopg2.connect(**connect_kwargs(pg, timeout_s), async_=True)
            _wait(conn, deadline)
        detail["server_version"] = conn.info.parameter_status("server_version")
        detail["tls"] = bool(conn.info.ssl_in_use)
        token = secrets.token_hex(8)
        detail["table"] = "probe_canary"
        cur = conn.cursor()
        doing = "writing to"
        with timer.phase("write"):
            cur.execute("INSERT INTO probe_canary (token, location) VALUES (%s, %s)", (token, settings.location))
            _wait(conn, deadline)
        doing = "reading from"
        with timer.phase("read"):
            cur.execute("SELECT token FROM probe_canary WHERE token = %s", (token,))
            _wait(conn, deadline)
            row = cur.fetchone()
        doing = "cleaning up on"
        with timer.phase("cleanup"):
            cur.execute("DELETE FROM probe_canary WHERE token = %s", (token,))
            _wait(conn, deadline)
        timer.stop()  # closing the connection is no part of the check
        if row is None or row[0] != token:
            error = f"the canary row written to {pg.endpoint} did not read back the same"
    except _Timeout:
        error = f"timed out after {timeout_s:g} s {doing} {pg.endpoint}"
    except psycopg2.errors.UndefinedTable:
        error = f"table probe_canary is missing on {pg.endpoint}: run `python -m jobs migrate`"
    except psycopg2.Error as exc:
        error = one_line(describe_error(str(exc), pg), pg.password)
    finally:
        if conn is not None:
            conn.close()
    return result_of_check(SERVICE, settings, pg.endpoint, timer, detail, error)
