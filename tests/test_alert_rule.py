"""The incident rule and the root cause, pure: table-driven, and played check by check as a cycle would."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import apprise
import pytest

from jobs.alerting import messages
from jobs.alerting.rule import Action, Change, Level, decide, root_cause
from jobs.result import Status
from jobs.settings import AlertSettings, SettingsError, load
from jobs.store import Incident

RULE = AlertSettings()  # 3 of 5 open, 2 in a row resolve
U, G, D, N = Status.UP, Status.DEGRADED, Status.DOWN, Status.NOT_CONFIGURED


def play(checks: list[Status], rule: AlertSettings = RULE) -> list[tuple[int, Action, Level]]:
    """Feed checks oldest first, one per cycle, deciding after each as the cycle does (on the checks since
    the last incident ended): (index, action, level) of every change."""
    changes, open_level, seen = [], None, []
    for i, status in enumerate(checks):
        seen.insert(0, status)
        change = decide(seen, open_level, rule)
        if change is not None:
            changes.append((i, change.action, change.level))
            open_level = None if change.action is Action.RESOLVE else change.level
            if change.action is Action.RESOLVE:
                seen = seen[: rule.resolve_checks]
    return changes


@pytest.mark.parametrize(
    ("checks", "changes"),
    [
        pytest.param([U, U, D, U, U, U, U], [], id="a single failure never opens"),
        pytest.param([D, D, U, U, U], [], id="two failures in five never open"),
        pytest.param([U, D, U, D, D], [(4, Action.OPEN, Level.CRITICAL)], id="3 of 5 opens"),
        pytest.param([D, D, D], [(2, Action.OPEN, Level.CRITICAL)], id="3 in a row open at the third"),
        pytest.param(
            [D, U] * 10, [(4, Action.OPEN, Level.CRITICAL)], id="every other check failing opens once, never flaps"
        ),
        pytest.param(
            [D, D, D, U, D, U, U, U],
            [(2, Action.OPEN, Level.CRITICAL), (6, Action.RESOLVE, Level.CRITICAL)],
            id="2 good in a row resolve, one does not",
        ),
        pytest.param(
            [D, D, D, U, U, D, U, D, U, U],
            [(2, Action.OPEN, Level.CRITICAL), (4, Action.RESOLVE, Level.CRITICAL)],
            id="the failures of a resolved incident do not open the next",
        ),
        pytest.param(
            [G, G, G, U, U], [(2, Action.OPEN, Level.WARNING), (4, Action.RESOLVE, Level.WARNING)], id="degraded warns"
        ),
        pytest.param(
            [G, G, G, D, D, D],
            [(2, Action.OPEN, Level.WARNING), (5, Action.ESCALATE, Level.CRITICAL)],
            id="a warning becomes critical by the same rule",
        ),
        pytest.param(
            [D, D, D, G, G, G, U, U],
            [(2, Action.OPEN, Level.CRITICAL), (7, Action.RESOLVE, Level.CRITICAL)],
            id="degraded is not a check that worked",
        ),
        pytest.param([D, N, N, D, N, U], [], id="not_configured checks are left out of the window"),
        pytest.param([D, N, D, N, D], [(4, Action.OPEN, Level.CRITICAL)], id="not_configured does not dilute"),
        pytest.param(
            [D, D, D, U, N, U],
            [(2, Action.OPEN, Level.CRITICAL), (5, Action.RESOLVE, Level.CRITICAL)],
            id="not_configured does not break a good streak",
        ),
    ],
)
def test_rule_played_check_by_check(checks: list[Status], changes: list[tuple[int, Action, Level]]) -> None:
    assert play(checks) == changes


def test_both_numbers_are_settings() -> None:
    rule = load({"ALERT_OPEN_FAILURES": "2", "ALERT_OPEN_WINDOW": "3", "ALERT_RESOLVE_CHECKS": "3"}).alerting
    assert play([D, U, D, U, U, U], rule) == [(2, Action.OPEN, Level.CRITICAL), (5, Action.RESOLVE, Level.CRITICAL)]
    assert decide([D], None, load({"ALERT_OPEN_FAILURES": "1", "ALERT_OPEN_WINDOW": "1"}).alerting) == Change(
        Action.OPEN, Level.CRITICAL
    )


TWO_OF_TWO = load({"PROBE_LOCATIONS": "fra1,nyc3"}).alerting  # the default: every location must fail


@pytest.mark.parametrize(
    ("recent", "open_level", "elsewhere", "change"),
    [
        pytest.param([D, D, D], None, 0, Change(Action.OPEN, Level.PARTIAL), id="failing here alone opens partial"),
        pytest.param([D, D, D], None, 1, Change(Action.OPEN, Level.CRITICAL), id="failing at both opens critical"),
        pytest.param([G, G, G], None, 1, Change(Action.OPEN, Level.WARNING), id="degraded at both opens a warning"),
        pytest.param([D, D, D], Level.PARTIAL, 0, None, id="a partial stays while the other location works"),
        pytest.param(
            [D, U, D, D], Level.PARTIAL, 1, Change(Action.ESCALATE, Level.CRITICAL), id="partial rises to critical"
        ),
        pytest.param(
            [G, G, D], Level.PARTIAL, 1, Change(Action.ESCALATE, Level.WARNING), id="partial rises to its level"
        ),
        pytest.param([U, D, U, U, D], Level.PARTIAL, 1, None, id="a partial no longer failing here does not rise"),
        pytest.param([U, U, D], Level.PARTIAL, 1, Change(Action.RESOLVE, Level.PARTIAL), id="a partial resolves"),
    ],
)
def test_an_incident_failing_from_fewer_locations_than_the_rule_counts_is_partial(
    recent: list[Status], open_level: Level | None, elsewhere: int, change: Change | None
) -> None:
    assert decide(recent, open_level, TWO_OF_TWO, elsewhere) == change


def test_how_many_locations_must_fail_is_a_setting_defaulting_to_all() -> None:
    assert load({}).alerting.failing_locations == 1
    assert load({"PROBE_LOCATIONS": "a,b,c"}).alerting.failing_locations == 3
    assert load({"PROBE_LOCATIONS": "a,b,c", "ALERT_FAILING_LOCATIONS": "ALL"}).alerting.failing_locations == 3
    any_one = load({"PROBE_LOCATIONS": "a,b,c", "ALERT_FAILING_LOCATIONS": "1"}).alerting
    assert decide([D, D, D], None, any_one, 0) == Change(Action.OPEN, Level.CRITICAL)
    two = load({"PROBE_LOCATIONS": "a,b,c", "ALERT_FAILING_LOCATIONS": "2"}).alerting
    assert [decide([D, D, D], None, two, n) for n in (0, 1, 2)] == [
        Change(Action.OPEN, Level.PARTIAL),
        Change(Action.OPEN, Level.CRITICAL),
        Change(Action.OPEN, Level.CRITICAL),
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PROBE_LOCATIONS": "a,b", "ALERT_FAILING_LOCATIONS": "3"},
            "ALERT_FAILING_LOCATIONS: expected a whole number from 1 to 2 (the number of PROBE_LOCATIONS) or all,"
            " got '3'",
        ),
        (
            {"ALERT_FAILING_LOCATIONS": "0"},
            "ALERT_FAILING_LOCATIONS: expected a whole number from 1 to 1 (the number of PROBE_LOCATIONS) or all,"
            " got '0'",
        ),
        ({"ALERT_OPEN_FAILURES": "6"}, "ALERT_OPEN_FAILURES: must be at most ALERT_OPEN_WINDOW (5), got 6"),
        ({"ALERT_OPEN_WINDOW": "0"}, "ALERT_OPEN_WINDOW: expected a whole number from 1 to 100, got 0"),
        ({"ALERT_RESOLVE_CHECKS": "two"}, "ALERT_RESOLVE_CHECKS: expected a whole number from 1 to 100, got 'two'"),
    ],
)
def test_wrong_rule_settings_are_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}$"):
        load(env)


def test_alert_urls_are_split_like_apprise_and_never_shown_by_repr() -> None:
    settings = load({"ALERT_URLS": " json://a/b?x=SECRET1 ,\n slack://SECRET2/x "})
    assert settings.alerting.urls == ("json://a/b?x=SECRET1", "slack://SECRET2/x")
    assert "SECRET" not in repr(settings)
    assert set(settings.alerting.urls) <= set(settings.secrets())


@pytest.mark.parametrize(
    ("service", "error", "latest", "cause"),
    [
        ("secrets_manager", "AccessDenied", {"roles_anywhere": D}, "AWS IAM Roles Anywhere"),
        (
            "secrets_manager",
            "no AWS credentials: IAM Roles Anywhere failed (x)",
            {"roles_anywhere": U},
            "AWS IAM Roles Anywhere",
        ),
        ("secrets_manager", "no AWS credentials: x", {}, "AWS IAM Roles Anywhere"),
        ("secrets_manager", "AccessDenied", {"roles_anywhere": U}, None),
        ("secrets_manager", "AccessDenied", {"roles_anywhere": G}, None),
        ("roles_anywhere", "no AWS credentials", {"secrets_manager": D}, None),
        ("postgres", "connection refused", {"roles_anywhere": D}, None),
    ],
)
def test_root_cause(service: str, error: str, latest: dict[str, Status], cause: str | None) -> None:
    assert root_cause(service, error, latest) == cause


def test_a_partial_incident_is_told_as_a_warning_naming_where() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    partial = Incident(7, "secrets_manager", "fra1", "partial", start, None, "timed out", "down", 3, None)
    title, body, kind = messages.firing([partial], start)
    assert title == "FIRING: AWS Secrets Manager (fra1) down from some locations"
    assert "timed out" in body and kind == apprise.NotifyType.WARNING
