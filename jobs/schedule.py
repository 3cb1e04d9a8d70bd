"""The `rq cron` configuration (`rq cron --config jobs.rq_config jobs.schedule`): every PROBE_INTERVAL_S one
probe cycle per location of PROBE_LOCATIONS, each on its location's queue, and the hourly roll-up and pruning of
stored results on `probes`. The jobs are named by `jobs.tasks`, which leaves the probes' libraries out of the
scheduler.

Several schedulers (one per location's app, say) each enqueue every location's cycle: RQ's cron does not
coordinate them. A cycle stores its results for its slot, and the store keeps one per (service, location,
slot), so a duplicate cycle stores nothing."""

from __future__ import annotations

import math

from rq import cron

from jobs.defaults import FAILED_JOB_KEEP_S, MAINTENANCE_JOB_TIMEOUT_S, MAINTENANCE_RESULT_KEEP_S
from jobs.queueing import OurQueue
from jobs.startup import load_or_exit
from jobs.tasks import QUEUE, probe_queue, run_cycle, run_maintenance

# `rq cron` takes --serializer but ignores it: its CronJob.enqueue builds a plain, pickling `Queue`. Ours keeps
# the jobs as JSON, which is all a worker runs (jobs/queueing.py).
cron.Queue = OurQueue

_settings = load_or_exit()
for _location in _settings.locations:
    cron.register(
        run_cycle,
        probe_queue(_location),
        kwargs={"location": _location},
        name=f"run_cycle:{_location}",
        interval=_settings.probe_interval_s,
        # A cycle waits on at most six things each bounded by the probe timeout (migrating, probing, caching,
        # storing or keeping in Valkey, deciding incidents, queueing notifications), and 5 s (imports on a worker's
        # first job). A Valkey the cycle's probe found failing is not waited on again.
        # Kept this tight because a cycle its worker died in is only cleaned up after it (see jobs/worker.py).
        job_timeout=math.ceil(6 * _settings.probe_timeout_s) + 5,
        # A cycle not started within its interval is dropped: the next one measures the present instead.
        ttl=_settings.probe_interval_s,
        result_ttl=max(600, 10 * _settings.probe_interval_s),
        failure_ttl=FAILED_JOB_KEEP_S,
    )
# Hourly, a few minutes past the hour, so the hour just finished has all its results.
cron.register(
    run_maintenance,
    QUEUE,
    cron="5 * * * *",
    job_timeout=MAINTENANCE_JOB_TIMEOUT_S,
    result_ttl=MAINTENANCE_RESULT_KEEP_S,
    failure_ttl=FAILED_JOB_KEEP_S,
)
