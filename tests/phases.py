"""What every probe's phases must be: the named steps of its check, which account for its reported latency."""

from __future__ import annotations

from jobs.result import OUR_OVERHEAD, ProbeResult

# Each probe's phases, in the order its check runs them.
PHASES = {
    "postgres": ["connect", "write", "read", "cleanup"],
    "valkey": ["connect", "ping", "write", "read"],
    "roles_anywhere": ["create_session", "get_caller_identity"],
    "secrets_manager": ["credentials", "get_secret"],
}
# Phases that take no time when there is nothing to do (credentials still fresh from the last cycle).
MAY_BE_ZERO = {"credentials"}


def assert_phases_account_for_latency(result: ProbeResult) -> None:
    """The probe's phases are all there, none negative, and together they are its latency: the latency is the
    service's named steps, and the check's time between them (ours) is reported apart."""
    assert list(result.phases) == PHASES[result.service], result.phases
    assert all(ms >= 0 for ms in result.phases.values()), result.phases
    # Every step that talks to the service was timed: a latency of nothing but zeros is no measurement.
    assert all(ms > 0 for name, ms in result.phases.items() if name not in MAY_BE_ZERO), result.phases
    total = sum(result.phases.values())
    assert abs(total - result.latency_ms) <= 0.001, (total, result.latency_ms)  # rounded to a microsecond
    assert result.detail[OUR_OVERHEAD] >= 0, result.detail
