"""How our RQ jobs are kept in Valkey and which ones a worker runs.

RQ's defaults make write access to Valkey mean code execution: jobs are pickled (reading one can run any code)
and a worker imports and calls whatever function a job names. Ours are kept as JSON (RQ's JSONSerializer: our
jobs take and return only strings, numbers and dicts), and a worker runs only the functions `jobs.tasks.TASKS`
names: any other job, a pickled one included, is failed without importing or calling anything it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DeserializationError
from rq.job import Job
from rq.serializers import JSONSerializer

from jobs.tasks import TASKS

SERIALIZER = JSONSerializer


class RefusedJob(Exception):
    """A job that is not one of ours: never run. One line, naming what the job asked for."""

    @classmethod
    def not_json(cls, job_id: str) -> RefusedJob:
        return cls(f"job {job_id} refused: not a JSON job (ours are kept as JSON)")


class OurJob(Job):
    """An RQ job that resolves its function from our tasks only, never by importing the name it holds."""

    @property
    def func(self) -> Callable[..., Any]:
        try:
            name, instance = self.func_name, self.instance
        except DeserializationError:
            raise RefusedJob.not_json(self.id) from None
        task = TASKS.get(name) if isinstance(name, str) and instance is None else None
        if task is None:
            raise RefusedJob(f"job {self.id} refused: {str(name)[:200]!r} is not one of our tasks")
        return task

    # RQ imports and calls the callbacks a job names; ours have none, so any named is never loaded.
    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None


class OurQueue(Queue):
    """An RQ queue of JSON jobs read as `OurJob`, whatever serializer or job class the caller passed."""

    job_class = OurJob

    def __init__(self, name: str = "default", connection: redis.Redis | None = None, **kwargs: Any) -> None:
        kwargs.update(serializer=SERIALIZER, job_class=OurJob)
        super().__init__(name, connection=connection, **kwargs)


def queue(name: str, connection: redis.Redis) -> OurQueue:
    """The queue `name` as our jobs use it (enqueueing JSON)."""
    return OurQueue(name, connection=connection)
