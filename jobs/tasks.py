"""The RQ jobs, by the names RQ stores with each job: `jobs.tasks.run_cycle` (one probe cycle of a location,
`jobs.cycle.run_cycle`), which `rq cron` enqueues on that location's queue (`probe_queue`), and
`jobs.tasks.run_maintenance` (the hourly roll-up and pruning, `jobs.maintenance.run_maintenance`), which it
enqueues on `probes`, and `jobs.tasks.send_alerts`
(`jobs.alerting.sender.run_sender`), which a cycle enqueues on `alerts` when a notification is due, and
`jobs.tasks.tell_postgres_down` (`jobs.alerting.without_postgres.send_firing`), which a cycle enqueues there
when PostgreSQL's own outage opens while PostgreSQL cannot record it, and `jobs.tasks.send_test_notification`
(`jobs.alerting.sender.run_test`), which an operator enqueues there.

A worker runs these and nothing else (`TASKS`, `jobs.queueing`). `rq cron` needs a function to name each job,
not to run it: importing the real ones would load every probe (boto3, psycopg2 and the rest) into the
scheduler, for nothing. These import them when a worker calls them.
"""

from __future__ import annotations

from typing import Any

# The queue maintenance goes to, which every location's worker serves, and the name the Procfile's worker is
# given: it serves its own location's probe queue before it (jobs/worker.py).
QUEUE = "probes"
# The sender's queue, served by a second RQ worker in the probe worker's process (jobs/worker.py), so
# sending never delays a cycle.
ALERTS_QUEUE = "alerts"


def probe_queue(location: str) -> str:
    """The queue of a location's probe cycles: only that location's worker takes them."""
    return f"{QUEUE}:{location}"


def run_cycle(location: str | None = None) -> dict[str, Any]:
    from jobs.cycle import run_cycle

    return run_cycle(location=location)


def run_maintenance() -> dict[str, Any]:
    from jobs.maintenance import run_maintenance

    return run_maintenance()


def send_alerts() -> dict[str, Any]:
    from jobs.alerting.sender import run_sender

    return run_sender()


def tell_postgres_down(since: str, error: str | None) -> dict[str, Any]:
    from jobs.alerting.without_postgres import send_firing

    return send_firing(since, error)


def send_test_notification() -> dict[str, Any]:
    from jobs.alerting.sender import run_test

    return run_test()


# The only functions a worker runs, by the names RQ stores (jobs/queueing.py): RQ itself would import and call
# any function a job names.
TASKS: dict[str, Any] = {
    f"{__name__}.{task.__name__}": task
    for task in (run_cycle, run_maintenance, send_alerts, tell_postgres_down, send_test_notification)
}
