"""Write access to Valkey is not code execution: the worker, as the Procfile runs it, reads jobs as JSON and runs
only our tasks. A pickled job (whose loading would run code) and a JSON job naming any other function are failed
with one log line, and what they ask for never happens; our own job queued after them still runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import rq
from rq.serializers import JSONSerializer

from jobs import queueing, tasks
from tests.rq_support import OpenOnLoad, work
from tests.stack_support import wait_until
from tests.test_schedule import Processes


@pytest.fixture
def processes(base_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(base_env, tmp_path)
    yield procs
    procs.stop()


def test_the_worker_fails_pickled_and_foreign_jobs_and_runs_nothing_they_name(
    base_env: dict[str, str], processes: Processes, tmp_path: Path
) -> None:
    connection = redis.Redis.from_url(base_env["VALKEY_URL"])
    unpickled, shell = tmp_path / "unpickled", tmp_path / "shell"
    # What anyone holding Valkey's password could queue: RQ's default (pickle), and JSON naming os.system.
    pickled = rq.Queue(tasks.QUEUE, connection=connection).enqueue(tasks.run_cycle, OpenOnLoad(unpickled))
    foreign = rq.Queue(tasks.QUEUE, connection=connection, serializer=JSONSerializer).enqueue(
        "os.system", f"touch {shell}"
    )
    ours = queueing.queue(tasks.QUEUE, connection).enqueue(tasks.run_cycle)
    processes.start(
        "worker", "worker", "--config", "jobs.rq_config", "--worker-class", "jobs.worker.ProbeWorker", tasks.QUEUE
    )
    log = processes.logs / "worker.log"
    wait_until(lambda: ours.get_status(refresh=True) == "finished", 60, "our cycle to run", log.read_text)

    assert not unpickled.exists(), "the pickled job was loaded"
    assert not shell.exists(), "the foreign function ran"
    # Read without loading the jobs' data.
    assert pickled.get_status(refresh=True) == foreign.get_status(refresh=True) == "failed"
    text = log.read_text()
    assert f"job {pickled.id} refused: not a JSON job (ours are kept as JSON)" in text, text
    assert f"job {foreign.id} refused: 'os.system' is not one of our tasks" in text, text
    assert "Traceback" not in text, text
    connection.close()


def test_a_foreign_function_is_never_imported_nor_a_named_callback(valkey_url: str, tmp_path: Path) -> None:
    connection = redis.Redis.from_url(valkey_url)
    assert "tabnanny" not in sys.modules  # a standard module nothing here loads
    plain = rq.Queue(tasks.QUEUE, connection=connection, serializer=JSONSerializer)
    foreign = plain.enqueue("tabnanny.check", str(tmp_path))
    # One of our tasks, with a success callback RQ would import and call once the task ran.
    called_back = plain.enqueue(
        "jobs.tasks.run_maintenance", on_success=rq.Callback("tabnanny.check"), on_failure=rq.Callback("tabnanny.check")
    )
    work([tasks.QUEUE], connection)
    assert foreign.get_status(refresh=True) == "failed"
    assert called_back.get_status(refresh=True) == "finished"
    assert "tabnanny" not in sys.modules
    connection.close()
