"""The probe cycles RQ ran for a location, read from its registries in Valkey (the location's probe queue).
These read cycles only."""

from __future__ import annotations

import redis
from rq.job import Job
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from jobs import tasks
from jobs.result import utcnow

CYCLE = f"{tasks.__name__}.{tasks.run_cycle.__name__}"


def finished_cycles(valkey: redis.Redis, location: str) -> list[Job]:
    """The probe cycles of `location` RQ ran to the end (kept for their result_ttl), in the registry's order."""
    # cleanup=False: reading a registry must not run RQ's cleanup itself; only a worker's maintenance may.
    ids = FinishedJobRegistry(tasks.probe_queue(location), connection=valkey).get_job_ids(cleanup=False)
    return [job for job in Job.fetch_many(ids, connection=valkey) if job is not None and job.func_name == CYCLE]


def cycle_started_within(valkey: redis.Redis, location: str, seconds: float) -> Job | None:
    """A probe cycle of `location` running now that started less than `seconds` ago, if any."""
    ids = StartedJobRegistry(tasks.probe_queue(location), connection=valkey).get_job_ids(cleanup=False)
    cycles = [job for job in Job.fetch_many(ids, connection=valkey) if job is not None and job.func_name == CYCLE]
    return next(
        (job for job in cycles if job.started_at and (utcnow() - job.started_at).total_seconds() < seconds), None
    )
