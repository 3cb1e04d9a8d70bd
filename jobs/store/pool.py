"""The web's connection pool: a bounded number of connections to one database, idle ones kept for reuse."""

from __future__ import annotations

import queue
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from jobs.settings import PostgresSettings
from jobs.store.db import Connection, connect


class PoolBusy(psycopg2.OperationalError):
    """Every connection of the pool stayed in use for the whole bound."""


class Pool:
    """Up to `size` connections at once (`_slots`), the idle ones kept for reuse (`_idle`).

    A missing connection is opened by the caller that needs it, outside every lock, so callers never queue
    behind another's connect to a database that does not answer (psycopg2's own pool connects under its
    lock)."""

    def __init__(self, pg: PostgresSettings, size: int, timeout_s: float) -> None:
        self.pg = pg
        self.size = size
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection in autocommit mode (an idle one if any: a fresh one costs a TCP and SCRAM handshake).
        One that broke is discarded, not returned to the pool. Raises PoolBusy, or what connecting raised."""
        if not self._slots.acquire(timeout=self.timeout_s):
            raise PoolBusy(f"all {self.size} connections busy for {self.timeout_s:g} s")
        conn = None
        try:
            conn = self._idle_connection() or connect(self.pg, self.timeout_s)
            yield conn
        except psycopg2.Error as exc:
            if conn is not None and (
                conn.closed or isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError)
            ):
                conn.close()
                conn = None
            raise
        finally:
            if conn is not None and not conn.closed:
                self._idle.put(conn)
            self._slots.release()

    def _idle_connection(self) -> Connection | None:
        """An idle connection the server has not closed meanwhile (restart, failover, idle timeout): an idle
        connection has nothing to read, so a readable one holds only the server's goodbye."""
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return None
            if not conn.closed and not select.select([conn.fileno()], [], [], 0)[0]:
                return conn
            conn.close()

    def close(self) -> None:
        """Close the idle connections."""
        while not self._idle.empty():
            self._idle.get_nowait().close()
