"""Where the page loads /assets from: this server by default, the CDN when ASSETS_BASE_URL is set."""

from __future__ import annotations

import gzip
import re

from dashapp.factory import create_app
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
