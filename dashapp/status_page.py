"""The public status page at /status (on with STATUS_PAGE): plain server-rendered HTML, no script, made at
most once per STATUS_PAGE_CACHE_S per process so that heavy traffic costs the store nothing more.

What it may show is decided in `public_status`; this module renders and serves it.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, render_template

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


def blueprint(reader: Reader, settings: Settings) -> Blueprint:
    cache_s = STATUS_PAGE_CACHE_S  # read when the app is built (a test shortens it)
    page = Blueprint("status_page", __name__, template_folder="templates")
    assets = f"{settings.assets_base_url or '/'}assets/"

    def render() -> tuple[bytes, int]:
        now = utcnow()
        try:
            status = read_public_status(reader, settings, now)
        except Unavailable as exc:
            log.warning("status page: no status to show: %s", exc)
            status = None
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
        return html.encode(), 200 if status is not None else 503

    cache = BriefCache(render, cache_s)

    @page.get(PATH)
    def status_page() -> Response:
        if not settings.status_page:
            abort(404)  # registered anyway, so that Dash's catch-all page never answers here
        body, code = cache.get()
        # Public and the same for everyone for a few seconds: a CDN or browser may keep it as long as we do.
        caching = f"public, max-age={cache_s:g}" if code == 200 else "no-store"
        return Response(body, code, mimetype="text/html", headers={"Cache-Control": caching})

    return page
