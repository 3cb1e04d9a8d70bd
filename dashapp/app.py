"""The web process's entry point for gunicorn (`dashapp.app:server`): settings from the environment, then the app,
and the monitor's watch on itself (a thread in each web process; `jobs.alerting.self_watch`).

A wrong setting stops the process with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

from dashapp.factory import create_app
from jobs.alerting import self_watch
from jobs.startup import load_or_exit

settings = load_or_exit()
app = create_app(settings)
server = app.server
# Started here, not in create_app: tests build many apps. gunicorn imports this module in each worker process.
watch = self_watch.start(settings)
