"""Security headers on every response, and the RQ job dashboard at /rq and the operators' pages at /operator:
behind the operator's sign-in in AUTH_MODE basic or oidc (dashapp.auth), behind HTTP basic auth of their own
(RQ_DASHBOARD_USERNAME/PASSWORD) in mode none.

/rq is read-only: only rq-dashboard's read views answer (RQ_READ_ENDPOINTS). Failed basic-auth answers are
limited per client address (dashapp.login_limit).

`install(server, settings, script_hashes=dash_app.csp_hashes())` is called once by the app factory.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import flask

from dashapp.login_limit import FailedLogins
from jobs.buffer import bounded_url
from jobs.defaults import LOGIN_FAILURES, LOGIN_WINDOW_S
from jobs.queueing import SERIALIZER
from jobs.settings import Settings

log = logging.getLogger(__name__)

RQ_PREFIX = "/rq"
# The operators' pages (dashapp/operator.py), behind the same credentials as /rq.
OPERATOR_PREFIX = "/operator"
HSTS = "max-age=31536000; includeSubDomains"
# rq-dashboard 0.9's views that only read: its pages, their JSON data, its static files. Every other endpoint
# (requeue, delete, empty, compact, and whatever a later version adds) is refused.
RQ_READ_ENDPOINTS = frozenset(
    f"rq_dashboard.{view}"
    for view in (
        "static",
        "favicon",
        "queues_overview",
        "workers_overview",
        "jobs_overview",
        "job_view",
        "list_queues",
        "list_jobs",
        "job_info",
        "list_workers",
    )
)


def content_security_policy(assets_base_url: str | None, script_hashes: Sequence[str] = ()) -> str:
    """The page's CSP: scripts only from us (plus the hashes of Dash's own inline scripts), no framing.

    Plotly and dash-bootstrap-components set inline `style` attributes, so styles need 'unsafe-inline';
    scripts do not. The CDN origin is allowed for what /assets holds (CSS, images, fonts).
    """
    cdn = ""
    if assets_base_url:
        parts = urlsplit(assets_base_url)
        cdn = f" {parts.scheme}://{parts.netloc}"
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        "style-src": f"'self' 'unsafe-inline'{cdn}",
        "img-src": f"'self' data:{cdn}",
        "font-src": f"'self' data:{cdn}",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# rq-dashboard's pages use inline scripts and underscore templates (new Function), so /rq, which only
# authenticated operators reach, gets a looser script policy than the public page.
RQ_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def _under(prefix: str, path: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _under_rq(path: str) -> bool:
    return _under(RQ_PREFIX, path)


def _unauthenticated(settings: Settings, realm: str, failures: FailedLogins) -> flask.Response | None:
    """A 401 asking for the operators' credentials (RQ_DASHBOARD_USERNAME/PASSWORD) unless the request
    carries them; a 429 while its address has failed too often. With sign-in on, dashapp.auth's guard has
    already let only signed-in operators through."""
    if settings.access.signs_in:
        return None
    address = flask.request.remote_addr or "-"
    wait_s = failures.wait_s(address)
    if wait_s:
        return flask.Response(
            "Too many failed logins; try again later.\n",
            429,
            {"Retry-After": str(wait_s), "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    auth = flask.request.authorization
    if (
        auth is not None
        and auth.type == "basic"
        and credentials_match(
            auth.username or "",
            auth.password or "",
            settings.rq_dashboard_username or "",
            settings.rq_dashboard_password or "",
        )
    ):
        return None
    if auth is not None:  # a browser's first request carries no credentials: not a failure
        failures.failed(address)
    return flask.Response(
        "Authentication required.\n",
        401,
        {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"', "Cache-Control": "no-store"},
        mimetype="text/plain",
    )


def _same_origin(request: flask.Request, public_url: str | None = None) -> bool:
    """Whether a state-changing request came from our own pages (this host, or PUBLIC_URL's behind CloudFront).
    Browsers send Origin with every POST (and Sec-Fetch-Site); a client without them (curl) is not a browser
    carrying remembered credentials."""
    origin = request.headers.get("Origin")
    # By host only: behind App Platform's TLS proxy this server sees http while the browser says https.
    ours = {request.host, urlsplit(public_url).netloc if public_url else request.host}
    if origin is not None and urlsplit(origin).netloc not in ours:
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def over_https(environ: dict[str, Any]) -> bool:
    # App Platform and CloudFront terminate TLS and say so in X-Forwarded-Proto (first hop first).
    forwarded = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
    return environ.get("wsgi.url_scheme") == "https" or forwarded == "https"


def came_over_https(request: flask.Request) -> bool:
    return over_https(request.environ)


class SecurityHeaders:
    """WSGI middleware putting the security headers on every response. The header lines are made once and
    appended to what the app answered, which costs a request a few list operations (an after-request hook
    setting them through Werkzeug's validating Headers cost a tenth of a trivial request)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], page_csp: str) -> None:
        self.app = app
        common = [
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
        self._page = [("Content-Security-Policy", page_csp), *common]
        # /rq and /operator are never cached, whatever the view said.
        self._rq = [("Content-Security-Policy", RQ_CSP), *common, ("Cache-Control", "no-store")]
        self._operator = [*self._page, ("Cache-Control", "no-store")]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if _under_rq(path):
            lines = self._rq
        elif _under(OPERATOR_PREFIX, path):
            lines = self._operator
        else:
            lines = self._page
        if over_https(environ):
            lines = [*lines, ("Strict-Transport-Security", HSTS)]
        replaced = {name.lower() for name, _ in lines}

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [header for header in headers if header[0].lower() not in replaced]
            return start_response(status, kept + lines, exc_info)

        return self.app(environ, start)


def credentials_match(given_user: str, given_password: str, user: str, password: str) -> bool:
    """Constant-time check of both fields (both are always compared, so timing tells nothing)."""
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return user_ok and password_ok


def _mount_rq_dashboard(server: flask.Flask, settings: Settings) -> bool:
    """Register rq-dashboard's blueprint at /rq on our server; False when it must stay off."""
    has_login = settings.access.signs_in or (settings.rq_dashboard_username and settings.rq_dashboard_password)
    if not has_login:
        return False
    if settings.valkey is None:
        log.warning("RQ dashboard off: Valkey is not configured (%s)", settings.problems.get("valkey", "no VALKEY_URL"))
        return False
    from rq_dashboard.web import blueprint, config, setup_rq_connection

    # Our jobs are JSON (jobs/queueing.py); rq-dashboard would unpickle them by default.
    config.serializer = SERIALIZER

    server.config["RQ_DASHBOARD_REDIS_URL"] = bounded_url(settings.valkey, settings.probe_timeout_s)
    # Hides the delete buttons; the guard in `install` refuses every state-changing request anyway.
    server.config.setdefault("RQ_DASHBOARD_DISABLE_DELETE", True)
    server.register_blueprint(blueprint, url_prefix=RQ_PREFIX)
    setup_rq_connection(server)
    return True


def install(server: flask.Flask, settings: Settings, script_hashes: Sequence[str] = ()) -> None:
    """Add the security headers to every response and mount /rq (404 when not configured).

    `script_hashes` are the CSP hashes of Dash's inline scripts (`dash_app.csp_hashes()`, taken after every
    clientside callback is defined); without them the Dash page cannot start under the CSP.
    """
    page_csp = content_security_policy(settings.assets_base_url, script_hashes)
    rq_enabled = _mount_rq_dashboard(server, settings)
    failures = FailedLogins(LOGIN_FAILURES, LOGIN_WINDOW_S)

    @server.before_request
    def _guard_rq() -> flask.Response | None:
        if not _under_rq(flask.request.path):
            return None
        if not rq_enabled:
            flask.abort(404)
        refusal = _unauthenticated(settings, "RQ dashboard", failures)
        if refusal is not None:
            return refusal
        if flask.request.url_rule is None:
            return None  # no view runs: routing answers 404, 405 or /rq's redirect to /rq/
        if flask.request.blueprint != "rq_dashboard":
            flask.abort(404)  # not a dashboard page: never Dash's catch-all page under /rq
        if flask.request.method not in ("GET", "HEAD") or flask.request.endpoint not in RQ_READ_ENDPOINTS:
            # A view, not a console: no request changes RQ's state, so no link or form on another site can
            # make a browser holding the operator's basic-auth credentials requeue, empty or delete jobs.
            flask.abort(405)
        return None

    @server.before_request
    def _guard_operator() -> flask.Response | None:
        if not _under(OPERATOR_PREFIX, flask.request.path):
            return None
        if not (settings.access.signs_in or (settings.rq_dashboard_username and settings.rq_dashboard_password)):
            flask.abort(404)
        refusal = _unauthenticated(settings, "Operators", failures)
        if refusal is not None:
            return refusal
        if flask.request.url_rule is None or flask.request.blueprint != "operator":
            flask.abort(404)  # never Dash's catch-all page under /operator
        if flask.request.method not in ("GET", "HEAD") and not _same_origin(flask.request, settings.access.public_url):
            # A browser holding the operator's credentials sends them to a form posted from any site.
            flask.abort(403)
        return None

    server.wsgi_app = SecurityHeaders(server.wsgi_app, page_csp)  # type: ignore[method-assign]
