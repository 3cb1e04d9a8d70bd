"""Who sees what: the guard in front of every route, sign-in (AUTH_MODE basic or oidc) and sign-out.

In mode none every route answers everyone (local use). In basic and oidc modes only PUBLIC_PREFIXES answer
strangers; everything else needs a signed-in session (HTML pages redirect to /login, the API and Dash's
callbacks answer 401 in JSON), /api/* also takes `Authorization: Bearer <API_TOKEN>` from scripts, and
/metrics takes `Authorization: Bearer <METRICS_TOKEN>` (it answers anyone only in mode none without one).

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure when the request came over HTTPS,
itsdangerous-signed with SESSION_SECRET), and a sign-in lasts SESSION_MAX_AGE_S however active it is.
`install(server, settings)` is called by the app factory before any other route or hook.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import flask
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import check_password_hash

from dashapp import audit, csrf, oidc
from dashapp.layout import PRODUCT
from dashapp.login_limit import FailedLogins
from dashapp.security import came_over_https
from jobs.defaults import LOGIN_FAILURES, LOGIN_WINDOW_S
from jobs.result import one_line
from jobs.settings import AccessSettings, Settings

log = logging.getLogger(__name__)

# Paths anyone may request in every mode: the platform's health checks, badges, the public status page
# (its routes live under /status), the static files public pages use, and the sign-in itself.
PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/badge",
    "/status",
    "/assets",
    # Dash's and its components' own scripts: published libraries, no data; public, so CloudFront caches them.
    "/_dash-component-suites",
    "/_favicon.ico",
    "/login",
    "/logout",
    oidc.CALLBACK,
)
METRICS = "/metrics"
# Answered with a 401 in JSON rather than a redirect to the sign-in page (scripts, and Dash's fetches).
API_PREFIXES = ("/api/", "/_dash-", METRICS)
# Dash's page routes: a public path they catch (/status while the status page is off, /healthz/x) would
# serve the board's shell to strangers, so there it is a 404 instead.
DASH_PAGE_RULES = ("/", "/<path:path>")
COOKIE = "monitor_session"
PROVIDER = "hybrid_monitor_oidc"  # the oidc.Provider, in server.extensions
# A dummy hash to check a wrong username's password against, so both take as long as a right one's.
_NOBODY = "scrypt:32768:8:1$0$0"


def is_public(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PUBLIC_PREFIXES)


def local_path(target: str | None) -> str:
    """`target` when it is a path on this site, else "/": the return-to parameter never leads to another site
    (`//evil.com`, `/\\evil.com`, `https://evil.com`, or one hidden behind a tab or newline the browser drops)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def bearer_matches(token: str | None) -> bool:
    """True when the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, given = flask.request.headers.get("Authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def signed_in_user() -> str | None:
    """The signed-in operator, or None (none signed in, or the sign-in is older than SESSION_MAX_AGE_S)."""
    return flask.g.get("user")


def _session_user(access: AccessSettings) -> str | None:
    user, at = flask.session.get("user"), flask.session.get("at")
    if not isinstance(user, str) or not isinstance(at, int | float):
        return None
    if not 0 <= time.time() - at < access.session_max_age_s:
        return None
    return user


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure when this request came over HTTPS (directly, or through
    the platform's proxy), so that the cookie also works on http://localhost."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return came_over_https(flask.request)


def _configure_session(server: flask.Flask, access: AccessSettings) -> None:
    # Mode none has no sign-in; its forms' CSRF tokens are signed with a key of this process's own.
    server.secret_key = access.session_secret or secrets.token_urlsafe(32)
    server.session_interface = _SessionInterface()
    server.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=access.session_max_age_s),
        # The cookie's signature also expires SESSION_MAX_AGE_S after sign-in, not after the last request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )


def _refused(path: str) -> flask.Response:
    if path.startswith(API_PREFIXES) or flask.request.method not in csrf.SAFE_METHODS:
        response = flask.jsonify(error="sign-in required: sign in at /login, or send Authorization: Bearer <token>")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="hybrid-monitor"'
        response.headers["Cache-Control"] = "no-store"
        return response
    return flask.redirect("/login?" + urlencode({"next": flask.request.full_path.rstrip("?")}))


def _guard(access: AccessSettings) -> flask.Response | None:
    path = flask.request.path
    user = _session_user(access) if access.signs_in else None
    flask.g.user = user
    if path == METRICS:
        if bearer_matches(access.metrics_token) or user or not (access.metrics_token or access.signs_in):
            return None
        return _refused(path)
    if access.signs_in and is_public(path) and not user:
        rule = flask.request.url_rule
        if rule is None or rule.rule in DASH_PAGE_RULES:
            flask.abort(404)
        return None
    if not access.signs_in or is_public(path) or user:
        return None
    if path.startswith("/api/") and bearer_matches(access.api_token):
        flask.g.auth_via = csrf.BEARER
        return None
    return _refused(path)


def sign_in(user: str, how: str, next_path: str) -> flask.Response:
    """Start the operator's session (a fresh cookie: nothing from before it survives) and go on."""
    flask.session.clear()
    flask.session.update(user=user, at=time.time())
    flask.session.permanent = True
    csrf.renew_csrf_token()
    audit.record("sign-in", user, how)
    return flask.redirect(local_path(next_path))


def _page(title: str, body: str, status: int = 200, **values: object) -> flask.Response:
    """A small self-contained HTML page (the sign-in form, a refusal); values are escaped by Jinja."""
    html = flask.render_template_string(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        "<title>{{ title }} · {{ product }}</title>"
        '<link rel=stylesheet href="/assets/bootstrap.min.css"></head>'
        '<body><main class="container py-5" style="max-width: 28rem"><h1 class="h3 mb-4">{{ title }}</h1>'
        + body
        + "</main></body></html>",
        title=title,
        product=PRODUCT,
        **values,
    )
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


LOGIN_FORM = """
{% if error %}<p class="alert alert-danger" role="alert">{{ error }}</p>{% endif %}
<form method=post action="/login">
  <input type=hidden name=csrf_token value="{{ csrf_token }}"><input type=hidden name=next value="{{ next }}">
  <div class=mb-3><label class=form-label for=username>Username</label>
    <input class=form-control id=username name=username autocomplete=username required autofocus></div>
  <div class=mb-3><label class=form-label for=password>Password</label>
    <input class=form-control id=password name=password type=password autocomplete=current-password required>
  </div>
  <button class="btn btn-primary" type=submit>Sign in</button>
</form>"""
LOGOUT_FORM = """<p>Signed in as {{ user }}.</p>
<form method=post action="/logout"><input type=hidden name=csrf_token value="{{ csrf_token }}">
<button class="btn btn-primary" type=submit>Sign out</button></form>"""
MESSAGE = '<p>{{ message }}</p><p><a href="{{ link }}">{{ link_text }}</a></p>'


def blueprint(access: AccessSettings) -> flask.Blueprint:
    auth = flask.Blueprint("auth", __name__)

    @auth.get("/login")
    def login_page() -> flask.Response:
        next_path = local_path(flask.request.args.get("next"))
        if not access.signs_in or signed_in_user():
            return flask.redirect(next_path)
        if access.mode == "oidc":
            flask.session["next"] = next_path
            try:
                return flask.current_app.extensions[PROVIDER].redirect()
            except oidc.FAILURES as exc:
                log.warning("sign-in: the OIDC provider did not answer: %s", one_line(exc, *access.secrets()))
                return _page("Sign-in unavailable", MESSAGE, 503, **_try_again("The sign-in provider did not answer."))
        return _page("Sign in", LOGIN_FORM, csrf_token=csrf.csrf_token(), next=next_path, error=None)

    failures = FailedLogins(LOGIN_FAILURES, LOGIN_WINDOW_S)

    @auth.post("/login")
    def login_form() -> flask.Response:
        if access.mode != "basic":
            flask.abort(405)
        csrf.check_csrf()
        form = flask.request.form
        next_path = local_path(form.get("next"))
        address = flask.request.remote_addr or "-"
        wait_s = failures.wait_s(address)
        if wait_s:
            page = _page("Sign in", MESSAGE, 429, **_try_again("Too many failed sign-ins from here; wait a while."))
            page.headers["Retry-After"] = str(wait_s)
            return page
        username, password = form.get("username", ""), form.get("password", "")
        # Both checks always run, each in constant time, so timing tells nothing about which one failed.
        user_ok = hmac.compare_digest(username.encode(), (access.basic_username or "").encode())
        password_ok = check_password_hash(access.basic_password_hash if user_ok else _NOBODY, password)
        if user_ok and password_ok:
            return sign_in(username, "basic", next_path)
        failures.failed(address)
        audit.record("sign-in refused", "-", "basic: wrong username or password")
        values = {"csrf_token": csrf.csrf_token(), "next": next_path, "error": "Wrong username or password."}
        return _page("Sign in", LOGIN_FORM, 401, **values)

    @auth.get(oidc.CALLBACK)
    def oidc_callback() -> flask.Response:
        if access.mode != "oidc":
            flask.abort(404)
        try:
            claims = flask.current_app.extensions[PROVIDER].identity()
        except oidc.FAILURES as exc:
            reason = one_line(exc, *access.secrets())
            audit.record("sign-in refused", "-", f"oidc: {reason}")
            return _page("Sign-in failed", MESSAGE, 400, **_try_again("The sign-in did not complete."))
        who, why = oidc.identity_name(claims), oidc.refusal(claims, access)
        if why:
            audit.record("sign-in refused", who, f"oidc: {why}")
            return _page("Not allowed", MESSAGE, 403, **_try_again(f"{who} may not sign in here."))
        return sign_in(who, "oidc", flask.session.get("next", "/"))

    @auth.get("/logout")
    def logout_page() -> flask.Response:
        user = signed_in_user()
        if user is None:
            return flask.redirect("/login" if access.signs_in else "/")
        return _page("Sign out", LOGOUT_FORM, user=user, csrf_token=csrf.csrf_token())

    @auth.post("/logout")
    def logout() -> flask.Response:
        csrf.check_csrf()
        user = signed_in_user()
        flask.session.clear()
        if user:
            audit.record("sign-out", user)
        return _page("Signed out", MESSAGE, message="You are signed out.", link="/login", link_text="Sign in again")

    return auth


def _try_again(message: str) -> dict[str, str]:
    return {"message": message, "link": "/login", "link_text": "Try again"}


def install(server: flask.Flask, settings: Settings) -> None:
    """The session, the guard (first of every before-request hook) and /login, /logout, the OIDC callback."""
    access = settings.access
    _configure_session(server, access)
    if access.mode == "oidc":
        server.extensions[PROVIDER] = oidc.Provider(server, access)
    server.before_request(lambda: _guard(access))
    server.register_blueprint(blueprint(access))
