"""A limit on failed logins per client address: after `limit` wrong answers within `window_s`, that address is
refused (429) until its oldest counted failure is `window_s` old.

In-process, not Flask-Limiter: the logins counted are the sign-in form's answers and the basic-auth answers that
dashapp.security's guard checks before any view runs, and only failures count, which a per-route request limit
does not express without extra hooks and a storage backend. Each web process counts on its own (WEB_CONCURRENCY
processes per instance).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from jobs.defaults import LOGIN_ADDRESSES_MAX


class FailedLogins:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, address: str) -> int:
        """Seconds until `address` may try again; 0 when it may now."""
        with self._lock:
            times = self._failures.get(address)
            if times is None or len(times) < self.limit:
                return 0
            left = times[0] + self.window_s - self._clock()
            return int(left) + 1 if left > 0 else 0

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            times = self._failures.setdefault(address, deque(maxlen=self.limit))
            times.append(now)
            if len(self._failures) > LOGIN_ADDRESSES_MAX:
                self._forget(now)

    def _forget(self, now: float) -> None:
        stale = [a for a, times in self._failures.items() if times[-1] + self.window_s <= now]
        for address in stale:
            del self._failures[address]
        while len(self._failures) > LOGIN_ADDRESSES_MAX:  # all recent: drop the earliest remembered
            del self._failures[next(iter(self._failures))]
