"""Sign-in through any standard OpenID Connect provider (Google Workspace, Microsoft Entra ID, Okta, Keycloak).

Authlib's Flask client, rather than dash-auth (whose OIDC support is a thin layer over the same client and
guards only Dash's own routes): it runs the authorization code flow with PKCE (S256), keeps state, nonce and
the code verifier in the signed session and checks them on the way back, and verifies the ID token's
signature against the provider's JWKS and its iss, aud, exp and nonce claims. This module adds only who
may enter (`refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping

import flask
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from joserfc.errors import JoseError

from dashapp.security import came_over_https
from jobs.defaults import OIDC_PROVIDER_TIMEOUT_S
from jobs.settings import AccessSettings

CALLBACK = "/oidc/callback"
SCOPES = "openid email profile"
# What a failed exchange with the provider can raise: its error answer, a token that does not verify, a
# provider that does not answer or answers nonsense.
FAILURES = (OAuthError, JoseError, requests.RequestException, ValueError, KeyError)


class Provider:
    """The provider's client, registered on the server from the settings."""

    def __init__(self, server: flask.Flask, access: AccessSettings) -> None:
        self.access = access
        self.client = OAuth(server).register(
            name="oidc",
            client_id=access.oidc_client_id,
            client_secret=access.oidc_client_secret,
            server_metadata_url=f"{access.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                "default_timeout": OIDC_PROVIDER_TIMEOUT_S,
            },
        )

    def redirect(self) -> flask.Response:
        """Send the browser to the provider's sign-in page."""
        return self.client.authorize_redirect(callback_url(self.access.public_url))

    def identity(self) -> Mapping[str, object]:
        """The verified ID token's claims of the provider's answer on the callback. Raises one of FAILURES."""
        token = self.client.authorize_access_token()
        claims = token.get("userinfo")
        if not claims:
            raise ValueError("the provider sent no ID token")
        return claims


def callback_url(public_url: str | None) -> str:
    """The redirect URI registered at the provider: under PUBLIC_URL when set (behind CloudFront the app sees
    App Platform's host), else this host, https when the request came over it (the platform's proxy
    terminates TLS and says so in X-Forwarded-Proto)."""
    if public_url:
        return f"{public_url}{CALLBACK}"
    scheme = "https" if came_over_https(flask.request) else flask.request.scheme
    return f"{scheme}://{flask.request.host}{CALLBACK}"


def identity_name(claims: Mapping[str, object]) -> str:
    """Who this is, for the audit log: the e-mail address, else the provider's subject id."""
    return str(claims.get("email") or claims.get("sub") or "?")


def refusal(claims: Mapping[str, object], access: AccessSettings) -> str | None:
    """Why this identity may not enter (one line for the audit log), or None when it may."""
    verified = claims.get("email_verified")
    if verified is not None and verified not in (True, "true"):
        return "the provider says the e-mail address is not verified"
    if access.allowed_emails or access.allowed_domains:
        email = str(claims.get("email") or "").lower()
        if not email:
            return "the provider sent no e-mail address"
        if email not in access.allowed_emails and email.rpartition("@")[2] not in access.allowed_domains:
            return "e-mail address not in AUTH_ALLOWED_EMAILS or AUTH_ALLOWED_DOMAINS"
    if access.allowed_groups:
        groups = claims.get(access.oidc_groups_claim)
        if isinstance(groups, str):
            groups = [groups]
        if not isinstance(groups, list) or not {str(g) for g in groups} & access.allowed_groups:
            return f"not in AUTH_ALLOWED_GROUPS (claim {access.oidc_groups_claim!r})"
    return None
