"""gunicorn's settings for the web process, from our settings, so the Procfile and the Dockerfile share one
command: `gunicorn --config python:dashapp.gunicorn_conf dashapp.app:server`."""

from __future__ import annotations

from jobs.defaults import WEB_THREADS, WEB_WORKER_TIMEOUT_S
from jobs.startup import load_or_exit

_settings = load_or_exit()

bind = f"{_settings.bind_host}:{_settings.port}"
workers = _settings.web_concurrency
# gunicorn's gthread worker, with a bound on how long reading a request may take (slow clients).
worker_class = "dashapp.gunicorn_worker.BoundedReadWorker"
# One process by default: a second one adds little (the work is mostly PostgreSQL's and the GIL's) and costs
# memory (bench/README.md); WEB_CONCURRENCY adds processes on bigger instances.
threads = WEB_THREADS
timeout = WEB_WORKER_TIMEOUT_S
accesslog = "-"
# One line per request, without gunicorn's per-request dictionary of every header (dashapp/access_log.py).
logger_class = "dashapp.access_log.AccessLogger"
# gunicorn's control socket is one fixed path per user; several gunicorns on one machine would fight over it.
control_socket_disable = True
