"""gunicorn's settings for the web process, from our settings, so the Procfile and the Dockerfile share one
command: `gunicorn --config python:dashapp.gunicorn_conf dashapp.app:server`."""

from __future__ import annotations

from jobs.startup import load_or_exit

_settings = load_or_exit()

bind = f"{_settings.bind_host}:{_settings.port}"
workers = _settings.web_concurrency
worker_class = "gthread"
threads = 4
timeout = 30
accesslog = "-"
# gunicorn's control socket is one fixed path per user; several gunicorns on one machine would fight over it.
control_socket_disable = True
