"""ALERT_HEARTBEAT_URL with real parts: a cycle stored in a real PostgreSQL (Valkey real too) pings a local HTTP
receiver once; a receiver that refuses or never answers costs the cycle at most the heartbeat's bound and
never fails it, and the log line names neither the URL's path nor its query."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobs import cycle
from jobs.settings import SettingsError, load
from sandbox.embedded import free_port

SLOT = datetime(2026, 1, 1, tzinfo=UTC)
TOKEN = "0f6c1e1a-heartbeat-token"


class Pings:
    """An HTTP server on 127.0.0.1 that keeps the path (with query) of every GET."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pings() -> Iterator[Pings]:
    server = Pings()
    yield server
    server.stop()


def use(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, heartbeat_url: str) -> None:
    for name, value in {**env, "ALERT_HEARTBEAT_URL": heartbeat_url}.items():
        monkeypatch.setenv(name, value)


def test_every_stored_cycle_pings_the_heartbeat_url_once(base_env, pings: Pings, monkeypatch) -> None:
    use(base_env, monkeypatch, f"http://127.0.0.1:{pings.port}/ping/{TOKEN}?rid=1")
    assert cycle.run_cycle(SLOT)["stored"]
    assert pings.paths == [f"/ping/{TOKEN}?rid=1"]
    assert cycle.run_cycle(SLOT + timedelta(seconds=2))["stored"]
    assert pings.paths == [f"/ping/{TOKEN}?rid=1"] * 2


def test_a_cycle_not_stored_sends_no_heartbeat(base_env, pings: Pings, monkeypatch) -> None:
    use({**base_env, "DATABASE_URL": f"postgresql://u:p@127.0.0.1:{free_port()}/db"}, monkeypatch, "")
    monkeypatch.setenv("ALERT_HEARTBEAT_URL", f"http://127.0.0.1:{pings.port}/ping/{TOKEN}")
    assert not cycle.run_cycle(SLOT)["stored"]
    assert pings.paths == []


@pytest.mark.parametrize("receiver", ["refusing", "silent"])
def test_a_dead_heartbeat_receiver_never_fails_the_cycle_and_logs_no_secret(
    base_env, receiver: str, silent_port: int, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port() if receiver == "refusing" else silent_port
    use(base_env, monkeypatch, f"http://hc:{TOKEN}@127.0.0.1:{port}/ping/{TOKEN}?key={TOKEN}")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="jobs.alerting.heartbeat"):
        result = cycle.run_cycle(SLOT)
    assert result["stored"]
    # The probes' deadline (1.5 s + grace), then at most the heartbeat's bound (1.5 s here), and the rest.
    assert time.monotonic() - started < 8
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobs.alerting.heartbeat"]
    assert line.startswith(f"heartbeat to http://127.0.0.1:{port}/… failed: "), line
    assert TOKEN not in line and "key=" not in line


@pytest.mark.parametrize("value", ["ftp://example.com/x", "not a url", "https://"])
def test_a_wrong_heartbeat_url_is_one_line_without_the_value(value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load({"ALERT_HEARTBEAT_URL": value})
    assert str(error.value) == "ALERT_HEARTBEAT_URL: expected an http:// or https:// URL"


def test_the_heartbeat_url_is_a_secret() -> None:
    settings = load({"ALERT_HEARTBEAT_URL": f"https://hc-ping.com/{TOKEN}"})
    assert TOKEN not in repr(settings)
    assert f"https://hc-ping.com/{TOKEN}" in settings.secrets()
