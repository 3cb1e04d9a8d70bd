"""The web behind its proxies (CloudFront, then App Platform's ingress): the server class and what wraps it.

- The origin lock: with ORIGIN_SECRET set, a request without it in `X-Origin-Verify` (CloudFront adds it) is a
  403, except the platform's health checks, so the default *.ondigitalocean.app address skips no WAF.
- The viewer's address: X-Forwarded-For believed for TRUSTED_PROXY_HOPS proxies (Werkzeug's ProxyFix), so the
  access log and the failed-login limit see the viewer, not the proxy; what the viewer itself put there is not.
- Relative redirects: routing's own redirects (`/api` to `/api/`) name no host, so a forged Host is never echoed.
- JSON nested deeper than the parser's recursion limit is a 400 like any other unreadable body.

`Server` is the app factory's Flask class; `wrap_server(server, settings.edge)` wraps it last, outermost.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import RequestRedirect

from jobs.settings import EdgeSettings

ORIGIN_HEADER = "X-Origin-Verify"
_ORIGIN_ENVIRON = "HTTP_X_ORIGIN_VERIFY"
# The platform's health checks reach the app directly, without CloudFront's header.
HEALTH_CHECKS = frozenset(("/healthz", "/readyz"))
_REFUSAL = b"Forbidden: this site answers only through its public address.\n"
_REFUSAL_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(_REFUSAL))),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]


class _JSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # As a ValueError, Werkzeug answers it like any unparsable body: 400, one line.
            raise ValueError("nested too deeply") from None


class Server(flask.Flask):
    json_provider_class = _JSONProvider

    def raise_routing_exception(self, request: flask.Request) -> None:  # type: ignore[override]
        """Routing's redirects (a missing trailing slash, merged slashes) as a path on this site: Werkzeug
        builds them from the request's Host, which anyone can forge."""
        exc = request.routing_exception
        if isinstance(exc, RequestRedirect):
            target = urlsplit(exc.new_url)
            # One leading slash: "//host/…" would be another site's address.
            path = "/" + target.path.lstrip("/")
            raise RequestRedirect(urlunsplit(("", "", path, target.query, ""))) from None
        super().raise_routing_exception(request)


class OriginLock:
    """WSGI middleware refusing every request without the origin secret but the health checks. Outermost, so a
    request costs one environ lookup and one constant-time compare before anything else runs."""

    def __init__(self, app: Any, secret: str) -> None:
        self.app = app
        self.secret = secret  # ASCII (checked by the settings), as compare_digest needs for str

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        given = environ.get(_ORIGIN_ENVIRON)
        if given is not None and given.isascii() and hmac.compare_digest(given, self.secret):
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") in HEALTH_CHECKS:
            return self.app(environ, start_response)
        start_response("403 Forbidden", list(_REFUSAL_HEADERS))
        return [_REFUSAL]


def wrap_server(server: flask.Flask, edge: EdgeSettings) -> None:
    """Wrap the server's WSGI app: the viewer's address from X-Forwarded-For, then the origin lock outside it."""
    if edge.trusted_proxy_hops:
        # Only the address: X-Forwarded-Proto is read where it matters (security.came_over_https), Host never.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=edge.trusted_proxy_hops, x_proto=0)  # type: ignore[method-assign]
    if edge.origin_secret:
        server.wsgi_app = OriginLock(server.wsgi_app, edge.origin_secret)  # type: ignore[method-assign]
