"""gunicorn's threaded worker with a bound on reading each request (dashapp/gunicorn_conf.py names it).

gunicorn 27's gthread worker hands a connection to one of its few threads as soon as it is readable, and that
thread then reads the rest of the request with no timeout: a client that sends half a request holds it for as
long as it likes, and as many such clients as threads hang the process (and its /healthz). gunicorn has no
setting for it. Here a request must arrive whole (head and body) within REQUEST_READ_TIMEOUT_S of its first
byte, and a new connection must send its first byte within that time too, else it goes back to gunicorn's poller,
which holds no thread; past the bound the connection is closed without an answer.
"""

from __future__ import annotations

import socket
import time
from contextlib import suppress
from typing import Any

from gunicorn.workers import gthread

from jobs.defaults import REQUEST_READ_TIMEOUT_S


class _ReadDeadline:
    """A client socket whose reads end at the current request's deadline; everything else passes through."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._limit_s: float | None = None
        self._deadline: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def bound(self, limit_s: float | None) -> None:
        """Bound the next request's reads to `limit_s` from its first read (None: unbounded)."""
        self._limit_s, self._deadline = limit_s, None

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._limit_s is None:
            return self._sock.recv(size, flags)
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + self._limit_s
        prior = self._sock.gettimeout()  # gunicorn bounds some reads itself (draining a body it did not read)
        remaining = self._deadline - now
        try:
            if remaining <= 0:
                raise TimeoutError
            self._sock.settimeout(remaining if prior is None else min(prior, remaining))
            return self._sock.recv(size, flags)
        except TimeoutError:
            if time.monotonic() < self._deadline:
                raise  # gunicorn's own, shorter bound
            # Too slow: no more reading. gunicorn sees the end of the stream, and when it closes the
            # connection it does not wait for the client's (which would hold its main loop).
            with suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)
            return b""
        finally:
            with suppress(OSError):
                self._sock.settimeout(prior)


class BoundedReadWorker(gthread.ThreadWorker):
    def handle(self, conn: gthread.TConn) -> Any:
        if not isinstance(conn.sock, _ReadDeadline):
            conn.sock = _ReadDeadline(conn.sock)
        if not conn.initialized and not conn.wait_for_data(REQUEST_READ_TIMEOUT_S):
            return gthread._DEFER  # back to the poller until it sends something (gunicorn's own path)
        conn.sock.bound(REQUEST_READ_TIMEOUT_S)
        try:
            return super().handle(conn)
        finally:
            conn.sock.bound(None)  # closing, or waiting for the next request, is gunicorn's business again
