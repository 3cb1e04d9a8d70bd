"""The RQ worker class the Procfile runs (`rq worker --worker-class jobs.worker.ProbeWorker`).

RQ's SimpleWorker (each cycle runs in the worker's own process, under the job's timeout), tuned so that a
cycle left behind by a worker that died mid-job (SIGKILL, out of memory, a lost container) is cleaned up
within a few probe intervals rather than RQ's defaults allow. RQ finds such a job when its entry in the
StartedJobRegistry expires and a worker's maintenance cleans the registries: it then moves the job to the
FailedJobRegistry (AbandonedJobError). A SimpleWorker dates that expiry at the job's timeout + 60 s and
never renews it, and maintenance runs every 10 minutes, so a killed cycle could sit "started" for 11. Here
it expires ABANDONED_AFTER_TIMEOUT_S after the job's timeout (by which time the job's own death penalty has
ended any live run) and maintenance runs every PROBE_INTERVAL_S (between jobs, which `rq cron` enqueues that
often): a restarted worker moves the killed cycle to the FailedJobRegistry at most job timeout + 10 s + one
interval after it started (about 2 min in production, 65 s + 10 s + 60 s).
"""

from __future__ import annotations

from typing import Any

from rq.job import Job
from rq.worker import SimpleWorker

from jobs.startup import load_or_exit

# Covers RQ's own bookkeeping after a job hit its timeout (each Valkey call is bounded by a few seconds).
ABANDONED_AFTER_TIMEOUT_S = 10


class ProbeWorker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.maintenance_interval = load_or_exit().probe_interval_s

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Seconds until the running job's registry entry expires (it is set once, when the job starts)."""
        if job.timeout is None or job.timeout <= 0:  # no timeout: RQ's default
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + ABANDONED_AFTER_TIMEOUT_S
