"""The RQ worker class the Procfile runs (`rq worker --worker-class jobs.worker.ProbeWorker probes`).

RQ's SimpleWorker (each cycle runs in the worker's own process), tuned so that a cycle whose worker died
mid-job (SIGKILL, out of memory) moves to the FailedJobRegistry at most the job's timeout +
ABANDONED_AFTER_TIMEOUT_S + one probe interval after it started, instead of up to 11 minutes with RQ's defaults.

Whatever `rq worker` was told, it reads jobs as JSON and runs only ours (`jobs.queueing`); a refused job is
failed with one log line.

Given the `probes` queue (the Procfile's name for it), the worker serves its own location's probe queue
(PROBE_LOCATION's, `jobs.tasks.probe_queue`) first and `probes` after it: cycles of other locations never reach
it, and the hourly maintenance runs in whichever location is free.

The same process serves the `alerts` queue with a second RQ worker in a thread of its own: sending never waits
behind a cycle nor a cycle behind sending, without a Python process more to keep in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis
from rq.exceptions import DeserializationError
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker, WorkerStatus

from jobs.defaults import ABANDONED_AFTER_TIMEOUT_S, SENDER_SHUTDOWN_WAIT_S, SUPERVISE_BACKOFF_MAX_S
from jobs.queueing import SERIALIZER, OurJob, OurQueue, RefusedJob
from jobs.startup import load_or_exit
from jobs.supervise import backoff_s, failures_after
from jobs.tasks import ALERTS_QUEUE, QUEUE, probe_queue

log = logging.getLogger(__name__)


class _TunedWorker(SimpleWorker):
    # Waiting for a job, RQ reconnects to a lost Valkey by itself, doubling its wait up to 60 s; capped like the
    # supervisor's restarts, work resumes within that cap of Valkey's return whichever path noticed the outage.
    max_connection_wait_time = SUPERVISE_BACKOFF_MAX_S

    def __init__(self, queues: Sequence[Queue | str], *args: Any, **kwargs: Any) -> None:
        # `rq worker` builds its queues with the serializer of its command line: ours are rebuilt by name.
        names = [q.name if isinstance(q, Queue) else q for q in queues]
        kwargs.update(serializer=SERIALIZER, job_class=OurJob, queue_class=OurQueue)
        super().__init__(names, *args, **kwargs)
        # RQ's maintenance (which finds abandoned jobs) runs between jobs; cycles come once an interval.
        self.maintenance_interval = load_or_exit().probe_interval_s

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Seconds until the running job's registry entry expires (set once, when the job starts; RQ's
        default is the timeout + 60 s). By then the job's own death penalty has ended any live run."""
        if job.timeout is None or job.timeout <= 0:  # no timeout: RQ's default
            return super().get_heartbeat_ttl(job, working_time)
        return int(job.timeout) + ABANDONED_AFTER_TIMEOUT_S

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """A refused job is one log line (what it asked for), not a traceback; any other failure as RQ logs it."""
        refused = RefusedJob.not_json(job.id) if isinstance(exc_info[1], DeserializationError) else exc_info[1]
        if isinstance(refused, RefusedJob):  # RQ reads a pickled job's name before it asks for its function
            log.error("%s", refused)
            return
        super().handle_exception(job, *exc_info)


class SenderWorker(_TunedWorker):
    """The `alerts` queue's worker, run in a thread of the probe worker's process."""

    # RQ's default death penalty is SIGALRM, which only the main thread receives.
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        """The probe worker, in the main thread, owns the process's signals and its shutdown."""

    def procline(self, message: str) -> None:
        """The process's title stays the probe worker's."""


def with_location_queue(queues: Sequence[Queue | str], location: str) -> list[str]:
    """The names of `queues` (as RQ's command line made them) with the location's probe queue before `probes`."""
    served = []
    for name in (queue.name if isinstance(queue, Queue) else queue for queue in queues):
        if name == QUEUE:
            served.append(probe_queue(location))
        served.append(name)
    return served


class ProbeWorker(_TunedWorker):
    def __init__(self, queues: Sequence[Queue | str], *args: Any, **kwargs: Any) -> None:
        super().__init__(with_location_queue(queues, load_or_exit().location), *args, **kwargs)
        self._sender: SenderWorker | None = None
        self._sender_thread: threading.Thread | None = None
        self._sender_stopping = threading.Event()

    def work(self, *args: Any, **kwargs: Any) -> bool:
        # A worker started on `alerts` itself (a deployment that wants senders apart) needs no thread.
        if ALERTS_QUEUE not in self.queue_names():
            level = kwargs.get("logging_level") or "INFO"
            self._sender_thread = threading.Thread(target=self._serve_alerts, args=(level,), daemon=True)
            self._sender_thread.start()
        return super().work(*args, **kwargs)

    def _serve_alerts(self, logging_level: str) -> None:
        """Run the sender's worker until the probe worker stops; one that quits (Valkey lost outside its wait for
        a job) is started again after the supervisor's backoff."""
        # A connection of its own: RQ lengthens its worker's socket timeout for the blocking dequeue.
        pool = self.connection.connection_pool
        connection = redis.Redis(
            connection_pool=type(pool)(connection_class=pool.connection_class, **pool.connection_kwargs)
        )
        failures = 0
        while not self._sender_stopping.is_set():
            started = time.monotonic()
            try:
                self._sender = SenderWorker([ALERTS_QUEUE], connection=connection)
                self._sender.work(logging_level=logging_level)
            except Exception as exc:  # any failure is retried after a wait, never fatal to the probes
                log.error("alerts worker stopped: %s", type(exc).__name__)
            failures = failures_after(failures, time.monotonic() - started)
            self._sender_stopping.wait(backoff_s(failures))

    def teardown(self) -> None:
        """Stop the sender's worker too, letting a delivery it is sending finish for a while (cut off, it stays
        pending in the outbox and is sent again: at least once)."""
        self._sender_stopping.set()
        sender, thread = self._sender, self._sender_thread
        if sender is not None and thread is not None:
            sender._stop_requested = True
            if sender.get_state() == WorkerStatus.BUSY:
                thread.join(SENDER_SHUTDOWN_WAIT_S)
        super().teardown()
