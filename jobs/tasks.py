"""The RQ jobs `rq cron` enqueues, by the names RQ stores with each job: `jobs.tasks.run_cycle` (one probe
cycle, `jobs.cycle.run_cycle`) and `jobs.tasks.run_maintenance` (the hourly roll-up and pruning,
`jobs.maintenance.run_maintenance`).

`rq cron` needs a function to name each job, not to run it: importing the real ones would load every probe
(boto3, psycopg2 and the rest) into the scheduler, for nothing. These import them when a worker calls them.
"""

from __future__ import annotations

from typing import Any

# The queue both jobs go to, which the worker listens on (Procfile) and the web reports on.
QUEUE = "probes"


def run_cycle() -> dict[str, Any]:
    from jobs.cycle import run_cycle

    return run_cycle()


def run_maintenance() -> dict[str, Any]:
    from jobs.maintenance import run_maintenance

    return run_maintenance()
