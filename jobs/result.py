"""The one result type every probe returns, and the helpers probes share to build it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    NOT_CONFIGURED = "not_configured"


# Stable ids, in the order the dashboard shows them.
SERVICE_NAMES: dict[str, str] = {
    "postgres": "PostgreSQL",
    "valkey": "Valkey",
    "roles_anywhere": "AWS IAM Roles Anywhere",
    "secrets_manager": "AWS Secrets Manager",
}

# The detail entry holding what a check spent on our own work (signing, building requests, parsing answers),
# which is not in its latency.
OUR_OVERHEAD = "our_overhead_ms"


@dataclass(frozen=True)
class ProbeResult:
    """What one probe of one service found. Never holds a secret."""

    service: str
    status: Status
    latency_ms: float
    endpoint: str
    checked_at: datetime
    location: str
    phases: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def name(self) -> str:
        return SERVICE_NAMES.get(self.service, self.service)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API's and the Valkey buffer's)."""
        data = asdict(self)
        data["name"] = self.name
        data["status"] = self.status.value
        data["checked_at"] = self.checked_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        return cls(
            service=data["service"],
            status=Status(data["status"]),
            latency_ms=float(data["latency_ms"]),
            endpoint=data["endpoint"],
            checked_at=datetime.fromisoformat(data["checked_at"]),
            location=data["location"],
            phases=dict(data.get("phases") or {}),
            detail=dict(data.get("detail") or {}),
            error=data.get("error"),
        )


class Timer:
    """Measures named phases of a check; `phase()` is a context manager per step."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stopped: float | None = None
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round((time.perf_counter() - start) * 1000, 3)

    def stop(self) -> None:
        """The check is over: what follows (facts for the detail, closing) is no part of its time."""
        self.stopped = time.perf_counter()

    def elapsed_ms(self) -> float:
        end = time.perf_counter() if self.stopped is None else self.stopped
        return round((end - self.started) * 1000, 3)


def utcnow() -> datetime:
    return datetime.now(UTC)


def one_line(message: object, *secrets: str | None) -> str:
    """First line of an error message, with every given secret replaced by '***'."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else type(message).__name__
    # Control characters (a NUL above all) have no place in a line a person reads or PostgreSQL stores.
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:300]
