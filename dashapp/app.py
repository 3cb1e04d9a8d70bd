"""The web process's entry point for gunicorn (`dashapp.app:server`): settings from the environment, then the app.

A wrong setting stops the process with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import logging
import sys

from dashapp.factory import create_app
from jobs import settings as settings_module

try:
    settings = settings_module.load()
except settings_module.SettingsError as exc:
    print(f"settings: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app(settings)
server = app.server
