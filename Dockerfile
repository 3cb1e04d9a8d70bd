# syntax=docker/dockerfile:1
# One image for every process: web (default), worker and scheduler differ only by command, e.g.
#   docker run IMAGE rq worker --config jobs.rq_config --worker-class jobs.worker.ProbeWorker probes
# Settings come from the environment at run time; nothing secret is baked in.
# Supply chain: the base image is pinned by digest (a tag moves; refresh the digest as DEPLOY.md says), and every
# Python package is installed from a lock that pins it, transitive ones included, with its hashes.

# --- build: compile wheels for the runtime requirements only -------------------------------------
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /build
COPY requirements.lock requirements-audit.lock pip-audit-ignore.txt ./
# The dependency audit, run here because a build has the network (the tests skip it offline): a known
# vulnerability not accepted with a reason in pip-audit-ignore.txt fails the build, and so (--strict) does a
# package pip-audit could not look up. --disable-pip audits the lock exactly as it is, resolving nothing.
RUN python -m venv /audit \
    && /audit/bin/pip install --no-cache-dir --require-hashes -r requirements-audit.lock \
    && awk '!/^#/ && NF {print "--ignore-vuln=" $1}' pip-audit-ignore.txt \
    | xargs /audit/bin/pip-audit --strict --progress-spinner off --disable-pip -r requirements.lock
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.lock

# --- runtime ---------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91 AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080
# A fixed, unprivileged uid so App Platform and `docker run --user` agree on file ownership.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=build /wheels /wheels
COPY requirements.lock .
RUN pip install --no-cache-dir --no-index --find-links /wheels --require-hashes -r requirements.lock \
    && rm -rf /wheels
COPY --chown=root:root dashapp/ dashapp/
COPY --chown=root:root jobs/ jobs/
COPY --chown=root:root assets/ assets/
COPY --chown=root:root Procfile ./
USER 10001:10001
EXPOSE 8080
# Liveness of the web process; run worker and scheduler with `--no-healthcheck` (App Platform ignores it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8080')}/healthz\", timeout=4)"]
# gunicorn reads PORT (App Platform sets it), WEB_CONCURRENCY and the rest through dashapp/gunicorn_conf.py.
CMD ["gunicorn", "--config", "python:dashapp.gunicorn_conf", "dashapp.app:server"]
