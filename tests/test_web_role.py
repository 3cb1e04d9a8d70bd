"""The web's own PostgreSQL role (DATABASE_WEB_ROLE), against the embedded PostgreSQL: the worker's migration
grants it what the web needs, the board and API work with it, the web's own writes (audit log, the monitor's
incident) go through, and anything else it tries to write or create is refused."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
import pytest

from jobs import store
from jobs.alerting import self_watch
from jobs.result import utcnow
from jobs.settings import load
from tests.test_web_api import build
from tests.web_support import seed_history


@pytest.fixture
def web_url(db_url: str) -> Iterator[str]:
    """The URL of a login role of the web's (no rights of its own), granted by the worker's migration."""
    role, password = f"web_{secrets.token_hex(4)}", secrets.token_hex(12)
    admin = psycopg2.connect(db_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN PASSWORD %s", (password,))
    store.migrate_once(load({"DATABASE_URL": db_url, "DATABASE_WEB_ROLE": role}).postgres, 10)
    parts = urlsplit(db_url)
    yield urlunsplit(parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}"))
    with admin.cursor() as cur:
        cur.execute(f"DROP OWNED BY {role}")
        cur.execute(f"DROP ROLE {role}")
    admin.close()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO probe_results (service, status, checked_at, slot, location) VALUES ('x', 'up', now(), now(), 'x')",
        "DELETE FROM incidents",
        "UPDATE alert_deliveries SET channel = 'x'",
        "DELETE FROM audit_log",
        "CREATE TABLE web_made (id int)",
        "DROP TABLE probe_results",
    ],
)
def test_the_web_role_cannot_write_what_the_worker_writes_nor_change_the_schema(web_url: str, statement: str) -> None:
    conn = psycopg2.connect(web_url)
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute(statement)
    conn.close()


def test_the_board_api_and_the_webs_own_writes_work_with_the_web_role(
    base_env: dict[str, str], web_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = utcnow()
    seed_history(load(base_env), now)  # the worker's writes, as the owner
    settings, client = build({**base_env, "DATABASE_URL": web_url, "PROBE_INTERVAL_S": "60"}, monkeypatch)
    assert settings.postgres.user != load(base_env).postgres.user
    assert "migrations deferred" not in caplog.text, "its migration at start finds the schema up to date"

    status = client.get("/api/status")
    assert status.status_code == 200, status.get_data(as_text=True)
    assert [s["status"] for s in status.get_json()["services"]][:3] == ["up", "degraded", "down"]
    assert client.get("/").status_code == 200

    conn = store.connect(settings.postgres, 10)
    try:
        store.add_audit_entry(conn, now, "ops", "test", "with the web's role")
        assert [e.detail for e in store.audit_entries(conn, 5)] == ["with the web's role"]
        # The watch on the worker: no cycle for long enough opens the monitor's incident, then resolves it.
        assert self_watch.watch_once(conn, settings, now, now + timedelta(hours=1)) == "opened"
        seed_history(load(base_env), now + timedelta(hours=2))
        assert self_watch.watch_once(conn, settings, now, now + timedelta(hours=2)) == "resolved"
    finally:
        conn.close()


def test_a_web_role_name_that_is_not_an_identifier_is_refused_in_one_line() -> None:
    settings = load({"DATABASE_URL": "postgresql://u:p@h/d", "DATABASE_WEB_ROLE": "web; DROP TABLE x"})
    assert settings.postgres is None
    assert settings.problems["postgres"] == (
        "DATABASE_WEB_ROLE: expected a role name of lowercase letters, digits and _, got 'web; DROP TABLE x'"
    )
