"""CSRF tokens for requests that change state (sign-in and sign-out forms, silences, test notifications).

A random token kept in the signed session; a form sends it in the `csrf_token` field, a script's fetch in
the X-CSRF-Token header. `csrf_token()` for the page, `check_csrf()` (or `@csrf_protected`) in the view.
Requests authenticated by a bearer token carry no cookie, so no other site can forge them: they skip it.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

import flask

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SESSION_KEY = "csrf"
BEARER = "bearer"  # flask.g.auth_via when the request came with API_TOKEN (dashapp.auth)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

_V = TypeVar("_V", bound=Callable[..., object])


def csrf_token() -> str:
    """This session's token (made on first use)."""
    token = flask.session.get(SESSION_KEY)
    if not token:
        token = flask.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def renew_csrf_token() -> None:
    """A new token, at sign-in: a token seen before it (a login form's) is worth nothing after."""
    flask.session[SESSION_KEY] = secrets.token_urlsafe(32)


def check_csrf() -> None:
    """Refuse (403, one line) a request whose token is missing or not this session's."""
    if flask.g.get("auth_via") == BEARER:
        return
    given = flask.request.form.get(FIELD) or flask.request.headers.get(HEADER) or ""
    expected = flask.session.get(SESSION_KEY) or ""
    if not (given and expected and hmac.compare_digest(given.encode(), expected.encode())):
        flask.abort(403, "the form's CSRF token is missing or out of date: reload the page and try again")


def csrf_protected(view: _V) -> _V:
    """A view whose state-changing methods (POST, PUT, DELETE, …) must carry the session's token."""

    @functools.wraps(view)
    def checked(*args: object, **kwargs: object) -> object:
        if flask.request.method not in SAFE_METHODS:
            check_csrf()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]
