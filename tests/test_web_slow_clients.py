"""Slow clients against the real web process (the Procfile's gunicorn): connections that send half a request, or
nothing, hold a thread for a bounded time only, so /healthz still answers and they are closed."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from jobs.defaults import REQUEST_READ_TIMEOUT_S, WEB_THREADS
from sandbox.embedded import free_port
from tests.security.procfile import Process, fetch
from tests.stack_support import wait_until

HALF_A_HEAD = b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
HALF_A_BODY = (
    b"POST /_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2000\r\n\r\n" + b'{"output": "'
)
# Time for gunicorn and this machine on top of the bound; less than the 2 s per connection that gunicorn's main loop
# would stall if, closing a slow client's connection, it waited for the client to close its side.
SLACK_S = 2.5


def healthz_seconds(port: int) -> float:
    """How long /healthz took to answer 200 on a fresh connection."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_READ_TIMEOUT_S * 3 + SLACK_S) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return time.monotonic() - started


def until_closed(conn: socket.socket) -> tuple[bytes, float]:
    """What the server sent on `conn` before closing it, and when it closed it (monotonic)."""
    answer = b""
    while chunk := conn.recv(65536):
        answer += chunk
    return answer, time.monotonic()


def test_slow_clients_hold_a_thread_for_a_bounded_time_only(base_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    web = Process("web", {**base_env, "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}, tmp_path)
    try:
        wait_until(lambda: fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200, 60, "gunicorn")
        # More slow connections than the process has threads: half a request head, half a body, and silence.
        slow = []
        for n in range(WEB_THREADS + 2):
            conn = socket.create_connection(("127.0.0.1", port), timeout=REQUEST_READ_TIMEOUT_S * 3 + SLACK_S)
            conn.sendall((HALF_A_HEAD, HALF_A_BODY, b"")[n % 3])
            slow.append(conn)
        sent = time.monotonic()
        time.sleep(0.5)  # each is with a thread by now

        assert healthz_seconds(port) < REQUEST_READ_TIMEOUT_S + SLACK_S

        for n, conn in enumerate(slow):
            with conn:
                answer, closed = until_closed(conn)
            if n % 3 == 0:
                assert answer == b"", answer  # half a head: closed without an answer
            elif n % 3 == 1:
                assert answer.startswith(b"HTTP/1.1 400"), answer[:300]  # the body ended short: a bad request
            assert closed - sent < REQUEST_READ_TIMEOUT_S * 2 + SLACK_S, (n, closed - sent)
        # A whole request still works on a fresh connection, and nothing above was an error in the log.
        assert fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200
    finally:
        web.stop()
    output = "\n".join(web.output().values())
    assert "Traceback" not in output and "Socket error" not in output, output[-3000:]
