"""Connections to PostgreSQL: every wait bounded, prepared statements, and driver errors as one line.

statement_timeout is the server's own and `tcp_user_timeout`/keepalives only notice a dead network: a server
process that is frozen (SIGSTOP, a stalled VM, a swapping host) still has its kernel acknowledging every
packet, so libpq would wait forever. `connect` installs `wait` as psycopg2's wait callback: it drives each
blocking connection's I/O with select() and gives up when the server sends nothing for the connection's own
`tcp_user_timeout` (every connection this product opens sets it from its timeout); psycopg2 then closes that
connection, so a pool discards it. Connections without that parameter wait as before.
"""

from __future__ import annotations

import functools
import re
import select
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE
from psycopg2.extensions import cursor as Cursor

from jobs.settings import PostgresSettings
from jobs.tls import ca_file

# Advisory lock keys: any constants shared by every process of this product. Web and worker serialise their
# migrations on the first, roll-ups run one at a time on the second.
MIGRATION_LOCK_KEY = 0x68796272_6D6F6E  # "hybrmon"
ROLLUP_LOCK_KEY = MIGRATION_LOCK_KEY + 1
DECIDE_LOCK_KEY = MIGRATION_LOCK_KEY + 2  # deciding incidents while other locations' count (jobs.alerting.decide)

_TCP_USER_TIMEOUT = re.compile(r"\btcp_user_timeout=(\d+)")
# libpq: server certificate for "db.example" (and 1 other name) does not match host name "10.0.0.5"
_HOST_MISMATCH = re.compile(r'server certificate for "([^"]*)"(?: \(and \d+ other names?\))? does not match host name')


class ServerSilent(psycopg2.OperationalError):
    """The server sent nothing for the connection's bound: frozen, or unreachable behind a firewall."""


class Connection(psycopg2.extensions.connection):
    """A connection that remembers which statements its server session has prepared."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: set[str] = set()


def connect_kwargs(pg: PostgresSettings, timeout_s: float) -> dict[str, object]:
    """psycopg2.connect() arguments, with every wait bounded by `timeout_s`."""
    return {
        "host": pg.host,
        "port": pg.port,
        "user": pg.user,
        "password": pg.password,
        "dbname": pg.dbname,
        "sslmode": pg.sslmode,
        "sslrootcert": pg.ca_file or (ca_file(pg.ca_cert) if pg.ca_cert else None),
        "connect_timeout": max(1, round(timeout_s)),
        # A peer that vanishes mid-query must not hold us longer than the timeout.
        "keepalives": 1,
        "keepalives_idle": max(1, round(timeout_s)),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": int(timeout_s * 1000),
        # Three quarters of the bound: a slow query is cancelled by the server, an error that arrives,
        # before the client gives up on a server that sends nothing (`wait` below).
        "options": f"-c statement_timeout={int(timeout_s * 750)}",
        "application_name": "hybrid-monitor",
    }


def connect(pg: PostgresSettings, timeout_s: float) -> Connection:
    """A connection in autocommit mode whose connect, statements and every wait on the server are bounded by
    `timeout_s`."""
    install_wait()
    kwargs = connect_kwargs(pg, timeout_s)
    # Prepared statements (the board's) run their generic plan: planning the board for each call's parameters
    # costs PostgreSQL more than running it. Statements that are not prepared are unaffected.
    kwargs["options"] = f"{kwargs['options']} -c plan_cache_mode=force_generic_plan"
    conn = psycopg2.connect(**kwargs, connection_factory=Connection)
    conn.autocommit = True
    return conn


class PreparedStatement:
    """A statement PREPAREd once per server session (it lives as long as the session and is not undone by a
    rollback) and run with EXECUTE, so PostgreSQL parses it once."""

    def __init__(self, name: str, types: Sequence[str], query: str) -> None:
        self.name = name
        self._prepare = f"PREPARE {name}({', '.join(types)}) AS {query}"
        self._execute = f"EXECUTE {name}({', '.join(['%s'] * len(types))})"

    def execute(self, cur: Cursor, params: Sequence[Any]) -> None:
        conn: Connection = cur.connection
        if self.name not in conn.prepared:
            cur.execute(self._prepare)
            conn.prepared.add(self.name)
        try:
            cur.execute(self._execute, params)
        except psycopg2.errors.InvalidSqlStatementName:
            # The server session is not the one it was prepared in (a pooler, DISCARD ALL): prepare it again
            # next time rather than fail on this connection for good.
            conn.prepared.discard(self.name)
            raise


def describe_error(message: str, pg: PostgresSettings) -> str:
    """One actionable line from a libpq message (which never holds the password)."""
    text = " ".join(message.split())
    endpoint = pg.endpoint
    if "certificate verify failed" in text:
        return f"certificate verify failed for {endpoint}: check {pg.ca_setting}"
    if mismatch := _HOST_MISMATCH.search(text):
        return (
            f"hostname mismatch for {endpoint}: the certificate is for {mismatch[1]}; check the host in {pg.host_from}"
        )
    if "root certificate file" in text:  # verify-ca/verify-full with no CA given, or PGSSLROOTCERT not a file
        return f"sslmode {pg.sslmode} needs the server's CA certificate: check {pg.ca_setting}"
    if "Connection refused" in text:
        return f"connection refused by {endpoint}"
    if "timeout expired" in text:  # libpq's connect_timeout, or `wait`'s bound on a silent server
        return f"timed out waiting for {endpoint}"
    # Drop libpq's 'connection to server at "h" (addr), port p failed: FATAL: ' preamble.
    text = re.sub(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed: ', "", text)
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)
    return text or "PostgreSQL closed the connection without an error message"


@functools.lru_cache(maxsize=64)  # asked on every wait; a process has a handful of DSNs
def silence_bound_s(dsn: str) -> float | None:
    """The longest silence a connection with this DSN tolerates, in seconds (None: no bound)."""
    match = _TCP_USER_TIMEOUT.search(dsn)
    return int(match.group(1)) / 1000 if match and int(match.group(1)) > 0 else None


def wait(conn: psycopg2.extensions.connection) -> None:
    """psycopg2 wait callback: like psycopg2.extras.wait_select, with each wait bounded."""
    limit = silence_bound_s(conn.dsn)
    while True:
        state = conn.poll()
        if state == POLL_OK:
            return
        fd = conn.fileno()
        if state == POLL_READ:
            ready = select.select([fd], [], [], limit)[0]
        elif state == POLL_WRITE:
            ready = select.select([], [fd], [], limit)[1]
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        if not ready:
            raise ServerSilent(f"timeout expired: the server sent nothing for {limit:g} s")


def install_wait() -> None:
    """Make `wait` psycopg2's wait callback for this process (idempotent)."""
    if psycopg2.extensions.get_wait_callback() is not wait:
        psycopg2.extensions.set_wait_callback(wait)


@contextmanager
def transaction(conn: Connection) -> Iterator[Cursor]:
    """A cursor inside one transaction on an autocommit connection: committed when the block ends, rolled
    back if it raises."""
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        if not conn.closed:
            conn.autocommit = True
