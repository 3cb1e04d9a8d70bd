"""The `rq cron` configuration (`rq cron --config jobs.rq_config jobs.schedule`): one probe cycle every
PROBE_INTERVAL_S on the `probes` queue."""

from __future__ import annotations

import math

from rq import cron

from jobs.cycle import run_cycle
from jobs.startup import load_or_exit

QUEUE = "probes"

_settings = load_or_exit()
cron.register(
    run_cycle,
    QUEUE,
    interval=_settings.probe_interval_s,
    # Probing, migrating and storing are each bounded by the probe timeout; the rest is headroom.
    job_timeout=math.ceil(3 * _settings.probe_timeout_s) + 30,
    # A cycle not started within its interval is dropped: the next one measures the present instead.
    ttl=_settings.probe_interval_s,
    result_ttl=max(600, 10 * _settings.probe_interval_s),
    failure_ttl=7 * 86400,
)
