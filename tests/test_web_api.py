"""The HTTP API, health endpoints, metrics and badge on the real Flask server against a real PostgreSQL/Valkey."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from dashapp import snapshot
from dashapp.factory import create_app
from dashapp.reader import Reader
from jobs import settings as settings_module
from jobs import store
from jobs.defaults import BOARD_READ_S, STALE_AFTER_INTERVALS
from jobs.result import SERVICE_NAMES, Status, utcnow
from sandbox.embedded import free_port
from tests.security.procfile import Process, fetch, fetch_json
from tests.stack_support import wait_until
from tests.web_support import ENDPOINTS, metric_samples, result, seed_history, write_cycle


def build(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_module.load()
    app = create_app(settings)
    return settings, app.server.test_client()


@pytest.fixture
def web(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    settings, client = build({**base_env, "PROBE_INTERVAL_S": "60", "PROBE_TIMEOUT_S": "5"}, monkeypatch)
    seed_history(settings, utcnow())
    return settings, client


def test_status_lists_four_services_in_order_with_computed_status(web) -> None:
    _, client = web
    response = client.get("/api/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    services = body["services"]
    assert [s["service"] for s in services] == list(SERVICE_NAMES)
    assert [s["name"] for s in services] == list(SERVICE_NAMES.values())
    assert [s["status"] for s in services] == ["up", "degraded", "down", "not_configured"]
    assert [s["endpoint"] for s in services] == list(ENDPOINTS.values())
    postgres = services[0]
    assert postgres["phases"] == {"connect": pytest.approx(7.5), "read": pytest.approx(5.0)}
    assert postgres["error"] is None
    # Every 7th seeded check was down: the 24 h uptime says so.
    assert 0.8 < postgres["uptime_24h"] < 0.9
    assert services[2]["error"] == "roles_anywhere check failed: connection refused"
    assert services[2]["detail"]["cert_days_left"] == 200
    assert body["generated_at"].endswith("+00:00")


def test_status_marks_stale_when_worker_stops_reporting(base_env, monkeypatch) -> None:
    settings, client = build(base_env, monkeypatch)  # PROBE_INTERVAL_S=2: stale after 5 s
    write_cycle(settings, utcnow() - timedelta(seconds=30))
    services = client.get("/api/status").get_json()["services"]
    assert {s["status"] for s in services} == {"stale"}
    assert all(s["reason"].startswith("worker not reporting since ") for s in services)
    metrics = metric_samples(client.get("/metrics").get_data(as_text=True))
    assert all(metrics["hybrid_monitor_stale", s] == 1 and metrics["hybrid_monitor_up", s] == 0 for s in SERVICE_NAMES)


def test_status_reads_the_store_once_a_second_and_judges_staleness_per_request(base_env, monkeypatch) -> None:
    settings, client = build({**base_env, "PROBE_INTERVAL_S": "60"}, monkeypatch)
    write_cycle(settings, utcnow(), latency_ms=10)
    first = client.get("/api/status").get_json()["services"]
    write_cycle(settings, utcnow() + timedelta(seconds=1), latency_ms=20)
    # A burst of requests shares one read of the store ...
    assert client.get("/api/status").get_json()["services"] == first
    # ... and the next read, a second later, shows the newer cycle.
    assert wait_until(lambda: client.get("/api/status").get_json()["services"][0]["latency_ms"] == 20, 2 * BOARD_READ_S)
    # What is shared is the read, not the verdict: judged a minute later, the same read is stale.
    reader = Reader(settings)
    now = utcnow()
    judged = snapshot.read_board(reader, settings, now)
    assert {v.status for v in judged.views} != {"stale"}
    # Judged once per read while no result of it goes stale ...
    assert snapshot.read_board(reader, settings, now + timedelta(milliseconds=200)) is judged
    later = snapshot.read_board(reader, settings, now + timedelta(seconds=STALE_AFTER_INTERVALS * 60 + 1))
    assert {v.status for v in later.views} == {"stale"}
    reader.close()


def test_status_with_nothing_stored_says_so(base_env, monkeypatch) -> None:
    _, client = build(base_env, monkeypatch)
    services = client.get("/api/status").get_json()["services"]
    assert len(services) == 4
    assert {s["status"] for s in services} == {"stale"}
    assert all(s["checked_at"] is None and "no check stored yet" in s["error"] for s in services)


def test_history_is_downsampled_and_range_dependent(web) -> None:
    _, client = web
    hour = client.get("/api/history?service=postgres&range=1h")
    assert hour.status_code == 200
    assert hour.headers["Cache-Control"] == "no-store"
    body = hour.get_json()
    assert (body["service"], body["range"]) == ("postgres", "1h")
    assert 5 <= len(body["points"]) <= 7
    point = body["points"][0]
    assert set(point) == {"t", "latency_ms_p50", "latency_ms_max", "up_ratio", "checks"}
    assert point["t"].endswith("+00:00")
    week = client.get("/api/history?service=postgres&range=7d").get_json()["points"]
    # 431 seeded checks every 10 minutes over three days, plus the latest, in hourly buckets: none lost.
    assert 1 < len(week) <= 7 * 24 + 1
    assert sum(p["checks"] for p in week) == 432
    year = client.get("/api/history?service=valkey&range=365d").get_json()["points"]
    assert len(year) <= 500


def test_history_of_more_checks_than_points_merges_them_without_losing_one(base_env, monkeypatch) -> None:
    """A day of checks every minute, as production runs (1440), is more than the 500 points a chart gets."""
    settings, client = build(base_env, monkeypatch)
    now = utcnow()
    seeded = [now - timedelta(minutes=minutes) for minutes in range(1, 24 * 60 - 5)]
    conn = store.connect(settings.postgres, 10)
    store.migrate(conn)
    for at in seeded:
        store.write_results(conn, [result("postgres", at, Status.UP, 5.0)], slot=at)
    conn.close()
    points = client.get("/api/history?service=postgres&range=24h").get_json()["points"]
    assert len(seeded) > 500 >= len(points) > 1
    assert sum(p["checks"] for p in points) == len(seeded)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("range=1h", 400, "missing query parameter 'service'; accepted: postgres, valkey"),
        ("service=postgres", 400, "missing query parameter 'range'; accepted: 1h, 6h, 24h, 7d, 30d, 365d"),
        ("service=mysql&range=1h", 400, "unknown service 'mysql'; accepted: postgres, valkey"),
        ("service=postgres&range=2h", 400, "unknown range '2h'; accepted: 1h, 6h"),
        ("service=postgres&service=valkey&range=1h", 400, "'service' given 2 times"),
        ("service=postgres&range=1h&range=6h", 400, "'range' given 2 times"),
        ("service=" + "p" * 5000 + "&range=1h", 400, "longer than 64 characters"),
        ("service=%00%ff&range=1h", 400, "unknown service"),
        ("service=../../etc/passwd&range=1h", 400, "unknown service '../../etc/passwd'"),
    ],
)
def test_history_bad_input_is_a_one_line_4xx_json(web, query: str, status: int, message: str) -> None:
    _, client = web
    response = client.get(f"/api/history?{query}")
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert message in error
    assert "\n" not in error and len(error) < 300


def test_history_ignores_unknown_parameters(web) -> None:
    _, client = web
    assert client.get("/api/history?service=postgres&range=1h&colour=blue").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/nope", 404),
        ("GET", "/api/", 404),
        ("GET", "/api/status/../../secrets", 404),
        ("POST", "/api/status", 405),
        ("DELETE", "/api/history", 405),
        ("GET", "/badge/mysql.svg", 404),
        ("GET", "/badge/postgres.png", 404),
        ("GET", "/badge/", 404),
        ("POST", "/healthz", 405),
    ],
)
def test_unknown_paths_and_methods_are_json_errors(web, method: str, path: str, status: int) -> None:
    _, client = web
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"]


def test_healthz_and_readyz(web) -> None:
    _, client = web
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ok"}


def test_readyz_says_only_not_ready_and_logs_what_is_unreachable(base_env, monkeypatch, caplog) -> None:
    from sandbox.embedded import free_port

    port = free_port()
    env = {**base_env, "VALKEY_URL": f"redis://:hunter2secret@127.0.0.1:{port}/0"}
    _, client = build(env, monkeypatch)
    with caplog.at_level("WARNING", logger="dashapp.api"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready"}
    logged = [r.getMessage() for r in caplog.records if r.name == "dashapp.api"]
    assert len(logged) == 1 and "Valkey: " in logged[0] and "PostgreSQL" not in logged[0], logged
    assert "hunter2secret" not in logged[0]


def test_api_when_postgres_is_unreachable_is_503_json_without_secrets(valkey_url, monkeypatch) -> None:
    from sandbox.embedded import free_port

    env = {"DATABASE_URL": f"postgresql://monitor:hunter2secret@127.0.0.1:{free_port()}/db", "VALKEY_URL": valkey_url}
    _, client = build(env, monkeypatch)
    for path in ("/api/status", "/api/history?service=postgres&range=1h"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.get_json()["error"].startswith("temporarily unavailable: PostgreSQL: ")
        assert "hunter2secret" not in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "hunter2secret" not in metrics
    assert metric_samples(metrics) == {("hybrid_monitor_store_up", None): 0}
    page = client.get("/")
    assert page.status_code == 200


def test_metrics_from_the_store(web) -> None:
    _, client = web
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "hybrid_monitor_store_up 1.0" in text
    assert 'hybrid_monitor_up{service="postgres"} 1.0' in text
    assert 'hybrid_monitor_up{service="roles_anywhere"} 0.0' in text
    assert 'hybrid_monitor_latency_seconds{service="postgres"} 0.0125' in text
    assert re.search(r'hybrid_monitor_last_check_timestamp_seconds\{service="valkey"\} \d\.\d+e\+09', text)
    # 431 seeded checks, every 7th down (62), plus the latest roles_anywhere check, which is down.
    assert 'hybrid_monitor_failed_checks_total{service="postgres"} 62.0' in text
    assert 'hybrid_monitor_failed_checks_total{service="roles_anywhere"} 63.0' in text
    # Fresh checks: nothing stale. The 24 h uptime is the one the API reports, for the services it has one.
    metrics = metric_samples(text)
    assert [metrics["hybrid_monitor_stale", s] for s in SERVICE_NAMES] == [0, 0, 0, 0]
    services = client.get("/api/status").get_json()["services"]
    uptime = {s["service"]: s["uptime_24h"] for s in services if s["uptime_24h"] is not None}
    assert {s: v for (name, s), v in metrics.items() if name == "hybrid_monitor_uptime_24h_ratio"} == uptime
    assert 0.8 < uptime["postgres"] < 0.9 and set(uptime) >= {"postgres", "valkey", "roles_anywhere"}


@pytest.mark.parametrize(("service", "word"), [("postgres", "up"), ("valkey", "degraded"), ("roles_anywhere", "down")])
def test_badge_is_svg_with_status_and_uptime(web, service: str, word: str) -> None:
    _, client = web
    response = client.get(f"/badge/{service}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "no-store"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg ")
    assert f"{SERVICE_NAMES[service]}: {word} · " in svg
    assert re.search(r"\d+\.\d% 24h", svg)


def test_dash_page_is_served(web) -> None:
    _, client = web
    page = client.get("/")
    assert page.status_code == 200
    assert "Hybrid Integration Monitor" in page.get_data(as_text=True)


def test_web_entry_point_exits_2_with_one_line_on_a_bad_setting(base_env) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**base_env, "PATH": "/usr/bin:/bin", "PROBE_INTERVAL_S": "often"}
    done = subprocess.run(
        [sys.executable, "-c", "import dashapp.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: PROBE_INTERVAL_S: expected a whole number from 1 to 3600, got 'often'"
    ]


def test_web_entry_point_serves_with_gunicorn(base_env: dict[str, str], tmp_path: Path) -> None:
    """The Procfile's `web` command, as production runs it (gunicorn with dashapp.gunicorn_conf), two workers."""
    port = free_port()
    env = {**base_env, "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "2"}
    web = Process("web", env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = wait_until(lambda: fetch_json(base + "/api/status"), 60, "gunicorn to answer /api/status")
        assert status == 200 and len(body["services"]) == len(SERVICE_NAMES), body
        assert fetch(base + "/readyz")[0] == 200
    finally:
        web.stop()
    # The config's bind (PORT) answered above; its worker count (WEB_CONCURRENCY) is in gunicorn's log.
    assert web.output()["web.stderr"].count("Booting worker") == 2, web.output()
