"""PostgreSQL restarted (or failed over) under a running web: the connections the web kept idle were closed
by the server; the next reads open fresh ones instead of failing once per dead connection."""

from __future__ import annotations

from dashapp.reader import POOL_MAX, Reader
from jobs.result import utcnow
from jobs.settings import load
from sandbox.embedded import EmbeddedPostgres
from tests.faults.conftest import FAST
from tests.web_support import seed_history


def test_postgres_restarted_under_the_web(own_pg: EmbeddedPostgres) -> None:
    settings = load({**FAST, "DATABASE_URL": own_pg.url})
    seed_history(settings, utcnow())
    reader = Reader(settings)
    # Fill the pool with idle connections.
    held = [reader.connection() for _ in range(POOL_MAX)]
    for context in held:
        context.__enter__()
    for context in held:
        context.__exit__(None, None, None)

    own_pg.stop()
    own_pg.start()

    for _ in range(POOL_MAX + 1):  # every dead idle connection would have failed one read
        assert reader.last_cycle_at() is not None
    reader.close()
