"""What the sign-in tests share: settings of each AUTH_MODE, a real OpenID Connect provider on localhost
(the `oidc_issuer` fixture of tests/conftest.py), and signing in through the web's own forms and redirects."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import requests
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

USERNAME, PASSWORD = "ops", "correct-horse-battery-staple"
PASSWORD_HASH = generate_password_hash(PASSWORD)
SESSION_SECRET = "test-session-secret-" + "k7" * 12
API_TOKEN = "api-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789abcdef"
CLIENT_ID, CLIENT_SECRET = "hybrid-monitor", "oidc-client-secret-5e6f"
ALLOWED_DOMAIN, ALLOWED_EMAIL = "example.com", "guest@partner.org"
# Every secret of the settings below: never in an answer.
SECRETS = (PASSWORD, PASSWORD_HASH, SESSION_SECRET, API_TOKEN, METRICS_TOKEN, CLIENT_SECRET)
MODES = ("none", "basic", "oidc")


def access_env(mode: str, issuer: str = "") -> dict[str, str]:
    """The settings of an AUTH_MODE, with both bearer tokens."""
    env = {"AUTH_MODE": mode, "API_TOKEN": API_TOKEN, "METRICS_TOKEN": METRICS_TOKEN}
    if mode == "basic":
        env.update(AUTH_BASIC_USERNAME=USERNAME, AUTH_BASIC_PASSWORD_HASH=PASSWORD_HASH)
    if mode == "oidc":
        env.update(
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID=CLIENT_ID,
            OIDC_CLIENT_SECRET=CLIENT_SECRET,
            AUTH_ALLOWED_DOMAINS=ALLOWED_DOMAIN,
            AUTH_ALLOWED_EMAILS=ALLOWED_EMAIL,
        )
    if mode != "none":
        env["SESSION_SECRET"] = SESSION_SECRET
    return env


def form_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = re.search(r'name=csrf_token value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def basic_sign_in(client: FlaskClient, password: str = PASSWORD, next_path: str = "/"):  # type: ignore[no-untyped-def]
    """Fill the sign-in form as a browser would; the answer to its POST."""
    page = client.get("/login?next=" + quote(next_path, safe=""))
    token = form_token(page.get_data(as_text=True))
    form = {"username": USERNAME, "password": password, "csrf_token": token, "next": next_path}
    return client.post("/login", data=form)


def provider_answer(client: FlaskClient, issuer: str, sub: str, claims: dict | None, next_path: str = "/") -> str:
    """Start the sign-in, let the provider sign `sub` in (with these claims), and return the callback path and
    query the provider sends the browser back to."""
    if claims is not None:
        requests.put(f"{issuer}/users/{quote(sub)}", json=claims, timeout=10).raise_for_status()
    start = client.get("/login?next=" + quote(next_path, safe=""))
    assert start.status_code == 302 and start.location.startswith(issuer + "/oauth2/authorize?"), start.location
    answer = requests.post(start.location, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def oidc_sign_in(client: FlaskClient, issuer: str, sub: str, claims: dict | None, next_path: str = "/"):  # type: ignore[no-untyped-def]
    """The whole OIDC sign-in through the provider; the answer to the callback."""
    return client.get(provider_answer(client, issuer, sub, claims, next_path))
