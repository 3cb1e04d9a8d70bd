"""The RQ worker class the Procfile runs (`rq worker --worker-class jobs.worker.ProbeWorker`).

RQ's SimpleWorker (each cycle runs in the worker's own process), tuned so that a cycle whose worker died
mid-job (SIGKILL, out of memory) moves to the FailedJobRegistry at most the job's timeout +
ABANDONED_AFTER_TIMEOUT_S + one probe interval after it started, instead of up to 11 minutes with RQ's defaults.
"""

from __future__ import annotations

from typing import Any

from rq.job import Job
from rq.worker import SimpleWorker

from jobs.defaults import ABANDONED_AFTER_TIMEOUT_S, SUPERVISE_BACKOFF_MAX_S
from jobs.startup import load_or_exit


class ProbeWorker(SimpleWorker):
    # Waiting for a job, RQ reconnects to a lost Valkey by itself, doubling its wait up to 60 s; capped like the
    # supervisor's restarts, cycles resume within that cap of Valkey's return whichever path noticed the outage.
    max_connection_wait_time = SUPERVISE_BACKOFF_MAX_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RQ's maintenance (which finds abandoned jobs) runs between jobs; cycles come once an interval.
        self.maintenance_interval = load_or_exit().probe_interval_s

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Seconds until the running job's registry entry expires (set once, when the job starts; RQ's
        default is the timeout + 60 s). By then the job's own death penalty has ended any live run."""
        if job.timeout is None or job.timeout <= 0:  # no timeout: RQ's default
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + ABANDONED_AFTER_TIMEOUT_S
