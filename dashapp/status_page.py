"""The public status page at /status (on with STATUS_PAGE): plain server-rendered HTML, no script, made at
most once per STATUS_PAGE_CACHE_S per process so that heavy traffic costs the store nothing more.

What it may show is decided in `public_status`; this module renders and serves it.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from flask import Blueprint, Flask, Response, abort, render_template

from dashapp.brief_cache import BriefCache
from dashapp.formats import percent
from dashapp.layout import LANGUAGE, PRODUCT
from dashapp.public_status import WINDOWS, read_public_status
from dashapp.reader import Reader, Unavailable
from dashapp.status import ago, utc_text
from jobs.defaults import STATUS_PAGE_CACHE_S
from jobs.result import utcnow
from jobs.settings import Settings

log = logging.getLogger(__name__)

PATH = "/status"
# The page's own stylesheet in assets/, kept out of the board's (dashapp/factory.py).
STYLESHEET = "status.css"
# A mark beside each status word, for a glance; the word itself is what says it.
MARKS = {"up": "✓", "degraded": "!", "partial": "◐", "down": "✕", "stale": "?", "not_configured": "○"}


@dataclass(frozen=True)
class _Page:
    body: bytes
    gzipped: bytes
    status: int


class _FromMemory:
    """WSGI: GET and HEAD /status answered from the brief cache before Flask. The page is the same for everyone
    and strangers may ask for it at any rate, so it costs a request no routing, session or hook (the origin lock,
    the viewer's address and the security headers wrap this too)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: BriefCache[_Page], cache_s: float) -> None:
        self.app = app
        self.cache = cache
        self.cached = [("Cache-Control", f"public, max-age={cache_s:g}"), ("Vary", "Accept-Encoding")]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != PATH or method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        page = self.cache.get()
        headers = [("Content-Type", "text/html; charset=utf-8")]
        # Public and the same for everyone for a few seconds: a CDN or browser may keep it as long as we do.
        headers += self.cached if page.status == 200 else [("Cache-Control", "no-store")]
        body = page.body
        if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = page.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{page.status} {HTTPStatus(page.status).phrase}", headers)
        return [b"" if method == "HEAD" else body]


def install(server: Flask, reader: Reader, settings: Settings) -> None:
    """The page at /status when STATUS_PAGE is on (answered by `_FromMemory`), else a 404 there."""
    cache_s = STATUS_PAGE_CACHE_S  # read when the app is built (a test shortens it)
    page = Blueprint("status_page", __name__, template_folder="templates")
    assets = f"{settings.assets_base_url or '/'}assets/"

    def render() -> _Page:
        now = utcnow()
        try:
            status = read_public_status(reader, settings, now)
        except Unavailable as exc:
            log.warning("status page: no status to show: %s", exc)
            status = None
        with server.app_context():  # asked for outside Flask, by _FromMemory
            html = render_template(
                "status.html",
                status=status,
                windows=list(WINDOWS),
                product=PRODUCT,
                language=LANGUAGE,
                assets=assets,
                stylesheet=STYLESHEET,
                marks=MARKS,
                percent=percent,
                utc_text=utc_text,
                ago=ago,
                now=now,
            )
        body = html.encode()
        return _Page(body, gzip.compress(body), 200 if status is not None else 503)

    @page.get(PATH)
    def status_page() -> Response:
        # Registered whatever the setting, so that Dash's catch-all page never answers here; with the page on,
        # _FromMemory answers GET and HEAD before Flask.
        abort(404)

    server.register_blueprint(page)
    if settings.status_page:
        server.wsgi_app = _FromMemory(server.wsgi_app, BriefCache(render, cache_s), cache_s)  # type: ignore[method-assign]
