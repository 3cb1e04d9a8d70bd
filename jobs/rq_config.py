"""RQ's settings for `rq worker` and `rq cron` (`--config jobs.rq_config`): Valkey as our settings name it."""

from __future__ import annotations

from jobs.buffer import bounded_url
from jobs.defaults import RQ_VALKEY_TIMEOUT_MIN_S
from jobs.startup import load_or_exit, require

_settings = load_or_exit()
_valkey = require(
    _settings.valkey,
    _settings.problems.get("valkey") or "VALKEY_URL: not set (the worker and the scheduler queue jobs in Valkey)",
)
# Connect and read timeouts bound every wait on a Valkey that stops answering; RQ lengthens the read timeout
# of a worker's connection to cover its blocking dequeue.
REDIS_URL = bounded_url(_valkey, max(RQ_VALKEY_TIMEOUT_MIN_S, _settings.probe_timeout_s))
