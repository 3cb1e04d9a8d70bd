"""Builds the web app from settings: one Flask server carrying the Dash page, the API, /metrics, the badge and the
public status page."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dash
from werkzeug.exceptions import HTTPException

from dashapp import (
    api,
    audit,
    auth,
    callback_guard,
    callbacks,
    layout,
    metrics,
    operator,
    security,
    static_files,
    status_page,
)
from dashapp.edge import Server, wrap_server
from dashapp.reader import Reader, Unavailable
from jobs.defaults import WEB_MIGRATE_TIMEOUT_S
from jobs.settings import Settings

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# plotly.js's "basic" partial bundle (scatter, bar, pie: the charts draw scatter traces only), a third of the
# full bundle Dash ships (bench/README.md). dcc.Graph uses `window.Plotly` when a page script has
# defined it and loads Dash's full bundle only otherwise. The file is the npm package plotly.js-basic-dist-min
# at the plotly.js version of the installed `plotly` (`plotly.offline.get_plotlyjs_version()`); to update:
# `npm pack plotly.js-basic-dist-min@<version>` and copy its plotly-basic.min.js here, then set the version.
PLOTLY_BUNDLE = "plotly-basic.min.js"
PLOTLY_BUNDLE_VERSION = "4.1.1"
# Files in assets/ the board does not load: the plotly bundle (loaded by name, above) and the status page's CSS.
BOARD_IGNORES = (PLOTLY_BUNDLE, status_page.STYLESHEET)


def _assets_from_cdn(base_url: str | None) -> dict[str, object]:
    """Dash arguments that load /assets from the CDN. With serve_locally (Dash's own JavaScript from this
    server, never a public CDN) Dash ignores assets_external_path for the asset files it finds itself, so
    the stylesheets are named explicitly and the folder is not scanned."""
    if not base_url:
        return {}
    return {
        "assets_external_path": base_url,
        "include_assets_files": False,
        "external_stylesheets": [
            f"{base_url}assets/{path.name}" for path in sorted(ASSETS.glob("*.css")) if path.name not in BOARD_IGNORES
        ],
    }


class _Board(dash.Dash):
    def _setup_plotlyjs(self) -> None:
        """Registers nothing. Dash registers its full plotly.js bundle (4.8 MB) for dcc.Graph to load when the
        page has no `window.Plotly`; this page always has one (PLOTLY_BUNDLE), so a request for that bundle is
        a cheap 404 rather than megabytes to compress."""


def create_app(settings: Settings, migrate: bool = True) -> dash.Dash:
    """A fresh app for these settings. Never runs probes; reads the store and RQ's state only."""
    reader = Reader(settings)
    if migrate:
        try:
            reader.migrate(timeout_s=WEB_MIGRATE_TIMEOUT_S)  # logs what it applied
        except Unavailable as exc:
            # The page still serves (and says why); the reader migrates on its first successful contact.
            log.warning("migrations deferred: %s", exc)

    server = Server(__name__)
    server.extensions[audit.READER] = reader
    auth.install(server, settings)  # first: its guard runs before every other hook
    server.register_blueprint(api.blueprint(reader, settings))
    server.register_blueprint(metrics.blueprint(reader, settings))
    status_page.install(server, reader, settings)
    server.register_blueprint(operator.blueprint(reader, settings))
    server.register_error_handler(HTTPException, api.json_errors)

    static_files.install(server)  # compression: registered before the hooks below, so it runs after them
    app = _Board(
        __name__,
        server=server,
        title=layout.PRODUCT,
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,
        compress=False,  # static_files.install did: flask-compress, each static file compressed once
        # Always from this server, whatever ASSETS_BASE_URL says: the CSP allows scripts from 'self' only.
        external_scripts=[f"/assets/{PLOTLY_BUNDLE}?v={PLOTLY_BUNDLE_VERSION}"],
        assets_ignore="^(" + "|".join(map(re.escape, BOARD_IGNORES)) + ")$",
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        **_assets_from_cdn(settings.assets_base_url),
    )
    app.layout = layout.page(settings, app.get_asset_url)
    callbacks.register(app, reader, settings)
    callback_guard.install(app)
    # After every callback exists: the CSP allows exactly the hashes of Dash's own inline scripts.
    security.install(server, settings, script_hashes=app.csp_hashes())
    wrap_server(server, settings.edge)  # last: its WSGI wrappers run before everything above
    return app
