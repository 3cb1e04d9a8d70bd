"""Property-based HTTP tests over every path and parameter of the web, against real PostgreSQL and Valkey.

Bad input is a 4xx with a one-line JSON error on the API's paths (the Dash page, 200, on the page's own
paths); never a 500; the server is healthy afterwards. A smaller run goes through a real gunicorn for what
only a real server sees (raw request lines, NUL bytes, oversized lines).
"""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import re
import socket
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashapp.callback_guard import MAX_BODY_BYTES
from dashapp.factory import create_app
from dashapp.ranges import RANGES
from jobs import settings as settings_module
from jobs.result import SERVICE_NAMES, utcnow
from sandbox.embedded import free_port
from tests.security.callback_payloads import page_payloads, payload
from tests.security.procfile import Process, fetch
from tests.stack_support import wait_until
from tests.web_support import write_cycle

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON_PATHS = ("/api/", "/badge/", "/healthz", "/readyz", "/metrics", "/_dash-")
CALLBACK = "/_dash-update-component"
RQ_USER, RQ_PASSWORD = "ops", "rq-pass-9d2e-long-enough"

NASTY = st.sampled_from(
    [
        "..",
        "../",
        "%2e%2e%2f",
        "%2e%2e/",
        "..%2f",
        "%00",
        "%ff",
        "%",
        "%zz",
        "/etc/passwd",
        "\u202e",
        "😀",
        "~",
        ";",
        "'",
    ]
)
TEXT = st.one_of(st.text(max_size=40), NASTY, st.text(min_size=1, max_size=3).map(lambda t: t * 2000))
PARAM = st.one_of(st.sampled_from([*SERVICE_NAMES, *RANGES, ""]), TEXT)


@pytest.fixture
def client(base_env: dict[str, str]):
    env = {**base_env, "RQ_DASHBOARD_USERNAME": RQ_USER, "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD}
    loaded = settings_module.load(env)
    app = create_app(loaded)
    write_cycle(loaded, utcnow())
    client = app.server.test_client()
    client.application.config["DASH_APP"] = app
    yield client
    assert client.get("/healthz").status_code == 200, "the server must be healthy after the run"
    assert client.get("/api/status").status_code == 200


def _check(response, path: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code < 500, (path, response.status_code, response.get_data()[:300])
    if response.status_code >= 400 and path.startswith(JSON_PATHS) and response.request.method != "HEAD":
        assert response.is_json, (path, response.status_code)
        message = response.get_json()["error"]
        assert message and "\n" not in message and len(message) < 400


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


@FUZZ
@given(
    pairs=st.lists(st.tuples(st.sampled_from(["service", "range", "x", "service[]", ""]), PARAM), max_size=5),
)
def test_history_parameters_unknown_huge_unicode_or_repeated_are_a_4xx_json(client, pairs) -> None:
    response = client.get(f"/api/history?{_query(pairs)}")
    _check(response, "/api/history")
    services = [v for k, v in pairs if k == "service"]
    ranges = [v for k, v in pairs if k == "range"]
    valid = len(services) == 1 and services[0] in SERVICE_NAMES and len(ranges) == 1 and ranges[0] in RANGES
    assert response.status_code == (200 if valid else 400)
    assert response.is_json


@FUZZ
@given(
    path=st.sampled_from(["/api/status", "/healthz", "/readyz", "/metrics", "/"]),
    query=st.lists(st.tuples(TEXT, TEXT), max_size=4),
)
def test_fixed_paths_ignore_any_query_string(client, path: str, query) -> None:
    response = client.get(f"{path}?{_query(query)}")
    _check(response, path)
    assert response.status_code == 200


@FUZZ
@given(name=st.one_of(st.sampled_from([f"{s}.svg" for s in SERVICE_NAMES]), TEXT, TEXT.map(lambda t: t + ".svg")))
def test_badge_of_any_name_is_an_svg_or_a_404_json(client, name: str) -> None:
    response = client.get("/badge/" + quote(name, safe="/"))
    _check(response, "/badge/")
    if name.removesuffix(".svg") in SERVICE_NAMES and name.endswith(".svg"):
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    else:
        assert response.status_code == 404


@FUZZ
@given(
    prefix=st.sampled_from(["/", "/api/", "/badge/", "/assets/", "/rq/", "/_dash-component-suites/dash/", "/_dash-"]),
    segments=st.lists(st.one_of(TEXT, NASTY), max_size=4),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]),
)
def test_any_path_and_method_is_never_a_500(client, prefix: str, segments, method: str) -> None:
    # A leading '//' would make the client read a host name out of the path.
    path = "/" + (prefix + "/".join(quote(s, safe="%") for s in segments)).lstrip("/")
    response = client.open(path, method=method)
    _check(response, path)
    if path.startswith("/rq"):
        assert response.status_code in (401, 404), "no credentials: never the dashboard"


def test_the_page_and_its_callbacks_answer_as_the_browser_asks(client) -> None:
    app = client.application.config["DASH_APP"]
    assert client.get("/").status_code == 200
    for name, body in page_payloads(app).items():
        response = client.post(CALLBACK, json=body)
        assert response.status_code in (200, 204), (name, response.get_data()[:300])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(data=st.data())
def test_callbacks_with_any_values_never_500(client, data) -> None:
    """Well-formed calls of the page's own callbacks with whatever values a client may send."""
    app = client.application.config["DASH_APP"]
    callback_id = data.draw(st.sampled_from(sorted(app.callback_map)))
    callback = app.callback_map[callback_id]
    deps = [*callback["inputs"], *callback["state"]]
    values = data.draw(st.lists(JSON_VALUES, min_size=len(deps), max_size=len(deps)))
    body = payload(callback_id, callback, values)
    changed = [f"{d['id']}.{d['property']}" for d in callback["inputs"]]
    body["changedPropIds"] = data.draw(st.lists(st.sampled_from(changed), max_size=2))
    response = client.post(CALLBACK, json=body)
    assert response.status_code in (200, 204), response.get_data()[:300]


@FUZZ
@given(data=st.data())
def test_malformed_callback_requests_are_a_4xx_json(client, data) -> None:
    """Not JSON, wrong shapes, unknown outputs and inputs, wrong content types."""
    app = client.application.config["DASH_APP"]
    valid = data.draw(st.sampled_from(list(page_payloads(app).values())))
    mutated = dict(valid)
    key = data.draw(st.sampled_from(["output", "outputs", "inputs", "state", "changedPropIds", "extra"]))
    mutated[key] = data.draw(JSON_VALUES)
    body = data.draw(
        st.one_of(
            JSON_VALUES.map(lambda v: json.dumps(v).encode()),
            st.just(json.dumps(mutated).encode()),
            st.binary(max_size=200),
        )
    )
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    response = client.post(CALLBACK, data=body, content_type=content_type)
    assert response.status_code < 500, response.get_data()[:300]
    if response.status_code >= 400:
        assert response.is_json and "\n" not in response.get_json()["error"]


def test_a_huge_callback_body_is_refused_with_413(client) -> None:
    response = client.post(CALLBACK, data=b"[" + b"0," * MAX_BODY_BYTES + b"0]", content_type="application/json")
    assert response.status_code == 413
    assert response.is_json


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


_EXAMPLES = itertools.count()


@FUZZ
@given(user=st.one_of(st.just(RQ_USER), st.text(max_size=20)), password=st.one_of(st.just(RQ_PASSWORD), st.text()))
def test_rq_on_the_real_app_opens_only_with_the_right_credentials(client, user: str, password: str) -> None:
    # Each example from an address of its own: the failed-login limit (tests/test_deploy_security.py) would
    # otherwise answer 429 after the first few wrong guesses.
    n = next(_EXAMPLES)
    viewer = {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
    response = client.get("/rq/", headers=_basic(user, password), environ_base=viewer)
    if (user, password) == (RQ_USER, RQ_PASSWORD):
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert RQ_PASSWORD not in response.get_data(as_text=True)
    assert client.get("/rq/").status_code == 401
    assert client.get("/rq/", headers={"Authorization": "Basic !!notbase64"}).status_code == 401


def test_rq_unknown_paths_with_the_right_credentials_are_404_not_the_page(client) -> None:
    response = client.get("/rq/no/such/page", headers=_basic(RQ_USER, RQ_PASSWORD))
    assert response.status_code == 404


def test_rq_credentials_are_compared_in_constant_time(client, monkeypatch) -> None:
    """Every request to /rq compares both fields with hmac.compare_digest, whichever is wrong: no early exit
    and no `==` whose timing would tell an attacker how much of a guess was right."""
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def recorded(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return constant_time(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recorded)
    # Guesses as long as the right values, each one character off, so only the comparison can tell them apart.
    user, password = RQ_USER[:-1] + "x", RQ_PASSWORD[:-1] + "x"
    for given_user, given_password, status in (
        (user, RQ_PASSWORD, 401),
        (RQ_USER, password, 401),
        (user, password, 401),
        (RQ_USER, RQ_PASSWORD, 200),
    ):
        compared.clear()
        response = client.get("/rq/", headers=_basic(given_user, given_password))
        assert response.status_code == status, (given_user, given_password)
        expected = [(given_user.encode(), RQ_USER.encode()), (given_password.encode(), RQ_PASSWORD.encode())]
        assert compared == expected


# --- a real gunicorn, for what only a real server sees ------------------------------------------------------------


@pytest.fixture
def gunicorn(base_env: dict[str, str], tmp_path):
    port = free_port()
    env = {**base_env, "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}
    web = Process("web", env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: fetch(base + "/healthz")[0] == 200, 60, "gunicorn")
    yield port
    assert fetch(base + "/healthz")[0] == 200, "gunicorn must still be healthy"
    assert fetch(base + "/api/status")[0] == 200
    web.stop()
    output = "\n".join(web.output().values())
    assert "Traceback" not in output, output[-3000:]


def _raw(port: int, request_line: bytes) -> int:
    """Send one raw request line; the status code of the answer (0 when the server just closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


RAW_TARGETS = st.one_of(
    st.binary(max_size=60).map(lambda b: b"/" + b.replace(b" ", b"").replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from(
        [
            b"/../../etc/passwd",
            b"/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            b"/api/history?service=postgres%00&range=1h",
            b"/api/\x00",
            b"/badge/..%2f..%2fjobs%2fdefaults.py.svg",
            b"/assets/../jobs/defaults.py",
            b"/assets/%2e%2e/jobs/defaults.py",
            b"/api/history?" + b"service=postgres&" * 400 + b"range=1h",
            b"/" + b"a" * 9000,
            b"http://evil.example/api/status",
            b"*",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=RAW_TARGETS, method=st.sampled_from([b"GET", b"POST", b"HEAD", b"BREW"]))
def test_raw_request_lines_through_gunicorn_are_never_a_500(gunicorn: int, target: bytes, method: str) -> None:
    status = _raw(gunicorn, method + b" " + target + b" HTTP/1.1")
    assert status == 0 or status < 500, (method, target, status)


def test_every_request_is_one_access_log_line(base_env: dict[str, str], tmp_path) -> None:
    port = free_port()
    web = Process("web", {**base_env, "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: fetch(base + "/healthz")[0] == 200, 60, "gunicorn")
        assert fetch(base + "/api/history?service=postgres&range=1h")[0] == 200
        assert fetch(base + "/api/nope")[0] == 404
    finally:
        web.stop()
    lines = "\n".join(web.output().values()).splitlines()
    stamp = r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]"
    tail = r'\d+ "-" "[^"]*" \d+\.\dms$'  # bytes, referrer, user agent, time taken
    for request, status in (("GET /api/history?service=postgres&range=1h", 200), ("GET /api/nope", 404)):
        pattern = re.compile(rf'^127\.0\.0\.1 - - {stamp} "{re.escape(request)} HTTP/1\.1" {status} {tail}')
        assert sum(bool(pattern.match(line)) for line in lines) == 1, (request, lines[-10:])
