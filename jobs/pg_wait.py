"""A bound on every wait for a PostgreSQL server that stops answering mid-query.

statement_timeout is the server's own and `tcp_user_timeout`/keepalives only notice a dead network: a server
process that is frozen (SIGSTOP, a stalled VM, a swapping host) still has its kernel acknowledging every
packet, so libpq would wait forever. Installed as psycopg2's wait callback, this drives each blocking
connection's I/O with select() and gives up when the server sends nothing for the connection's own
`tcp_user_timeout` (every connection this product opens sets it from its timeout); psycopg2 then closes
that connection, so a pool discards it. Connections without that parameter wait as before.
"""

from __future__ import annotations

import functools
import re
import select

import psycopg2
import psycopg2.extensions
from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE

_TCP_USER_TIMEOUT = re.compile(r"\btcp_user_timeout=(\d+)")


class ServerSilent(psycopg2.OperationalError):
    """The server sent nothing for the connection's bound: frozen, or unreachable behind a firewall."""


@functools.lru_cache(maxsize=64)  # asked on every wait; a process has a handful of DSNs
def bound_s(dsn: str) -> float | None:
    """The longest silence a connection with this DSN tolerates, in seconds (None: no bound)."""
    match = _TCP_USER_TIMEOUT.search(dsn)
    return int(match.group(1)) / 1000 if match and int(match.group(1)) > 0 else None


def wait(conn: psycopg2.extensions.connection) -> None:
    """psycopg2 wait callback: like psycopg2.extras.wait_select, with each wait bounded."""
    limit = bound_s(conn.dsn)
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


def install() -> None:
    """Make `wait` psycopg2's wait callback for this process (idempotent)."""
    if psycopg2.extensions.get_wait_callback() is not wait:
        psycopg2.extensions.set_wait_callback(wait)
