"""The web process's entry point for gunicorn (`dashapp.app:server`): settings from the environment, then the app.

A wrong setting stops the process with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

from dashapp.factory import create_app
from jobs.startup import load_or_exit

app = create_app(load_or_exit())
server = app.server
