"""Alerting: when an incident opens and resolves (ALERT_OPEN_FAILURES of the last ALERT_OPEN_WINDOW checks
failed; ALERT_RESOLVE_CHECKS in a row worked), where notifications go (ALERT_URLS, Apprise URLs, secret;
ALERT_CONFIG, an Apprise config file with tags), how often an open incident is told again (ALERT_REMINDER_S),
when nobody is told (MAINTENANCE_WINDOWS), at how many days left the client certificate's expiry is told
(CERT_WARN_AT_DAYS), the outside dead-man's switch requested after every stored cycle
(ALERT_HEARTBEAT_URL, secret), and how many probing locations must fail a service for its incident to be told
at its level rather than as `partial` (ALERT_FAILING_LOCATIONS)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobs import defaults
from jobs.settings import windows as windows_
from jobs.settings.parse import SettingsError, seconds, shown, split, text, whole
from jobs.settings.windows import Window


@dataclass(frozen=True)
class AlertSettings:
    open_failures: int = defaults.ALERT_OPEN_FAILURES
    open_window: int = defaults.ALERT_OPEN_WINDOW
    resolve_checks: int = defaults.ALERT_RESOLVE_CHECKS
    # Of PROBE_LOCATIONS, how many must fail a service for its incident to be `critical`/`warning`: fewer, `partial`.
    failing_locations: int = 1
    reminder_s: float = defaults.ALERT_REMINDER_S  # 0: no reminders
    windows: tuple[Window, ...] = ()
    # Apprise URLs hold tokens and passwords: never logged or shown unmasked (jobs.alerting.channels).
    urls: tuple[str, ...] = field(default=(), repr=False)
    config: str | None = None  # an Apprise config file's path (YAML or TEXT), whose URLs may carry tags
    # Days left at which the client certificate's expiry is told, largest first (empty: never).
    cert_warn_at_days: tuple[int, ...] = defaults.CERT_WARN_AT_DAYS
    # A healthchecks-style ping URL: its path or query is usually the secret.
    heartbeat_url: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        """Whether anybody is told: ALERT_URLS or ALERT_CONFIG is set."""
        return bool(self.urls or self.config)


def _warn_at_days(env: Mapping[str, str]) -> tuple[int, ...]:
    """CERT_WARN_AT_DAYS: whole days from 0 to 365, separated by commas, or `none`; largest first."""
    raw = text(env, "CERT_WARN_AT_DAYS")
    if raw is None:
        return defaults.CERT_WARN_AT_DAYS
    if raw.lower() == "none":
        return ()
    parts = [p.strip() for p in raw.split(",")]
    if not all(p.isascii() and p.isdigit() and int(p) <= 365 for p in parts):
        raise SettingsError(
            f"CERT_WARN_AT_DAYS: expected whole days from 0 to 365 separated by commas (or none), got {shown(raw)}"
        )
    return tuple(sorted({int(p) for p in parts}, reverse=True))


def _failing_locations(env: Mapping[str, str], locations: int) -> int:
    """ALERT_FAILING_LOCATIONS: a whole number from 1 to the number of PROBE_LOCATIONS, or `all` (the default)."""
    raw = text(env, "ALERT_FAILING_LOCATIONS")
    if raw is None or raw.lower() == "all":
        return locations
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= locations):
        raise SettingsError(
            f"ALERT_FAILING_LOCATIONS: expected a whole number from 1 to {locations} (the number of"
            f" PROBE_LOCATIONS) or all, got {shown(raw)}"
        )
    return int(raw)


def read(env: Mapping[str, str], locations: int = 1) -> AlertSettings:
    """The alerting settings (`locations`: how many probe). Raises SettingsError (one line) for a wrong number,
    day list or heartbeat URL;
    ALERT_URLS are checked by `jobs.alerting.channels`, so one wrong URL does not silence the others."""
    window = whole(env, "ALERT_OPEN_WINDOW", defaults.ALERT_OPEN_WINDOW, 1, 100)
    failures = whole(env, "ALERT_OPEN_FAILURES", defaults.ALERT_OPEN_FAILURES, 1, 100)
    if failures > window:
        raise SettingsError(f"ALERT_OPEN_FAILURES: must be at most ALERT_OPEN_WINDOW ({window}), got {failures}")
    # Apprise's own separators: commas and blanks.
    urls = tuple(u for u in re.split(r"[\s,]+", text(env, "ALERT_URLS") or "") if u)
    heartbeat = text(env, "ALERT_HEARTBEAT_URL")
    expected = "an http:// or https:// URL"
    if heartbeat is not None:
        parts = split(heartbeat, "ALERT_HEARTBEAT_URL", expected)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"ALERT_HEARTBEAT_URL: expected {expected}")
    return AlertSettings(
        open_failures=failures,
        open_window=window,
        resolve_checks=whole(env, "ALERT_RESOLVE_CHECKS", defaults.ALERT_RESOLVE_CHECKS, 1, 100),
        failing_locations=_failing_locations(env, locations),
        urls=urls,
        config=text(env, "ALERT_CONFIG"),
        reminder_s=seconds(env, "ALERT_REMINDER_S", defaults.ALERT_REMINDER_S, 0, 30 * 86400),
        windows=windows_.read(text(env, "MAINTENANCE_WINDOWS")),
        cert_warn_at_days=_warn_at_days(env),
        heartbeat_url=heartbeat,
    )
