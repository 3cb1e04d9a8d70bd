"""Real servers for the tests: embedded PostgreSQL and Valkey, started once per session, unless
TEST_DATABASE_URL / TEST_VALKEY_URL name servers set aside for the tests.

- TEST_DATABASE_URL: a PostgreSQL URL whose user may CREATE and DROP DATABASE; each test that asks for `db_url`
  gets a fresh database there, dropped afterwards.
- TEST_VALKEY_URL: a Valkey URL whose database the tests FLUSH before each test that asks for `valkey_url`;
  never point it at a Valkey holding anything you want to keep.

DATABASE_URL, VALKEY_URL, AWS_* and every other variable the product reads are removed from the environment
before the tests start (tests/environment.py): a shell set up for `make run` or for a real deployment
neither configures the product under test nor gets its servers wiped.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
import redis

from jobs import store
from jobs.result import Status
from jobs.settings import load
from sandbox.aws import AwsSandbox
from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port
from tests.environment import is_product_variable
from tests.stack_support import copy_project, processes_under

ROOT = Path(__file__).resolve().parent.parent
# A check that worked: `degraded` (slower than half PROBE_TIMEOUT_S) is what a loaded machine turns `up` into.
WORKING = frozenset({Status.UP, Status.DEGRADED})


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module is imported (jobs.schedule reads its settings on import).
    for name in [name for name in os.environ if is_product_variable(name)]:
        del os.environ[name]


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server where the tests may create and drop databases."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port(), secrets.token_hex(8))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(pg_server_url)
    yield urlunsplit(parts._replace(path=f"/{name}"))
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A store connection (autocommit) to a fresh, migrated database."""
    connection = store.connect(load({"DATABASE_URL": db_url}).postgres, 10)
    store.migrate(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def valkey_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Valkey the tests may flush."""
    if os.environ.get("TEST_VALKEY_URL"):
        yield os.environ["TEST_VALKEY_URL"]
        return
    server = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), free_port(), secrets.token_hex(8))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def valkey_url(valkey_server_url: str) -> Iterator[str]:
    """Valkey, emptied before the test."""
    client = redis.Redis.from_url(valkey_server_url)
    client.flushdb()
    client.close()
    yield valkey_server_url


@pytest.fixture(scope="session")
def aws_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsSandbox]:
    """The local AWS sandbox (Roles Anywhere emulator + moto's STS and Secrets Manager), once per session."""
    sandbox = AwsSandbox.start(tmp_path_factory.mktemp("aws-sandbox"))
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """A real OpenID Connect provider on localhost (oidc-provider-mock): discovery, JWKS, signed ID tokens,
    nonce required; any client id and secret are accepted."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def base_env(db_url: str, valkey_url: str) -> dict[str, str]:
    """Environment for running the product against the test servers, with short intervals."""
    return {
        "DATABASE_URL": db_url,
        "VALKEY_URL": valkey_url,
        "PROBE_INTERVAL_S": "2",
        "PROBE_TIMEOUT_S": "1.5",
        "PROBE_LOCATION": "test",
    }


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project as a fresh clone ships it, for `make run`'s launcher; nothing started in it
    survives the test."""
    copy_project(tmp_path)
    yield tmp_path
    for proc in processes_under(tmp_path):
        proc.kill()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections and never answers: a hung dependency."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:  # closed at teardown
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in held:
        conn.close()
