"""Builds the web app from settings: one Flask server carrying the Dash page, the API, /metrics and the badge."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from flask import Flask
from werkzeug.exceptions import HTTPException

from dashapp import api, callbacks, layout, metrics
from dashapp.reader import Reader, Unavailable
from jobs.settings import Settings

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Migrations may take longer than a request's bound; they run once, at start.
MIGRATE_TIMEOUT_S = 30.0


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
    # Security headers and the /rq dashboard behind basic auth are installed here by dashapp.security:
    # security.install(server, settings)

    app = dash.Dash(
        __name__,
        server=server,
        title=layout.PRODUCT,
        assets_folder=str(ASSETS),
        serve_locally=True,
        update_title=None,
        compress=True,  # gzip/brotli via flask-compress: plotly.js alone is ~4.6 MB uncompressed
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = layout.page(settings, app.get_asset_url)
    callbacks.register(app, reader, settings)
    server.extensions["hybrid_monitor_reader"] = reader
    return app
