"""When a service is quiet (a maintenance window or a silence), the MAINTENANCE_WINDOWS syntax and its errors,
and durations: pure functions, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobs.alerting.quiet import quiet_because, quiet_services, window_open
from jobs.settings import SettingsError, load
from jobs.settings.parse import duration
from jobs.settings.windows import Window, read
from jobs.store import Silence

SUNDAY = datetime(2026, 1, 4, tzinfo=UTC)  # 2026-01-04 is a Sunday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return SUNDAY + timedelta(days=day, hours=hour, minutes=minute)


@pytest.mark.parametrize(
    ("entry", "moment", "open_"),
    [
        ("0 3 * * sun 2h all", at(0, 2, 59), False),
        ("0 3 * * sun 2h all", at(0, 3), True),  # its start counts
        ("0 3 * * sun 2h all", at(0, 4, 59), True),
        ("0 3 * * sun 2h all", at(0, 5), False),  # its end does not
        ("0 3 * * sun 2h all", at(1, 3, 30), False),  # Monday
        ("0 3 * * sun 2h all", at(7, 4), True),  # the next Sunday
        ("30 23 * * * 1h all", at(1, 0, 15), True),  # across midnight
        ("30 23 * * * 1h all", at(1, 0, 30), False),
        ("@daily 15m all", at(2, 0, 14), True),
        ("@daily 15m all", at(2, 0, 15), False),
        ("0 1 1 * * 1d all", at(-3, 12), True),  # the 1st of January, 01:00 + 1 day
    ],
)
def test_a_window_is_open_from_each_start_for_its_length(entry: str, moment: datetime, open_: bool) -> None:
    [window] = read(entry)
    assert window_open(window, moment) is open_


def test_a_window_whose_next_start_croniter_cannot_find_is_not_open() -> None:
    """Such a window is refused by the setting; one that slips through is closed, never an error in a cycle."""
    window = Window("0 0 3 3 1#5", timedelta(days=31), None, "0 0 3 3 1#5 31d all")
    assert window_open(window, at(0, 0)) is False


def silence(service: str, start: datetime, end: datetime, id_: int = 1) -> Silence:
    return Silence(id_, service, start, end, "replica upgrade")


WINDOWS = read("0 3 * * sun 2h postgres,valkey; 0 12 * * * 30m all")
MONDAY_NOON = [silence("valkey", at(1, 12), at(1, 14))]


@pytest.mark.parametrize(
    ("service", "moment", "silences", "because"),
    [
        ("postgres", at(0, 3, 30), [], "maintenance window 0 3 * * sun 2h postgres,valkey"),
        ("roles_anywhere", at(0, 3, 30), [], None),  # not in that window's services
        ("roles_anywhere", at(1, 12, 10), [], "maintenance window 0 12 * * * 30m all"),
        ("valkey", at(1, 13), [], None),
        ("valkey", at(1, 13), MONDAY_NOON, "silence 1 until 2026-01-05 14:00 UTC: replica upgrade"),
        ("postgres", at(1, 13), MONDAY_NOON, None),  # another service's
        (
            "postgres",
            at(1, 13),
            [silence("all", at(1, 12), at(1, 14), 7)],
            "silence 7 until 2026-01-05 14:00 UTC: replica upgrade",
        ),
        ("valkey", at(1, 14), MONDAY_NOON, None),  # ended: its end is excluded
        ("valkey", at(1, 11), MONDAY_NOON, None),  # not begun
        # A silence is named before a window it overlaps.
        (
            "valkey",
            at(0, 3),
            [silence("valkey", at(0, 2), at(0, 4))],
            "silence 1 until 2026-01-04 04:00 UTC: replica upgrade",
        ),
    ],
)
def test_why_a_service_is_quiet(service: str, moment: datetime, silences: list[Silence], because: str | None) -> None:
    assert quiet_because(service, moment, WINDOWS, silences) == because


def test_quiet_services_are_those_with_a_reason() -> None:
    services = ["postgres", "valkey", "roles_anywhere", "secrets_manager"]
    assert quiet_services(services, at(0, 3), WINDOWS, []) == {"postgres", "valkey"}
    assert quiet_services(services, at(0, 12), WINDOWS, []) == set(services)
    assert quiet_services(services, at(0, 6), WINDOWS, [silence("secrets_manager", at(0, 5), at(0, 7))]) == {
        "secrets_manager"
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1d12h", timedelta(hours=36)),
        (" 2H ", timedelta(hours=2)),
        ("0m", None),
        ("", None),
        ("2", None),
        ("30m1h", None),  # out of order
        ("2 h", None),
        ("-1h", None),
    ],
)
def test_durations(raw: str, expected: timedelta | None) -> None:
    assert duration(raw) == expected


def test_maintenance_windows_read_from_the_setting() -> None:
    windows = load({"MAINTENANCE_WINDOWS": " 0 3 * * sun 2h all ;; 30 1 * * * 15m postgres,valkey; "}).alerting.windows
    assert [(w.cron, w.length, w.services) for w in windows] == [
        ("0 3 * * sun", timedelta(hours=2), None),
        ("30 1 * * *", timedelta(minutes=15), frozenset({"postgres", "valkey"})),
    ]
    assert load({}).alerting.windows == ()


SERVICES = "expected all or postgres, valkey, roles_anywhere, secrets_manager"
DURATIONS = "expected a duration such as 90s, 15m, 2h or 1d12h (at most 31d)"


@pytest.mark.parametrize(
    ("raw", "entry", "error"),
    [
        ("0 3 * * 2h all", 1, "expected CRON DURATION SERVICES, such as '0 3 * * sun 2h all'"),
        ("0 3 * * sun 2h all; 0 3 * * sun 2x all", 2, f"{DURATIONS}, got '2x'"),
        ("0 3 * * sun 40d all", 1, f"{DURATIONS}, got '40d'"),
        ("61 3 * * * 1h all", 1, "'61 3 * * *' is not a cron expression (minute hour day month weekday, UTC)"),
        ("0 0 3 3 1#5 1h all", 1, "'0 0 3 3 1#5' never starts (no such date in years)"),
        ("0 3 * * sun 2h postgress", 1, f"unknown service 'postgress'; {SERVICES}"),
        ("0 3 * * sun 2h ,", 1, f"no service named; {SERVICES}"),
    ],
)
def test_a_wrong_window_is_one_line_naming_the_entry_and_what_is_accepted(raw: str, entry: int, error: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load({"MAINTENANCE_WINDOWS": raw})
    wrong = raw.split(";")[entry - 1].strip()
    assert str(caught.value) == f"MAINTENANCE_WINDOWS: entry {entry} ({wrong!r}): {error}"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 4 * 3600.0), ("0", 0.0), ("600", 600.0)],
)
def test_the_reminder_period(raw: str | None, expected: float) -> None:
    assert load({} if raw is None else {"ALERT_REMINDER_S": raw}).alerting.reminder_s == expected
