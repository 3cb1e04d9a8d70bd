"""One value made at most once per a few seconds, however many threads ask for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

_T = TypeVar("_T")


class BriefCache(Generic[_T]):
    """Keeps what `make()` returned for `ttl_s` seconds (counted from when making it began). When it has
    expired, one thread makes the next while the others wait for that one rather than each making their own,
    so a burst of requests costs one read of the store."""

    def __init__(self, make: Callable[[], _T], ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._make = make
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._held: tuple[float, _T] | None = None  # (clock() when making began, value); one tuple for threads

    def _fresh(self) -> _T | None:
        held = self._held
        if held is not None and self._clock() - held[0] < self._ttl_s:
            return held[1]
        return None

    def get(self) -> _T:
        value = self._fresh()
        if value is not None:
            return value
        with self._lock:
            value = self._fresh()  # made by the thread this one waited for
            if value is not None:
                return value
            began = self._clock()
            value = self._make()
            self._held = (began, value)
            return value
