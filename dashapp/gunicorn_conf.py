"""gunicorn's settings for the web process, from our settings, so the Procfile and the Dockerfile share one
command: `gunicorn --config python:dashapp.gunicorn_conf dashapp.app:server`."""

from __future__ import annotations

from jobs.settings import WEB_THREADS
from jobs.startup import load_or_exit

_settings = load_or_exit()

bind = f"{_settings.bind_host}:{_settings.port}"
workers = _settings.web_concurrency
worker_class = "gthread"
# One process served /api/status about as fast as two on 2 cores (the work is mostly PostgreSQL's and the
# GIL's), in ~75 MiB less memory; WEB_CONCURRENCY adds processes on bigger instances.
threads = WEB_THREADS
timeout = 30
accesslog = "-"
# One line per request, without gunicorn's per-request dictionary of every header (dashapp/access_log.py).
logger_class = "dashapp.access_log.AccessLogger"
# gunicorn's control socket is one fixed path per user; several gunicorns on one machine would fight over it.
control_socket_disable = True
