"""Where the page loads /assets from: this server by default, the CDN when ASSETS_BASE_URL is set."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from flask_compress import flask_compress

from dashapp.factory import PLOTLY_BUNDLE, PLOTLY_BUNDLE_VERSION, create_app
from jobs.settings import load


def stylesheets(env: dict[str, str]) -> tuple[list[str], str]:
    response = create_app(load(env), migrate=False).server.test_client().get("/")
    assert response.status_code == 200
    hrefs = re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.get_data(as_text=True))
    return hrefs, response.headers["Content-Security-Policy"]


def test_assets_come_from_this_server_by_default() -> None:
    hrefs, csp = stylesheets({})
    assert [h.split("?")[0] for h in hrefs] == ["/assets/bootstrap.min.css", "/assets/style.css"]
    assert "style-src 'self' 'unsafe-inline';" in csp


def test_assets_come_from_the_cdn_when_assets_base_url_is_set() -> None:
    hrefs, csp = stylesheets({"ASSETS_BASE_URL": "https://cdn.example.com/monitor"})
    assert hrefs == [
        "https://cdn.example.com/monitor/assets/bootstrap.min.css",
        "https://cdn.example.com/monitor/assets/style.css",
    ]
    assert "style-src 'self' 'unsafe-inline' https://cdn.example.com;" in csp


def test_assets_are_gzip_compressed_for_a_client_that_accepts_only_gzip() -> None:
    client = create_app(load({}), migrate=False).server.test_client()
    for path in ("/assets/bootstrap.min.css", "/assets/plotly-basic.min.js"):
        plain = client.get(path).get_data()
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(response.get_data()) == plain
        assert int(response.headers["Content-Length"]) < len(plain) / 2


def board_scripts(client) -> list[str]:
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'<script[^>]*src="([^"]+)"', html)


def test_the_full_plotly_bundle_is_neither_registered_nor_served() -> None:
    """The page draws with the basic bundle from /assets; Dash's full one (4.8 MB) would only be work to serve."""
    app = create_app(load({}), migrate=False)
    client = app.server.test_client()
    scripts = board_scripts(client)
    assert f"/assets/{PLOTLY_BUNDLE}?v={PLOTLY_BUNDLE_VERSION}" in scripts
    assert "plotly" not in app.registered_paths
    for path in ("/_dash-component-suites/plotly/package_data/plotly.min.js", "/_dash-component-suites/plotly/x.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 404
        assert len(response.get_data()) < 100


def test_each_static_file_is_compressed_once_per_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    compressed: list[tuple[int, str]] = []
    original = flask_compress._compress_data

    def counting(app, data: bytes, algorithm: str) -> bytes:
        compressed.append((len(data), algorithm))
        return original(app, data, algorithm)

    monkeypatch.setattr(flask_compress, "_compress_data", counting)
    client = create_app(load({}), migrate=False).server.test_client()
    suites = [s for s in board_scripts(client) if s.startswith("/_dash-component-suites/")]
    core = next(s for s in suites if "dash_core_components." in s)
    # Other spellings of the same files: another fingerprint, dot segments, another query.
    spellings = {
        f"/assets/{PLOTLY_BUNDLE}?v={PLOTLY_BUNDLE_VERSION}": [
            f"/assets/./{PLOTLY_BUNDLE}",
            f"/assets/{PLOTLY_BUNDLE}?v=9",
        ],
        core: [
            re.sub(r"\.v[\w-]+m\d+\.", ".v0_0_0m1.", core),
            "/_dash-component-suites/dash/dcc/dash_core_components.js",
        ],
    }
    compressed.clear()
    for encoding, decompress in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        for first, others in spellings.items():
            plain = client.get(first).get_data()
            for path in [first, *others, first]:
                response = client.get(path, headers={"Accept-Encoding": encoding})
                assert response.status_code == 200, path
                assert response.headers["Content-Encoding"] == encoding
                assert decompress(response.get_data()) == plain
    assert sorted(algorithm for _, algorithm in compressed) == ["br", "br", "gzip", "gzip"]

    # Dynamic responses are compressed on every request.
    compressed.clear()
    for _ in range(3):
        assert client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert [algorithm for _, algorithm in compressed] == ["gzip"] * 3


def test_fingerprinted_static_files_are_cached_for_a_year_and_the_rest_revalidated() -> None:
    client = create_app(load({}), migrate=False).server.test_client()
    immutable = "public, max-age=31536000, immutable"
    fingerprinted = [s for s in board_scripts(client) if not s.startswith("/_dash-component-suites/plotly")]
    assert any(s.startswith("/_dash-component-suites/") for s in fingerprinted)
    for path in fingerprinted:
        assert client.get(path).headers["Cache-Control"] == immutable, path
    for path in ("/_dash-component-suites/dash/dcc/async-graph.js", "/assets/style.css"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["Cache-Control"] == "no-cache", path
        # The compressed file's ETag answers a revalidation with a 304 and no body.
        etag = response.headers["ETag"]
        again = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.get_data() == b""
