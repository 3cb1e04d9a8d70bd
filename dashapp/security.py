"""Security headers on every response, and the RQ job dashboard at /rq: behind the operator's sign-in in
AUTH_MODE basic or oidc (dashapp.auth), behind HTTP basic auth of its own in mode none.

`install(server, settings, script_hashes=dash_app.csp_hashes())` is called once by the app factory.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import flask

from jobs.buffer import bounded_url
from jobs.settings import Settings

log = logging.getLogger(__name__)

RQ_PREFIX = "/rq"
HSTS = "max-age=31536000; includeSubDomains"


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


def _under_rq(path: str) -> bool:
    return path == RQ_PREFIX or path.startswith(RQ_PREFIX + "/")


def came_over_https(request: flask.Request) -> bool:
    # App Platform and CloudFront terminate TLS and say so in X-Forwarded-Proto (first hop first).
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.is_secure or forwarded == "https"


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
    from rq_dashboard.web import blueprint, setup_rq_connection

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

    @server.before_request
    def _guard_rq() -> flask.Response | None:
        if not _under_rq(flask.request.path):
            return None
        if not rq_enabled:
            flask.abort(404)
        # With sign-in on, dashapp.auth's guard has already let only signed-in operators through.
        auth = flask.request.authorization
        if not settings.access.signs_in and (
            auth is None
            or auth.type != "basic"
            or not credentials_match(
                auth.username or "",
                auth.password or "",
                settings.rq_dashboard_username or "",
                settings.rq_dashboard_password or "",
            )
        ):
            return flask.Response(
                "Authentication required.\n",
                401,
                {"WWW-Authenticate": 'Basic realm="RQ dashboard", charset="UTF-8"', "Cache-Control": "no-store"},
                mimetype="text/plain",
            )
        if flask.request.url_rule is not None and flask.request.blueprint != "rq_dashboard":
            flask.abort(404)  # not a dashboard page: never Dash's catch-all page under /rq
        if flask.request.method not in ("GET", "HEAD") or flask.request.path.startswith(f"{RQ_PREFIX}/requeue/"):
            # A view, not a console: no request changes RQ's state, so no link or form on another site can
            # make a browser holding the operator's basic-auth credentials requeue, empty or delete jobs.
            flask.abort(405)
        return None

    @server.after_request
    def _add_headers(response: flask.Response) -> flask.Response:
        under_rq = _under_rq(flask.request.path)
        response.headers["Content-Security-Policy"] = RQ_CSP if under_rq else page_csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if under_rq:
            response.headers["Cache-Control"] = "no-store"
        if came_over_https(flask.request):
            response.headers["Strict-Transport-Security"] = HSTS
        return response
