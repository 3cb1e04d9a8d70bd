"""Security headers and the /rq dashboard's basic auth, over real HTTP, with a real Valkey behind /rq."""

from __future__ import annotations

import base64
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import flask
import pytest
import redis
import rq
from werkzeug.serving import make_server

from dashapp import security
from dashapp.edge import ORIGIN_HEADER
from dashapp.factory import create_app
from dashapp.login_limit import FailedLogins
from jobs import queueing, tasks
from jobs import settings as settings_module
from jobs.defaults import LOGIN_FAILURES, LOGIN_WINDOW_S
from tests.rq_support import OpenOnLoad

Serve = Callable[[dict[str, str]], str]
RQ_PASSWORD = "s3cret-pw-for-the-rq-tests"
ORIGIN_SECRET = "origin-secret-for-the-rq-tests-0123456789"
RQ_LOGIN = {"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD}


def _page_app() -> flask.Flask:
    app = flask.Flask("page")
    app.add_url_rule("/", "index", lambda: "<html><body>ok</body></html>")
    # Like Dash, a catch-all route: /rq must still be 404 when the dashboard is off.
    app.add_url_rule("/<path:path>", "catch_all", lambda path: f"page {path}")
    return app


@pytest.fixture
def http() -> Iterator[Callable[[flask.Flask], str]]:
    """Serve a Flask app over real HTTP until the test ends; returns its base URL."""
    servers = []

    def start(app: flask.Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def serve(http: Callable[[flask.Flask], str]) -> Serve:
    """A stand-in page app with security.install(), served; returns its base URL."""

    def start(env: dict[str, str]) -> str:
        app = _page_app()
        security.install(app, settings_module.load(env), script_hashes=["'sha256-abc='"])
        return http(app)

    return start


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], str]:
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (our own local server)
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_every_response_carries_the_security_headers(serve: Serve) -> None:
    base = serve({"ASSETS_BASE_URL": "https://cdn.example.net/"})
    for path in ("/", "/missing/page"):
        status, headers, _ = _get(base + path)
        assert status == 200
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self' 'sha256-abc='" in csp
        assert "unsafe-eval" not in csp
        assert "style-src 'self' 'unsafe-inline' https://cdn.example.net" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in headers, "no HSTS over plain HTTP"


def test_the_product_app_sends_the_security_headers_on_pages_api_and_errors(
    http: Callable[[flask.Flask], str], base_env: dict[str, str]
) -> None:
    """The same headers on the real app (`create_app`), whatever answers: the Dash page, the API, a 404."""
    base = http(create_app(settings_module.load(base_env)).server)
    for path, expected in (
        ("/", 200),
        ("/api/status", 200),
        ("/api/history?service=nope&range=1h", 400),
        ("/api/nope", 404),
        ("/healthz", 200),
    ):
        status, headers, _ = _get(base + path)
        assert status == expected, path
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        # Dash's inline scripts are allowed by their hashes, never by 'unsafe-inline' or 'unsafe-eval'.
        assert re.search(r"script-src 'self'( 'sha256-[A-Za-z0-9+/=]+')+(;|$)", csp), csp
        assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"]) == ("nosniff", "DENY"), path
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin", path
        assert "Strict-Transport-Security" not in headers, path
        _, headers, _ = _get(base + path, {"X-Forwarded-Proto": "https"})
        assert headers["Strict-Transport-Security"] == security.HSTS, path


def test_hsts_only_when_the_proxy_says_https(serve: Serve) -> None:
    base = serve({})
    _, headers, _ = _get(base + "/", {"X-Forwarded-Proto": "https"})
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    _, headers, _ = _get(base + "/", {"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in headers


def test_rq_is_404_without_credentials_configured(serve: Serve, valkey_url: str) -> None:
    base = serve({"VALKEY_URL": valkey_url})
    for path in ("/rq", "/rq/", "/rq/0/data/queues.json"):
        status, _, _ = _get(base + path, _basic("anyone", "anything"))
        assert status == 404, path


def test_rq_requires_the_right_credentials(serve: Serve, valkey_url: str) -> None:
    base = serve({"VALKEY_URL": valkey_url, "RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD})
    for headers in ({}, _basic("ops", "wrong"), _basic("other", RQ_PASSWORD), {"Authorization": "Bearer x"}):
        status, response_headers, body = _get(base + "/rq/", headers)
        assert status == 401
        assert response_headers["WWW-Authenticate"].startswith('Basic realm="RQ dashboard"')
        assert RQ_PASSWORD not in body


def test_rq_dashboard_shows_the_real_queue(serve: Serve, valkey_url: str) -> None:
    connection = redis.Redis.from_url(valkey_url)
    queueing.queue(tasks.QUEUE, connection).enqueue(tasks.run_cycle)
    env = {"VALKEY_URL": valkey_url, "RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD}
    base = serve(env)
    status, headers, body = _get(base + "/rq/0/data/queues.json", _basic("ops", RQ_PASSWORD))
    assert status == 200, body
    queues = {q["name"]: q["count"] for q in flask.json.loads(body)["queues"]}
    assert queues["probes"] == 1
    assert headers["Cache-Control"] == "no-store"
    status, headers, page = _get(base + "/rq/", _basic("ops", RQ_PASSWORD))
    assert status == 200
    assert "/rq/static/js/" in page, "the dashboard page and its scripts are served under /rq"
    assert "unsafe-inline" in headers["Content-Security-Policy"]
    # The Valkey password never reaches the page.
    password = redis.connection.parse_url(valkey_url).get("password")
    assert password and password not in page


def test_rq_dashboard_reads_jobs_as_json_and_never_unpickles(serve: Serve, valkey_url: str, tmp_path: Path) -> None:
    """A pickled job someone with Valkey's password queued runs nothing when the operator views it at /rq."""
    connection = redis.Redis.from_url(valkey_url)
    unpickled = tmp_path / "unpickled"
    pickled = rq.Queue(tasks.QUEUE, connection=connection).enqueue(
        tasks.run_cycle, OpenOnLoad(unpickled), meta={"x": OpenOnLoad(unpickled)}
    )
    ours = queueing.queue(tasks.QUEUE, connection).enqueue(tasks.run_cycle)
    env = {"VALKEY_URL": valkey_url, "RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD}
    base = serve(env)
    operator = _basic("ops", RQ_PASSWORD)
    status, _, body = _get(base + "/rq/0/data/jobs/probes/queued/10/asc/1.json", operator)
    assert status == 200, body
    assert [job["description"] for job in flask.json.loads(body)["jobs"]][1] == "jobs.tasks.run_cycle()"
    status, _, body = _get(base + f"/rq/0/data/job/{ours.id}.json", operator)
    assert status == 200, body
    assert flask.json.loads(body)["description"] == "jobs.tasks.run_cycle()"
    _get(base + f"/rq/0/data/job/{pickled.id}.json", operator)
    assert not unpickled.exists(), "the web loaded a pickled job"
    connection.close()


def test_rq_dashboard_changes_nothing_even_for_the_operator(serve: Serve, valkey_url: str) -> None:
    """A cross-site link or form reaches /rq with the browser's cached credentials: it must change nothing."""
    connection = redis.Redis.from_url(valkey_url)
    job = queueing.queue(tasks.QUEUE, connection).enqueue(tasks.run_cycle)
    env = {"VALKEY_URL": valkey_url, "RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD}
    base = serve(env)
    operator = _basic("ops", RQ_PASSWORD)
    for method, path in (
        ("GET", "/rq/requeue/probes"),
        ("POST", "/rq/requeue/probes"),
        ("POST", f"/rq/job/{job.id}/delete"),
        ("POST", f"/rq/job/{job.id}/requeue"),
        ("POST", "/rq/queue/probes/queued/empty"),
        ("POST", "/rq/queue/probes/compact"),
    ):
        status, _, _ = _get(base + path, operator, method)
        assert status == 405, (method, path)
    assert queueing.queue(tasks.QUEUE, connection).job_ids == [job.id]


def test_rq_answers_only_its_read_views(serve: Serve, valkey_url: str) -> None:
    """Every route rq-dashboard registers, with each of its methods: only the allowlisted read views answer."""
    connection = redis.Redis.from_url(valkey_url)
    job = queueing.queue(tasks.QUEUE, connection).enqueue(tasks.run_cycle)
    base = serve({"VALKEY_URL": valkey_url, **RQ_LOGIN})
    operator = _basic("ops", RQ_PASSWORD)
    app = _page_app()
    security.install(app, settings_module.load({"VALKEY_URL": valkey_url, **RQ_LOGIN}))
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("rq_dashboard.")]
    endpoints = {r.endpoint for r in rules}
    assert endpoints >= security.RQ_READ_ENDPOINTS, "an allowlisted view rq-dashboard no longer has"
    assert {"rq_dashboard.requeue_all", "rq_dashboard.empty_queue"} <= endpoints - security.RQ_READ_ENDPOINTS
    values = {
        "instance_number": "0",
        "queue_name": "probes",
        "registry_name": "failed",
        "per_page": "8",
        "order": "asc",
        "page": "1",
        "job_id": job.id,
        "filename": "js/jquery-3.5.1.min.js",
    }
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
            status, _, body = _get(base + path, operator, method)
            if rule.endpoint in security.RQ_READ_ENDPOINTS and method == "GET":
                assert status == 200, (method, path, status, body[:200])
            else:
                assert status == 405, (method, path, status)
    assert queueing.queue(tasks.QUEUE, connection).job_ids == [job.id], "nothing changed the queue"


def test_failed_rq_logins_are_limited_per_address(serve: Serve, valkey_url: str) -> None:
    base = serve({"VALKEY_URL": valkey_url, **RQ_LOGIN})
    for _ in range(LOGIN_FAILURES * 2):  # a browser's first request, without credentials, is no failure
        assert _get(base + "/rq/")[0] == 401
    for _ in range(LOGIN_FAILURES):
        assert _get(base + "/rq/", _basic("ops", "guess"))[0] == 401
    status, headers, body = _get(base + "/rq/", _basic("ops", RQ_PASSWORD))
    assert status == 429, "once blocked, even the right password waits: guessing learns nothing"
    assert 0 < int(headers["Retry-After"]) <= LOGIN_WINDOW_S and "\n" not in body.strip()
    assert _get(base + "/operator/alerts", _basic("ops", RQ_PASSWORD))[0] == 429, "the same login, the same limit"


def test_the_login_limit_counts_the_viewers_address_not_what_it_claims(
    http: Callable[[flask.Flask], str], base_env: dict[str, str]
) -> None:
    """Behind two trusted proxies (TRUSTED_PROXY_HOPS=2), on the real app: a viewer that changes the
    X-Forwarded-For entries it writes itself is still the same viewer; another viewer is not blocked."""
    edge = {"TRUSTED_PROXY_HOPS": "2", "ORIGIN_SECRET": ORIGIN_SECRET}
    base = http(create_app(settings_module.load({**base_env, **RQ_LOGIN, **edge})).server)

    def through_proxies(viewer: str, forged: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"{forged}, {viewer}, 198.51.100.1", ORIGIN_HEADER: ORIGIN_SECRET}

    for n in range(LOGIN_FAILURES):
        status, _, _ = _get(base + "/rq/", {**_basic("ops", "guess"), **through_proxies("203.0.113.7", f"6.6.6.{n}")})
        assert status == 401
    assert _get(base + "/rq/", {**_basic("ops", RQ_PASSWORD), **through_proxies("203.0.113.7", "1.2.3.4")})[0] == 429
    assert _get(base + "/rq/", {**_basic("ops", RQ_PASSWORD), **through_proxies("203.0.113.8", "6.6.6.0")})[0] == 200


def test_a_blocked_address_may_try_again_once_its_failures_leave_the_window() -> None:
    now = [1000.0]
    failures = FailedLogins(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(2):
        failures.failed("203.0.113.7")
    assert failures.wait_s("203.0.113.7") == 0, "two failures of three allowed"
    now[0] += 30
    failures.failed("203.0.113.7")
    assert failures.wait_s("203.0.113.7") == 31, "until the first failure is 60 s old"
    assert failures.wait_s("203.0.113.8") == 0
    now[0] += 30
    assert failures.wait_s("203.0.113.7") == 0
    failures.failed("203.0.113.7")
    failures.failed("203.0.113.7")
    assert failures.wait_s("203.0.113.7") == 31, "the last three failures count (30 s, now, now), not all ever"


def test_credentials_match_checks_both_fields() -> None:
    assert security.credentials_match("ops", "pw", "ops", "pw")
    assert not security.credentials_match("ops", "pw2", "ops", "pw")
    assert not security.credentials_match("op", "pw", "ops", "pw")
    assert not security.credentials_match("", "", "ops", "pw")
