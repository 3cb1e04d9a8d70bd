"""Loading settings in a process's entry point: a wrong setting is one line on stderr and exit status 2."""

from __future__ import annotations

import logging
import sys
from typing import TypeVar

from jobs.exit_status import EXIT_BAD_SETTINGS
from jobs.settings import Settings, SettingsError, load

T = TypeVar("T")


def load_or_exit() -> Settings:
    """The settings, or exit 2 after printing the one-line SettingsError (never a traceback)."""
    try:
        settings = load()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def require(value: T | None, message: str) -> T:
    """`value`, or exit 2 with `message` (naming the setting) when a setting this process needs is absent."""
    if value is None:
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS)
    return value
