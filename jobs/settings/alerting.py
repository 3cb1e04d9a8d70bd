"""Alerting: when an incident opens and resolves (ALERT_OPEN_FAILURES of the last ALERT_OPEN_WINDOW checks
failed; ALERT_RESOLVE_CHECKS in a row worked), where notifications go (ALERT_URLS, Apprise URLs, secret;
ALERT_CONFIG, an Apprise config file with tags), how often an open incident is told again (ALERT_REMINDER_S)
and when nobody is told (MAINTENANCE_WINDOWS)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobs import defaults
from jobs.settings import windows as windows_
from jobs.settings.parse import SettingsError, seconds, text, whole
from jobs.settings.windows import Window


@dataclass(frozen=True)
class AlertSettings:
    open_failures: int = defaults.ALERT_OPEN_FAILURES
    open_window: int = defaults.ALERT_OPEN_WINDOW
    resolve_checks: int = defaults.ALERT_RESOLVE_CHECKS
    reminder_s: float = defaults.ALERT_REMINDER_S  # 0: no reminders
    windows: tuple[Window, ...] = ()
    # Apprise URLs hold tokens and passwords: never logged or shown unmasked (jobs.alerting.channels).
    urls: tuple[str, ...] = field(default=(), repr=False)
    config: str | None = None  # an Apprise config file's path (YAML or TEXT), whose URLs may carry tags


def read(env: Mapping[str, str]) -> AlertSettings:
    """The alerting settings. Raises SettingsError (one line) for a wrong number; URLs are checked by
    `jobs.alerting.channels`, so one wrong URL does not silence the others."""
    window = whole(env, "ALERT_OPEN_WINDOW", defaults.ALERT_OPEN_WINDOW, 1, 100)
    failures = whole(env, "ALERT_OPEN_FAILURES", defaults.ALERT_OPEN_FAILURES, 1, 100)
    if failures > window:
        raise SettingsError(f"ALERT_OPEN_FAILURES: must be at most ALERT_OPEN_WINDOW ({window}), got {failures}")
    # Apprise's own separators: commas and blanks.
    urls = tuple(u for u in re.split(r"[\s,]+", text(env, "ALERT_URLS") or "") if u)
    return AlertSettings(
        open_failures=failures,
        open_window=window,
        resolve_checks=whole(env, "ALERT_RESOLVE_CHECKS", defaults.ALERT_RESOLVE_CHECKS, 1, 100),
        urls=urls,
        config=text(env, "ALERT_CONFIG"),
        reminder_s=seconds(env, "ALERT_REMINDER_S", defaults.ALERT_REMINDER_S, 0, 30 * 86400),
        windows=windows_.read(text(env, "MAINTENANCE_WINDOWS")),
    )
