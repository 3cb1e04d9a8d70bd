"""Builds the web app from settings: one Flask server carrying the Dash page, the API, /metrics and the badge."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from flask import Flask
from werkzeug.exceptions import HTTPException

from dashapp import api, callback_guard, callbacks, layout, metrics, security
from dashapp.reader import Reader, Unavailable
from jobs.settings import Settings

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Migrations may take longer than a request's bound; they run once, at start.
MIGRATE_TIMEOUT_S = 30.0


def _assets_from_cdn(base_url: str | None) -> dict[str, object]:
    """Dash arguments that load /assets from the CDN. With serve_locally (Dash's own JavaScript from this
    server, never a public CDN) Dash ignores assets_external_path for the asset files it finds itself, so
    the stylesheets are named explicitly and the folder is not scanned."""
    if not base_url:
        return {}
    return {
        "assets_external_path": base_url,
        "include_assets_files": False,
        "external_stylesheets": [f"{base_url}assets/{path.name}" for path in sorted(ASSETS.glob("*.css"))],
    }


def create_app(settings: Settings, migrate: bool = True) -> dash.Dash:
    """A fresh app for these settings. Never runs probes; reads the store and RQ's state only."""
    reader = Reader(settings)
    if migrate:
        try:
            applied = reader.migrate(timeout_s=MIGRATE_TIMEOUT_S)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
        except Unavailable as exc:
            # The page still serves (and says why); the reader migrates on its first successful contact.
            log.warning("migrations deferred: %s", exc)

    server = Flask(__name__)
    server.register_blueprint(api.blueprint(reader, settings))
    server.register_blueprint(metrics.blueprint(reader, settings))
    server.register_error_handler(HTTPException, api.json_errors)

    app = dash.Dash(
        __name__,
        server=server,
        title=layout.PRODUCT,
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,
        compress=True,  # gzip/brotli via flask-compress: plotly.js alone is ~4.6 MB uncompressed
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
        **_assets_from_cdn(settings.assets_base_url),
    )
    app.layout = layout.page(settings, app.get_asset_url)
    callbacks.register(app, reader, settings)
    callback_guard.install(app)
    # After every callback exists: the CSP allows exactly the hashes of Dash's own inline scripts.
    security.install(server, settings, script_hashes=app.csp_hashes())
    server.extensions["hybrid_monitor_reader"] = reader
    return app
