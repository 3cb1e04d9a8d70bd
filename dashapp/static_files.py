"""How the web serves its static files (Dash's component suites and /assets): compressed once per process and
encoding, not per request, and cached for a year by browsers and CloudFront when the URL carries a fingerprint.

flask-compress compresses every response it is given; with its cache it compresses a response the first time and
then reuses the bytes under a key. Only static files get a key here, one per file whatever URL named it (Dash
accepts any fingerprint, and a path can be spelled many ways), so the cache holds at most the files this server
serves, once per encoding. Dynamic responses (the API, Dash's callbacks) are compressed per request as before.
"""

from __future__ import annotations

import posixpath

import flask
from dash.fingerprint import check_fingerprint
from flask_compress import Compress

ASSETS_ENDPOINT = "_dash_assets.static"
SUITES_PREFIX = "/_dash-component-suites/"
# Dash names an /assets file with ?m=<its mtime>, the page names the plotly bundle with ?v=<its version>.
ASSET_FINGERPRINTS = ("m", "v")
IMMUTABLE = "public, max-age=31536000, immutable"


class StaticCache:
    """flask-compress's cache backend: keeps the compressed bytes of keyed (static) responses only."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):  # "<encoding>;" is a dynamic response's key: never kept
            self._data[key] = value


def static_key(request: flask.Request) -> str:
    """The static file a request names ("" for anything else). flask-compress asks only for responses it is
    about to compress, that is 2xx ones, so the file exists."""
    args = request.view_args or {}
    if request.endpoint == ASSETS_ENDPOINT:
        return "assets/" + posixpath.normpath(args["filename"])
    if request.path.startswith(SUITES_PREFIX) and "fingerprinted_path" in args:
        return f"suites/{args['package_name']}/{check_fingerprint(args['fingerprinted_path'])[0]}"
    return ""


def _whole_asset_files(response: flask.Response) -> flask.Response:
    """Dash serves /assets files as file streams, which flask-compress compresses only with its streaming
    algorithms (never gzip) and never caches; read whole, they are compressed once like every static file."""
    if response.status_code == 200 and response.is_streamed and flask.request.endpoint == ASSETS_ENDPOINT:
        response.direct_passthrough = False
        response.make_sequence()
    return response


def _cache_headers(response: flask.Response) -> flask.Response:
    """A fingerprinted URL's content never changes: a year, for browsers and CloudFront alike. Other static
    files are revalidated with their ETag (Dash's lazily loaded chunks, e.g. async-graph.js, have none)."""
    request = flask.request
    if response.status_code != 200:
        return response
    if request.endpoint == ASSETS_ENDPOINT:
        if any(name in request.args for name in ASSET_FINGERPRINTS):
            response.headers["Cache-Control"] = IMMUTABLE
    elif request.path.startswith(SUITES_PREFIX):
        fingerprinted = check_fingerprint((request.view_args or {}).get("fingerprinted_path", ""))[1]
        response.headers["Cache-Control"] = IMMUTABLE if fingerprinted else "no-cache"
    return response


def install(server: flask.Flask) -> None:
    """Compression with flask-compress (its cache for static files), then this module's hooks, which run
    before it (Flask runs after-request hooks last registered first)."""
    server.config.update(COMPRESS_CACHE_BACKEND=StaticCache, COMPRESS_CACHE_KEY=static_key)
    Compress(server)
    server.after_request(_whole_asset_files)
    server.after_request(_cache_headers)
