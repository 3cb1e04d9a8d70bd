"""The PostgreSQL and Valkey probes against real servers: up, wrong password, closed port, hung server."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis

from jobs import store
from jobs.probes import PROBES, postgres, roles_anywhere, secrets_manager, valkey
from jobs.probes.outcome import up_or_degraded as judge
from jobs.result import SERVICE_NAMES, Status
from jobs.settings import Settings, load
from sandbox.embedded import free_port
from tests.phases import assert_phases_account_for_latency


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    settings = load(base_env)
    conn = store.connect(settings.postgres, 5)
    store.migrate(conn)
    conn.close()
    return settings


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", f":{password}@")


def test_registry_lists_probes_in_display_order() -> None:
    # Written out: every service has its probe, in the board's order (a dropped or moved one shows here).
    assert list(PROBES) == ["postgres", "valkey", "roles_anywhere", "secrets_manager"] == list(SERVICE_NAMES)
    modules = (postgres, valkey, roles_anywhere, secrets_manager)
    assert [PROBES[module.SERVICE] for module in modules] == [module.probe for module in modules]


@pytest.fixture
def patient(settings: Settings, base_env: dict[str, str]) -> Settings:
    """`settings` with a 30 s timeout: only a check slower than 15 s is degraded, so `up` is what the up path
    gives even on a loaded machine."""
    return load({**base_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "30"})


def test_postgres_probe_up(patient: Settings, db_url: str) -> None:
    settings = patient
    result = postgres.probe(settings)
    assert result.status is Status.UP, result.error
    assert result.error is None
    assert result.endpoint == settings.postgres.endpoint
    assert result.location == "test"
    assert_phases_account_for_latency(result)
    assert result.detail["server_version"].split(".")[0].isdigit()
    assert result.detail["tls"] is False
    conn = psycopg2.connect(db_url)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM probe_canary")
        assert cur.fetchone()[0] == 0  # the canary row was cleaned up
    conn.close()


def test_valkey_probe_up(patient: Settings, valkey_url: str) -> None:
    settings = patient
    result = valkey.probe(settings)
    assert result.status is Status.UP, result.error
    assert result.endpoint == settings.valkey.endpoint
    assert_phases_account_for_latency(result)
    assert result.detail["server"] == "valkey"
    assert result.detail["version"].split(".")[0].isdigit()
    assert result.detail["tls"] is False
    client = redis.Redis.from_url(valkey_url)
    assert 0 < client.ttl(result.detail["key"]) <= valkey.KEY_TTL_S
    client.close()


def test_postgres_probe_on_an_unmigrated_database_says_what_to_run(base_env: dict[str, str]) -> None:
    result = postgres.probe(load(base_env))
    assert result.status is Status.DOWN
    assert "python -m jobs migrate" in result.error


@pytest.mark.parametrize(
    ("probe", "variable", "expected"),
    [
        (postgres.probe, "DATABASE_URL", 'password authentication failed for user "monitor"'),
        (valkey.probe, "VALKEY_URL", "failed: invalid username-password pair"),
    ],
)
def test_wrong_password_is_down_with_an_actionable_error_and_no_password(
    base_env: dict[str, str], probe, variable: str, expected: str
) -> None:
    wrong = "Wr0ng-pa55word-xyz"
    result = probe(load({**base_env, variable: with_password(base_env[variable], wrong)}))
    assert result.status is Status.DOWN
    assert expected in result.error
    assert "\n" not in result.error
    assert wrong not in json.dumps(result.to_dict())


@pytest.mark.parametrize(("probe", "variable"), [(postgres.probe, "DATABASE_URL"), (valkey.probe, "VALKEY_URL")])
def test_closed_port_is_down_without_waiting_for_the_timeout(base_env: dict[str, str], probe, variable: str) -> None:
    port = free_port()
    url = f"{urlsplit(base_env[variable]).scheme}://u:secret-pw@127.0.0.1:{port}/0"
    settings = load({**base_env, variable: url})
    result = probe(settings)
    assert result.status is Status.DOWN
    assert result.error == f"connection refused by 127.0.0.1:{port}"
    assert result.latency_ms < settings.probe_timeout_s * 1000
    assert "secret-pw" not in json.dumps(result.to_dict())


@pytest.mark.parametrize(("probe", "variable"), [(postgres.probe, "DATABASE_URL"), (valkey.probe, "VALKEY_URL")])
def test_server_that_never_answers_is_down_within_the_deadline(
    base_env: dict[str, str], silent_port: int, probe, variable: str
) -> None:
    url = f"{urlsplit(base_env[variable]).scheme}://u:secret-pw@127.0.0.1:{silent_port}/0"
    settings = load({**base_env, variable: url})
    started = time.monotonic()
    result = probe(settings)
    elapsed = time.monotonic() - started
    assert result.status is Status.DOWN
    assert result.error == f"timed out after 1.5 s connecting to 127.0.0.1:{silent_port}"
    # It waited for the deadline, and not much longer (the margin is for a loaded machine).
    assert settings.probe_timeout_s <= elapsed < settings.probe_timeout_s + 3


@pytest.mark.parametrize(("probe", "hint"), [(postgres.probe, "DATABASE_URL"), (valkey.probe, "VALKEY_URL")])
def test_probe_without_settings_is_not_configured(probe, hint: str) -> None:
    result = probe(load({"PROBE_LOCATION": "test"}))
    assert result.status is Status.NOT_CONFIGURED
    assert hint in result.error
    assert result.location == "test"


def test_probe_with_wrong_service_settings_reports_the_settings_problem() -> None:
    result = valkey.probe(load({"VALKEY_URL": "http://example"}))
    assert result.status is Status.NOT_CONFIGURED
    assert result.error.startswith("VALKEY_URL: expected rediss://")


@pytest.mark.parametrize(
    ("latency_ms", "timeout_s", "status"),
    [(10, 10, Status.UP), (5000, 10, Status.UP), (5001, 10, Status.DEGRADED), (800, 1.5, Status.DEGRADED)],
)
def test_a_check_slower_than_half_the_timeout_is_degraded(latency_ms: float, timeout_s: float, status) -> None:
    assert judge(latency_ms, timeout_s) is status


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (
            'connection to server at "127.0.0.1", port 5432 failed: FATAL:  password authentication failed for'
            ' user "monitor"\n',
            'password authentication failed for user "monitor"',
        ),
        (
            'connection to server at "db.example" (10.0.0.5), port 25060 failed: Connection refused\n\tIs the'
            " server running on that host and accepting TCP/IP connections?\n",
            "connection refused by db.example:25060",
        ),
        ("timeout expired\n", "timed out waiting for db.example:25060"),
        ('FATAL:  database "nope" does not exist\n', 'database "nope" does not exist'),
        ("", "PostgreSQL closed the connection without an error message"),
    ],
)
def test_postgres_errors_become_one_actionable_line(message: str, line: str) -> None:
    pg = load({"DATABASE_URL": "postgresql://u@db.example:25060/d"}).postgres
    assert postgres.describe_error(message, pg) == line
