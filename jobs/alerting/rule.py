"""The incident rule, pure: when a service's recent checks open or resolve an incident, at which level, and
what caused it.

A check fails at level `critical` when it is `down` and at level `warning` when it is `down` or `degraded`.
An incident opens when `open_failures` of the last `open_window` checks failed at a level (critical before
warning); an open warning becomes critical by the same rule; an open incident resolves after
`resolve_checks` checks in a row that were `up`. The checks given are those since the service's last
incident ended, so the failures one incident was opened for never open the next. `not_configured` says
nothing about the service, so such checks are left out of the window (a stale board is the web's view,
never a stored check).

With several probing locations each decides its own incidents; one opened while fewer than
`failing_locations` locations have the service's incident open is `partial`, and becomes its rule's level
once that many fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from jobs.result import SERVICE_NAMES, Status
from jobs.settings import AlertSettings


class Level(StrEnum):
    PARTIAL = "partial"  # failing, but from fewer locations than the rule counts
    WARNING = "warning"
    CRITICAL = "critical"


class Action(StrEnum):
    OPEN = "open"
    ESCALATE = "escalate"  # an open warning becomes critical, a partial its rule's level
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Change:
    action: Action
    level: Level


FAILS_AT: dict[Level, frozenset[Status]] = {
    Level.CRITICAL: frozenset({Status.DOWN}),
    Level.WARNING: frozenset({Status.DOWN, Status.DEGRADED}),
    Level.PARTIAL: frozenset({Status.DOWN, Status.DEGRADED}),
}


def counted(statuses: Sequence[Status]) -> list[Status]:
    """The checks the rule looks at: all but `not_configured`."""
    return [s for s in statuses if s is not Status.NOT_CONFIGURED]


def failing_level(recent: Sequence[Status], rule: AlertSettings) -> Level | None:
    """The highest level at which `open_failures` of the last `open_window` counted checks (newest first)
    failed, or None."""
    window = counted(recent)[: rule.open_window]
    for level in (Level.CRITICAL, Level.WARNING):
        if sum(s in FAILS_AT[level] for s in window) >= rule.open_failures:
            return level
    return None


def spread(level: Level, failing_elsewhere: int, rule: AlertSettings) -> Level:
    """`level`, or `partial` while this location and `failing_elsewhere` others are fewer than the rule's
    `failing_locations`."""
    return Level.PARTIAL if 1 + failing_elsewhere < rule.failing_locations else level


def decide(
    recent: Sequence[Status], open_level: Level | None, rule: AlertSettings, failing_elsewhere: int = 0
) -> Change | None:
    """What the newest checks (`recent`, newest first) do to a service's incident, given the level of the
    one open now (None: none open) and how many other locations have its incident open. None when nothing
    changes."""
    checks = counted(recent)
    level = failing_level(checks, rule)
    if open_level is None:
        return Change(Action.OPEN, spread(level, failing_elsewhere, rule)) if level else None
    streak = checks[: rule.resolve_checks]
    if len(streak) == rule.resolve_checks and all(s is Status.UP for s in streak):
        return Change(Action.RESOLVE, open_level)
    if open_level is Level.PARTIAL and level and spread(level, failing_elsewhere, rule) is level:
        return Change(Action.ESCALATE, level)
    if open_level is Level.WARNING and level is Level.CRITICAL:
        return Change(Action.ESCALATE, Level.CRITICAL)
    return None


# Secrets Manager is read with the credentials Roles Anywhere hands out.
_DEPENDS_ON = {"secrets_manager": "roles_anywhere"}
_NO_CREDENTIALS = "no AWS credentials"


def root_cause(service: str, error: str | None, latest: dict[str, Status]) -> str | None:
    """The display name of the service whose failure explains this one's (`latest`: each service's newest
    status), or None."""
    dependency = _DEPENDS_ON.get(service)
    if dependency is None:
        return None
    if latest.get(dependency) is Status.DOWN or (error or "").startswith(_NO_CREDENTIALS):
        return SERVICE_NAMES[dependency]
    return None
