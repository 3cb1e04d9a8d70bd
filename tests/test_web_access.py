"""Who sees what, through Flask's test client against real PostgreSQL and a real OpenID Connect provider:
every route asked anonymously in each AUTH_MODE, sign-in and sign-out (basic and OIDC), refused identities,
tampered and expired cookies, the return-to parameter, CSRF, bearer tokens and the audit log."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from dashapp.auth import COOKIE, is_public, local_path
from dashapp.factory import create_app
from jobs import store
from jobs.defaults import LOGIN_FAILURES, LOGIN_WINDOW_S
from jobs.result import utcnow
from jobs.settings import SettingsError, load
from sandbox.embedded import free_port
from tests.access_support import (
    ALLOWED_DOMAIN,
    ALLOWED_EMAIL,
    API_TOKEN,
    METRICS_TOKEN,
    MODES,
    PASSWORD,
    SECRETS,
    USERNAME,
    access_env,
    basic_sign_in,
    form_token,
    oidc_sign_in,
    provider_answer,
)
from tests.web_support import ENDPOINTS, write_cycle

VALKEY_PASSWORD = "valkey-pass-77aa-secret"
# Paths the URL map does not spell out (query strings, Dash's own, a path nothing takes).
EXTRA = ["/badge/postgres.svg", "/api/history?service=postgres&range=1h", "/assets/style.css", "/no/such/page"]
EXTRA += ["/status", "/status/x", "/healthz/x", "/login/x"]  # public paths no route of ours takes


def build(base_env: dict[str, str], mode: str, issuer: str = "", **extra: str):  # type: ignore[no-untyped-def]
    """The web in this mode over a stored cycle; Valkey is down (a port nobody listens on, with a password),
    so /readyz has something to hide."""
    env = {**base_env, **access_env(mode, issuer), **extra}
    if "VALKEY_URL" not in extra:
        env["VALKEY_URL"] = f"redis://:{VALKEY_PASSWORD}@127.0.0.1:{free_port()}/0"
    settings = load(env)
    app = create_app(settings)
    write_cycle(settings, utcnow())
    return settings, app.server.test_client()


def audit_log(settings) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    conn = store.connect(settings.postgres, 5)
    try:
        return [(e.actor, e.action, e.detail) for e in reversed(store.audit_entries(conn, 100))]
    finally:
        conn.close()


def every_request(server) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) for every route of the URL map (its variables filled in) and EXTRA."""
    found = {("GET", path) for path in EXTRA}
    for rule in server.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "x", re.sub(r"<int:[^>]+>", "0", rule.rule))
        found.update((method, path) for method in rule.methods - {"HEAD", "OPTIONS"})
    return sorted(found)


def hidden(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """{what: text} no stranger may see: data services' hosts and ports, their error texts, every secret."""
    found = {f"secret {n}": s for n, s in enumerate((*SECRETS, VALKEY_PASSWORD, settings.postgres.password))}
    found.update({f"endpoint of {s}": e for s, e in ENDPOINTS.items()})
    found["PostgreSQL port"] = f":{settings.postgres.port}"
    found["Valkey port"] = f":{settings.valkey.port}"
    found.update({"error text": "check failed", "driver error": "Connection refused", "Valkey": "Valkey: "})
    return found


def leaks(body: str, settings) -> list[str]:  # type: ignore[no-untyped-def]
    return [what for what, text in hidden(settings).items() if text and text in body]


@pytest.mark.parametrize("mode", MODES)
def test_every_route_asked_anonymously_only_the_public_ones_answer_and_none_leaks(
    base_env, oidc_issuer, mode: str
) -> None:
    settings, client = build(base_env, mode, oidc_issuer)
    requests = every_request(client.application)
    assert ("GET", "/api/status") in requests and ("POST", "/_dash-update-component") in requests
    answered = []
    for method, path in requests:
        response = client.open(path, method=method, json={} if method == "POST" else None)
        body = response.get_data().decode(errors="replace")
        refused = response.status_code == 401 or (
            response.status_code == 302 and response.location.startswith("/login?next=")
        )
        public = is_public(urlsplit(path).path)
        if path == "/metrics":
            assert response.status_code == 401, "METRICS_TOKEN is set: /metrics wants it, in every mode"
        elif mode == "none":
            assert not refused, (method, path, response.status_code)
        elif not public:
            assert refused, (method, path, response.status_code, body[:200])
        if mode == "none" and not public:
            continue  # mode none shows the board, hosts and errors to anyone, as documented
        assert not leaks(body, settings), (method, path, leaks(body, settings))
        assert not (response.status_code >= 400 and path.startswith("/api/")) or response.is_json
        if not refused:
            answered.append(path)
    # The platform's checks and the badges answer in every mode; /readyz says only that Valkey is missing.
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "not ready"}
    assert client.get("/badge/postgres.svg").status_code == 200
    assert client.get("/assets/style.css").status_code == 200
    assert client.get("/_dash-component-suites/dash/dcc/dash_core_components.js").status_code == 200
    if mode != "none":
        for path in ("/status", "/healthz/x", "/login/x"):  # never the board's page shell
            assert client.get(path).status_code == 404, path
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 302 and page.location == "/login?next=%2F"
        api = client.get("/api/status")
        assert api.status_code == 401 and api.get_json()["error"].startswith("sign-in required")


def test_basic_sign_in_shows_everything_until_sign_out_and_audits_both(base_env) -> None:
    settings, client = build(base_env, "basic")
    answer = basic_sign_in(client, next_path="/api/status?x=1")
    assert answer.status_code == 302 and answer.location == "/api/status?x=1"
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; over HTTPS it is Secure (next test)
    assert client.get("/api/status").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/metrics").status_code == 200  # a signed-in operator may look too
    logout_page = client.get("/logout")
    assert logout_page.status_code == 200 and f"Signed in as {USERNAME}" in logout_page.get_data(as_text=True)
    token = form_token(logout_page.get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 200
    assert client.get("/api/status").status_code == 401
    assert audit_log(settings) == [(USERNAME, "sign-in", "basic"), (USERNAME, "sign-out", "")]


def test_cookie_is_secure_behind_the_platforms_https_proxy(base_env) -> None:
    _, client = build(base_env, "basic")
    page = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    form = {"username": USERNAME, "password": PASSWORD, "csrf_token": form_token(page.get_data(as_text=True))}
    answer = client.post("/login", data=form, headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 302 and "; Secure" in answer.headers["Set-Cookie"]


def test_wrong_password_is_refused_and_audited_without_the_password(base_env, caplog) -> None:
    settings, client = build(base_env, "basic")
    with caplog.at_level("INFO"):
        answer = basic_sign_in(client, password="not-the-password-123")
    assert answer.status_code == 401 and "Wrong username or password." in answer.get_data(as_text=True)
    assert client.get("/api/status").status_code == 401
    assert audit_log(settings) == [("-", "sign-in refused", "basic: wrong username or password")]
    assert any("audit: sign-in refused" in r.getMessage() for r in caplog.records)
    assert not any("not-the-password-123" in r.getMessage() for r in caplog.records)


def test_sign_in_failures_from_one_address_are_limited_even_for_the_right_password(base_env) -> None:
    _, client = build(base_env, "basic")
    for _ in range(LOGIN_FAILURES):
        assert basic_sign_in(client, password="not-the-password-123").status_code == 401
    limited = basic_sign_in(client)  # the right password now waits too: guessing gains nothing
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= LOGIN_WINDOW_S
    assert "Too many failed sign-ins" in limited.get_data(as_text=True)
    assert client.get("/api/status").status_code == 401
    _, other = build(base_env, "basic")  # a web process of its own: its count starts at nought
    assert basic_sign_in(other).status_code == 302


def test_a_post_without_the_csrf_token_is_refused(base_env) -> None:
    _, client = build(base_env, "basic")
    client.get("/login")
    form = {"username": USERNAME, "password": PASSWORD}
    refused = client.post("/login", data=form)
    assert refused.status_code == 403 and "CSRF token" in refused.get_data(as_text=True)
    assert client.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
    assert basic_sign_in(client).status_code == 302
    # Sign-out changes state: without the token it is refused and the operator stays signed in.
    assert client.post("/logout").status_code == 403
    assert client.get("/api/status").status_code == 200
    token = form_token(client.get("/logout").get_data(as_text=True))
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 200
    assert client.get("/api/status").status_code == 401


def test_a_tampered_cookie_is_refused(base_env) -> None:
    _, client = build(base_env, "basic")
    basic_sign_in(client)
    value = client.get_cookie(COOKIE).value
    payload, _, signature = value.partition(".")
    # The signature's first character, not its last: a base64 text's last character carries padding bits, so
    # changing it may decode to the same bytes.
    head, sig = signature.rsplit(".", 1)
    swapped = ("B" if sig[0] != "B" else "C") + sig[1:]
    for forged in (payload[:-2] + "AA." + signature, f"{payload}.{head}.{swapped}"):
        client.set_cookie(COOKIE, forged)
        assert client.get("/api/status").status_code == 401, forged
    client.set_cookie(COOKIE, value)
    assert client.get("/api/status").status_code == 200


def test_a_session_older_than_its_max_age_is_refused(base_env) -> None:
    _, client = build(base_env, "basic", SESSION_MAX_AGE_S="3600")
    app = client.application
    signer = app.session_interface.get_signing_serializer(app)
    fresh = signer.dumps({"user": USERNAME, "at": time.time() - 60})
    old = signer.dumps({"user": USERNAME, "at": time.time() - 3700})
    client.set_cookie(COOKIE, fresh)
    assert client.get("/api/status").status_code == 200
    client.set_cookie(COOKIE, old)
    assert client.get("/api/status").status_code == 401
    assert client.get("/").location == "/login?next=%2F"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/%2F..",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "",
    ],
)
def test_return_to_pointing_off_site_goes_home_instead(base_env, target: str) -> None:
    assert local_path(target) == "/"
    _, client = build(base_env, "basic")
    answer = basic_sign_in(client, next_path=target)
    assert answer.status_code == 302 and answer.location == "/"


def test_return_to_a_local_path_is_kept() -> None:
    assert local_path("/api/history?service=postgres&range=1h") == "/api/history?service=postgres&range=1h"
    assert local_path("/rq/") == "/rq/"


def test_scripts_use_the_api_with_the_bearer_token_and_prometheus_with_its_own(base_env) -> None:
    _, client = build(base_env, "oidc", "http://localhost:1")  # the provider is never asked here
    assert client.get("/api/status", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    for wrong in (f"Bearer {API_TOKEN}x", f"Bearer {METRICS_TOKEN}", f"Basic {API_TOKEN}", "Bearer ", API_TOKEN):
        answer = client.get("/api/status", headers={"Authorization": wrong})
        assert answer.status_code == 401 and answer.get_json()["error"], wrong
    # The API token opens only the API, not the board or /rq.
    assert client.get("/", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 302
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 401


def test_metrics_token_also_guards_metrics_in_mode_none(base_env) -> None:
    _, client = build(base_env, "none")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert client.get("/api/status").status_code == 200  # mode none: today's open board and API


def test_rq_is_behind_the_sign_in_in_basic_mode(base_env) -> None:
    _, client = build(base_env, "basic", VALKEY_URL=base_env["VALKEY_URL"])
    assert client.get("/rq/").location == "/login?next=%2Frq%2F"
    basic_sign_in(client)
    assert client.get("/rq/").status_code == 200
    assert client.post("/rq/0/data/queues.json").status_code == 405  # still a view, not a console


@pytest.mark.parametrize(
    ("sub", "claims"),
    [
        ("ann", {"email": f"ann@{ALLOWED_DOMAIN}", "email_verified": True}),
        ("guest", {"email": ALLOWED_EMAIL.upper()}),  # no email_verified claim: not required
    ],
)
def test_oidc_sign_in_of_an_allowed_identity(base_env, oidc_issuer, sub: str, claims: dict) -> None:
    settings, client = build(base_env, "oidc", oidc_issuer)
    answer = oidc_sign_in(client, oidc_issuer, sub, claims, next_path="/api/status")
    assert answer.status_code == 302 and answer.location == "/api/status"
    assert client.get("/api/status").status_code == 200
    assert audit_log(settings) == [(claims["email"], "sign-in", "oidc")]


@pytest.mark.parametrize(
    ("sub", "claims", "why"),
    [
        ("mallory", {"email": "mallory@evil.com", "email_verified": True}, "not in AUTH_ALLOWED_EMAILS"),
        ("sub-domain", {"email": f"eve@mail.{ALLOWED_DOMAIN}"}, "not in AUTH_ALLOWED_EMAILS"),
        ("lookalike", {"email": f"eve@evil{ALLOWED_DOMAIN}"}, "not in AUTH_ALLOWED_EMAILS"),
        ("unverified", {"email": f"bob@{ALLOWED_DOMAIN}", "email_verified": False}, "not verified"),
        ("no-email", {"name": "No Mail"}, "no e-mail address"),
    ],
)
def test_oidc_refuses_an_identity_not_allowed(base_env, oidc_issuer, sub: str, claims: dict, why: str) -> None:
    settings, client = build(base_env, "oidc", oidc_issuer)
    answer = oidc_sign_in(client, oidc_issuer, sub, claims)
    assert answer.status_code == 403 and "may not sign in here" in answer.get_data(as_text=True)
    assert client.get("/api/status").status_code == 401
    [(actor, action, detail)] = audit_log(settings)
    assert (actor, action) == (claims.get("email", sub), "sign-in refused") and why in detail


def test_oidc_groups_claim(base_env, oidc_issuer) -> None:
    extra = {"AUTH_ALLOWED_DOMAINS": "", "AUTH_ALLOWED_EMAILS": "", "AUTH_ALLOWED_GROUPS": "monitor-ops"}
    _, client = build(base_env, "oidc", oidc_issuer, **extra)
    refused = oidc_sign_in(client, oidc_issuer, "dev", {"email": "dev@any.org", "groups": ["developers"]})
    assert refused.status_code == 403
    allowed = oidc_sign_in(client, oidc_issuer, "op", {"email": "op@any.org", "groups": ["developers", "monitor-ops"]})
    assert allowed.status_code == 302 and client.get("/api/status").status_code == 200


def test_oidc_callback_with_a_forged_state_or_a_replayed_code_is_refused(base_env, oidc_issuer) -> None:
    settings, client = build(base_env, "oidc", oidc_issuer)
    back = provider_answer(client, oidc_issuer, "ann", {"email": f"ann@{ALLOWED_DOMAIN}"})
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    assert client.get(forged).status_code == 400
    assert client.get("/api/status").status_code == 401
    # A callback without the browser's session (another browser, or an attacker's link) is refused too.
    stranger = client.application.test_client()
    assert stranger.get(back).status_code == 400
    assert [a for _, a, _ in audit_log(settings)] == ["sign-in refused", "sign-in refused"]
    assert client.get(back).status_code == 302  # the right browser, the right state: signed in


def test_login_in_mode_none_goes_straight_to_the_board(base_env) -> None:
    _, client = build(base_env, "none")
    assert client.get("/login?next=" + quote("//evil.com")).location == "/"
    assert client.get("/logout").location == "/"


def test_behind_cloudfront_the_redirect_uri_and_the_forms_origin_are_public_urls(base_env, oidc_issuer) -> None:
    """The app sees App Platform's host; PUBLIC_URL names the one operators use (CloudFront's)."""
    _, client = build(base_env, "oidc", oidc_issuer, PUBLIC_URL="https://status.example.com")
    started = client.get("/login")
    assert started.status_code == 302
    query = parse_qs(urlsplit(started.location).query)
    assert query["redirect_uri"] == ["https://status.example.com/oidc/callback"]


def test_public_url_is_a_scheme_and_host_only(base_env) -> None:
    with pytest.raises(SettingsError) as refused:
        load({**base_env, "PUBLIC_URL": "https://status.example.com/board"})
    assert str(refused.value) == (
        "PUBLIC_URL: expected a scheme and host only, such as https://status.example.com,"
        " got 'https://status.example.com/board'"
    )
