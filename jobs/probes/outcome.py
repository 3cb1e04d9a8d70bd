"""How a probe turns what it measured into a ProbeResult: the status rule and the shapes shared by probes."""

from __future__ import annotations

from typing import Any

from jobs.result import OUR_OVERHEAD, ProbeResult, Status, Timer, utcnow
from jobs.settings import Settings


def up_or_degraded(latency_ms: float, timeout_s: float) -> Status:
    """A check that worked is `degraded` when it took more than half the time it was allowed."""
    return Status.DEGRADED if latency_ms > timeout_s * 1000 / 2 else Status.UP


def not_configured(service: str, settings: Settings, hint: str) -> ProbeResult:
    """The result of a probe whose settings are absent: the settings' own complaint, else `hint`."""
    return ProbeResult(
        service=service,
        status=Status.NOT_CONFIGURED,
        latency_ms=0.0,
        endpoint="",
        checked_at=utcnow(),
        location=settings.location,
        error=settings.problems.get(service) or hint,
    )


def result_of_check(
    service: str, settings: Settings, endpoint: str, timer: Timer, detail: dict[str, Any], error: str | None
) -> ProbeResult:
    """The result of a probe that ran: `down` with `error`, else up or degraded by its latency.

    The latency is the sum of the check's phases, each the time one step waited on the service; what the check
    spent between them (our interpreter, other probes' threads holding it) is reported apart as OUR_OVERHEAD."""
    latency = round(sum(timer.phases.values()), 3)
    overhead = round(max(0.0, timer.elapsed_ms() - latency), 3)
    return ProbeResult(
        service=service,
        status=Status.DOWN if error else up_or_degraded(latency, settings.probe_timeout_s),
        latency_ms=latency,
        endpoint=endpoint,
        checked_at=utcnow(),
        location=settings.location,
        phases=dict(timer.phases),
        detail={**detail, OUR_OVERHEAD: overhead},
        error=error,
    )
