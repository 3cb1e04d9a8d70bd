"""The web behind its proxies, against the real app (PostgreSQL and Valkey real): the origin lock (ORIGIN_SECRET),
redirects that never name the request's Host, deeply nested JSON bodies, and the viewer's address in the access
log (TRUSTED_PROXY_HOPS), the last through gunicorn with the Procfile's command."""

from __future__ import annotations

import re

import flask
import pytest

from dashapp.edge import HEALTH_CHECKS, ORIGIN_HEADER
from dashapp.factory import create_app
from jobs.result import utcnow
from jobs.settings import load
from sandbox.embedded import free_port
from tests.access_support import access_env
from tests.security.procfile import Process, fetch
from tests.stack_support import wait_until
from tests.web_support import write_cycle

ORIGIN_SECRET = "origin-7c1e9a0b5d2f48e6a3b1c9d0e7f2a4b6"
FORGED_HOST = "evil.example"
RQ_LOGIN = {"RQ_DASHBOARD_USERNAME": "ops", "RQ_DASHBOARD_PASSWORD": "rq-password-for-edge-tests"}
# JSON nested far deeper than Python's parser recursion limit (1000).
NESTED = "[" * 100_000 + "]" * 100_000


def client_for(env: dict[str, str]):  # type: ignore[no-untyped-def]
    settings = load(env)
    app = create_app(settings)
    write_cycle(settings, utcnow())
    return app.server.test_client()


def every_path(server, methods: frozenset[str] = frozenset({"GET"})) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every route of the URL map, its variables filled in."""
    found = set()
    for rule in server.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "0", rule.rule))
        found.update((method, path) for method in rule.methods & methods)
    return sorted(found)


def test_with_an_origin_secret_only_requests_carrying_it_are_served(base_env: dict[str, str]) -> None:
    client = client_for({**base_env, **RQ_LOGIN, "ORIGIN_SECRET": ORIGIN_SECRET})
    requests = [*every_path(client.application, frozenset({"GET", "POST"})), ("GET", "/api"), ("GET", "/nope")]
    wrong = (
        {},
        {ORIGIN_HEADER: ORIGIN_SECRET[:-1]},
        {ORIGIN_HEADER: ORIGIN_SECRET + "x"},
        {ORIGIN_HEADER: ""},
        {ORIGIN_HEADER: ORIGIN_SECRET[:-1] + "é"},  # not ASCII: refused, never a TypeError
        {"X-Origin-Verify-Not": ORIGIN_SECRET},
    )
    for method, path in requests:
        if path in HEALTH_CHECKS:
            continue
        for headers in wrong:
            response = client.open(path, method=method, headers=headers)
            assert response.status_code == 403, (method, path, headers, response.status_code)
            assert response.get_data() == b"Forbidden: this site answers only through its public address.\n"
            assert response.headers["Cache-Control"] == "no-store"
    # With the header, everything answers as it would without a lock.
    right = {ORIGIN_HEADER: ORIGIN_SECRET}
    assert client.get("/api/status", headers=right).status_code == 200
    assert client.get("/", headers=right).status_code == 200
    assert client.get("/rq/", headers=right).status_code == 401, "then /rq's own login"
    # The platform's health checks come without it; nothing under them is exempt.
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (200, {"status": "ok"}), "PostgreSQL and Valkey are up"
    assert client.get("/healthz/x").status_code == 403


def test_without_an_origin_secret_nothing_is_locked(base_env: dict[str, str]) -> None:
    client = client_for(base_env)
    assert client.get("/api/status").status_code == 200
    assert client.get("/api/status", headers={ORIGIN_HEADER: "anything"}).status_code == 200


@pytest.mark.parametrize("mode", ["none", "basic", "oidc"])
def test_no_redirect_names_the_requests_host(base_env: dict[str, str], oidc_issuer: str, mode: str) -> None:
    # Behind CloudFront the OIDC redirect URI is built from PUBLIC_URL, as the deployment sets it.
    public_url = {"PUBLIC_URL": "https://status.example.com"} if mode == "oidc" else {}
    client = client_for({**base_env, **access_env(mode, oidc_issuer), **RQ_LOGIN, **public_url})
    extra = ["/api", "/badge", "/rq", "/operator", "/login", "/logout", "/status", "//evil.example/api", "/api//x"]
    paths = [path for _, path in every_path(client.application)] + extra
    redirects = 0
    for path in paths:
        for base_url in (f"http://{FORGED_HOST}", f"https://{FORGED_HOST}:8443"):
            response = client.get(path, base_url=base_url)
            location = response.headers.get("Location")
            if location is None:
                continue
            redirects += 1
            assert FORGED_HOST not in location, (path, location)
            if location.startswith(oidc_issuer):
                assert mode == "oidc", "only the sign-in goes to the provider"
                continue
            assert location.startswith("/") and not location.startswith("//"), (path, location)
    assert redirects >= 4, "the routes that redirect (/api, /badge, sign-in) were asked"
    response = client.get("/api", base_url=f"http://{FORGED_HOST}")
    expected = (308, "/api/") if mode == "none" else (302, "/login?next=%2Fapi")
    assert (response.status_code, response.headers["Location"]) == expected


def test_a_deeply_nested_json_body_is_a_400_everywhere(base_env: dict[str, str]) -> None:
    client = client_for({**base_env, **RQ_LOGIN})
    response = client.post("/_dash-update-component", data=NESTED, content_type="application/json")
    assert response.status_code == 400, response.get_data()[:300]
    # The same one-line JSON answer as any body that is not JSON at all.
    unparsable = client.post("/_dash-update-component", data="{", content_type="application/json")
    assert response.get_json() == unparsable.get_json()
    assert response.get_json()["error"].startswith("400 Bad Request:") and "\n" not in response.get_json()["error"]
    # Every other route that takes a POST: never a 500 either.
    for method, path in every_path(client.application, frozenset({"POST", "PUT", "PATCH", "DELETE"})):
        response = client.open(path, method=method, data=NESTED, content_type="application/json")
        assert response.status_code < 500, (method, path, response.status_code)
    assert client.get("/healthz").status_code == 200


def test_the_access_log_names_the_viewer_not_the_proxy_nor_what_the_viewer_claims(
    base_env: dict[str, str], tmp_path
) -> None:
    """CloudFront appends the viewer's address, App Platform's ingress CloudFront's: two trusted hops."""
    port = free_port()
    env = {**base_env, "PORT": str(port), "BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": "1"}
    web = Process("web", {**env, "TRUSTED_PROXY_HOPS": "2", "ORIGIN_SECRET": ORIGIN_SECRET}, tmp_path)
    base = f"http://127.0.0.1:{port}"
    through_cloudfront = {
        ORIGIN_HEADER: ORIGIN_SECRET,
        # What the viewer forged, the viewer (added by CloudFront), CloudFront's edge (added by the ingress).
        "X-Forwarded-For": "6.6.6.6, 203.0.113.7, 198.51.100.1",
    }
    try:
        wait_until(lambda: fetch(base + "/healthz")[0] == 200, 60, "gunicorn")
        assert fetch(base + "/api/status?viewer", headers=through_cloudfront)[0] == 200
        # The default *.ondigitalocean.app address, skipping CloudFront: refused, and logged as such.
        assert fetch(base + "/api/status?direct", headers={"X-Forwarded-For": "6.6.6.6"})[0] == 403
        # gunicorn logs a request after answering it: wait for the line before stopping the process.
        logged = lambda: '"GET /api/status?direct ' in "\n".join(web.output().values())  # noqa: E731
        wait_until(logged, 10, "the access log's line")
    finally:
        web.stop()
    lines = "\n".join(web.output().values()).splitlines()
    viewer = [line for line in lines if '"GET /api/status?viewer ' in line]
    assert len(viewer) == 1 and viewer[0].startswith("203.0.113.7 - - "), lines[-10:]
    direct = [line for line in lines if '"GET /api/status?direct ' in line]
    # One hop given where two are trusted: nothing believed, the connecting address logged.
    assert len(direct) == 1 and direct[0].startswith("127.0.0.1 - - ") and " 403 " in direct[0], lines[-10:]
    assert ORIGIN_SECRET not in "\n".join(lines)


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "seen"),
    [
        ("0", "6.6.6.6", "10.1.2.3"),  # the default: X-Forwarded-For is not read at all
        ("1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        ("2", "6.6.6.6, 203.0.113.9, 198.51.100.1", "203.0.113.9"),
        ("2", "203.0.113.9", "10.1.2.3"),  # fewer entries than trusted hops: none believed
    ],
)
def test_the_app_sees_the_address_trusted_hops_give(
    base_env: dict[str, str], hops: str, forwarded_for: str, seen: str
) -> None:
    client = client_for({**base_env, "TRUSTED_PROXY_HOPS": hops, "ORIGIN_SECRET": ORIGIN_SECRET})
    # A view of this test's own, added before the first request: what the app takes for the client's address.
    client.application.add_url_rule("/test-remote-addr", "test_remote_addr", lambda: flask.request.remote_addr)
    response = client.get(
        "/test-remote-addr",
        headers={"X-Forwarded-For": forwarded_for, ORIGIN_HEADER: ORIGIN_SECRET},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.get_data(as_text=True) == seen
