"""The probe cycles RQ ran for a location, read from its registries in Valkey (the location's probe queue, as
JSON, like our jobs are kept): these read cycles only. A pickle that shows when it is loaded."""

from __future__ import annotations

from pathlib import Path

import redis
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FinishedJobRegistry, StartedJobRegistry

from jobs import tasks
from jobs.queueing import SERIALIZER, OurJob
from jobs.result import utcnow

CYCLE = f"{tasks.__name__}.{tasks.run_cycle.__name__}"


class OpenOnLoad:
    """Pickled, it tells the unpickler to call open(path, "w"): the file appears if the pickle is ever loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


def _cycles(ids: list[str], valkey: redis.Redis) -> list[Job]:
    jobs = Job.fetch_many(ids, connection=valkey, serializer=SERIALIZER)
    return [job for job in jobs if job is not None and job.func_name == CYCLE]


def finished_cycles(valkey: redis.Redis, location: str) -> list[Job]:
    """The probe cycles of `location` RQ ran to the end (kept for their result_ttl), in the registry's order."""
    # cleanup=False: reading a registry must not run RQ's cleanup itself; only a worker's maintenance may.
    ids = FinishedJobRegistry(tasks.probe_queue(location), connection=valkey).get_job_ids(cleanup=False)
    return _cycles(ids, valkey)


def cycle_started_within(valkey: redis.Redis, location: str, seconds: float) -> Job | None:
    """A probe cycle of `location` running now that started less than `seconds` ago, if any."""
    ids = StartedJobRegistry(tasks.probe_queue(location), connection=valkey).get_job_ids(cleanup=False)
    cycles = _cycles(ids, valkey)
    return next(
        (job for job in cycles if job.started_at and (utcnow() - job.started_at).total_seconds() < seconds), None
    )


def work(queue_names: list[str], valkey: redis.Redis) -> None:
    """Run the jobs waiting on `queue_names` here, until none is left, reading them as our worker does."""
    SimpleWorker(queue_names, connection=valkey, serializer=SERIALIZER, job_class=OurJob).work(burst=True)
