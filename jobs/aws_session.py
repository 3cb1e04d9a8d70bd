"""What the two AWS probes share: an IAM Roles Anywhere session with bounded waits, botocore's client config,
the per-process session whose credentials refresh themselves, the clock of each request's round trip on the
wire, error lines, and keeping secrets out of logs.

No AWS keys exist anywhere: the certificate and its private key (bytes in memory) buy temporary credentials
through CreateSession.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.httpsession import URLLib3Session
from iam_rolesanywhere_session import CredentialsRetrievalError, IAMRolesAnywhereSession

from jobs.result import one_line
from jobs.settings import AwsSettings

# Debug messages of botocore and the Roles Anywhere library that carry response bodies (a secret's value, fresh
# credentials), request headers (session token, signature) or signing material. Dropped whatever the log level.
_SENSITIVE_DEBUG = {
    "botocore.parsers": ("Response headers: %r", "Response body:\n%r"),
    "botocore.endpoint": ("Making request for %s with params: %s", "Sending http request: %s"),
    "botocore.auth": ("CanonicalRequest:\n%s", "StringToSign:\n%s", "Signature:\n%s"),
    "iam_rolesanywhere_session.iam_rolesanywhere_session": (
        "CanonicalRequest:\n%s",
        "StringToSign:\n%s",
        "Signature:\n%s",
    ),
}


class _DropMessages(logging.Filter):
    def __init__(self, templates: tuple[str, ...]):
        super().__init__()
        self.templates = frozenset(templates)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self.templates


class _NoTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


def _install_log_filters() -> None:
    for name, templates in _SENSITIVE_DEBUG.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(templates))
    # A failed refresh is logged by botocore with its traceback every cycle; the probe's row already says why
    # in one line.
    refresh = logging.getLogger("botocore.credentials")
    if not any(isinstance(f, _NoTraceback) for f in refresh.filters):
        refresh.addFilter(_NoTraceback())


_install_log_filters()


def timeouts(timeout_s: float) -> tuple[float, float]:
    """(connect, read) per request: one stalled request fails within the probe deadline."""
    return timeout_s / 2, timeout_s / 2


def client_config(timeout_s: float) -> Config:
    connect, read = timeouts(timeout_s)
    # One attempt: a probe reports what it found, the next cycle is the retry, and retries would break the deadline.
    return Config(connect_timeout=connect, read_timeout=read, retries={"mode": "standard", "total_max_attempts": 1})


# The round trip of the request the current thread has on the wire: (sent at, answered at or None).
_wire = threading.local()


def _sent(**_: object) -> None:
    _wire.sent, _wire.answered = time.perf_counter(), None


def _answered(**_: object) -> None:
    _wire.answered = time.perf_counter()


@contextmanager
def round_trip(phases: dict[str, float], name: str) -> Iterator[None]:
    """Record as phase `name` the time the request made inside took on the wire: from its first byte sent (signed
    and serialised) to its response read whole (before parsing), so our own CPU work around it, and the waits
    for the interpreter it holds, stay out. A request that failed counts until the failure; none sent, 0."""
    _wire.sent = _wire.answered = None
    try:
        yield
    finally:
        sent, answered = _wire.sent, _wire.answered or time.perf_counter()
        phases[name] = 0.0 if sent is None else round((answered - sent) * 1000, 3)


def timed_on_the_wire(client: BaseClient) -> BaseClient:
    """`client`, its requests timed by `round_trip` (botocore's events just before sending and before parsing)."""
    client.meta.events.register("before-send", _sent)
    client.meta.events.register("before-parse", _answered)
    return client


class _TimedURLLib3Session(URLLib3Session):
    """botocore's HTTP session for the library's CreateSession, timed by `round_trip` (it reads the body whole)."""

    def send(self, request):  # type: ignore[no-untyped-def]
        _sent()
        response = super().send(request)
        _answered()
        return response


class _BoundedRolesAnywhereSession(IAMRolesAnywhereSession):
    """`IAMRolesAnywhereSession` whose CreateSession request has connect/read timeouts and is timed on the wire.

    The library sends CreateSession through a botocore `URLLib3Session` it builds in `__init__` without a timeout
    (so botocore's default of 60 s applies) and offers no argument to change that. We replace that one object
    with an identical session that has the timeout; signing, proxies and TLS verification stay the library's.
    """

    def __init__(self, *, timeout_s: float, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self._session = _TimedURLLib3Session(
            verify=self.verify, proxies=self.proxies, proxies_config=self.proxies_config, timeout=timeouts(timeout_s)
        )


@lru_cache(maxsize=4)
def roles_anywhere_session(aws: AwsSettings, timeout_s: float) -> IAMRolesAnywhereSession:
    """One Roles Anywhere session per settings and process, so the certificate and the private key are parsed
    once (the key stays in memory). Nothing is sent until credentials are asked for; each
    `get_refreshable_credentials().get_frozen_credentials()` is a new CreateSession."""
    return _BoundedRolesAnywhereSession(
        timeout_s=timeout_s,
        profile_arn=aws.profile_arn,
        role_arn=aws.role_arn,
        trust_anchor_arn=aws.trust_anchor_arn,
        certificate=aws.certificate_pem,
        certificate_chain=aws.chain_pem,
        private_key=aws.private_key_pem,
        region=aws.region,
        endpoint=aws.rolesanywhere_endpoint,
        verify=aws.ca_bundle or True,
    )


# The credentials the current thread's check signs with (`signing_with`).
_signing = threading.local()


class _ThisThreadsCredentials(Credentials):
    """Credentials that are whatever the calling thread set with `signing_with`: one client, built once, signs
    each call with the credentials of the check making it."""

    def __init__(self) -> None:
        super().__init__("", "", method="this-check")

    def get_frozen_credentials(self) -> ReadOnlyCredentials | None:
        # None outside `signing_with`: botocore then refuses to send (NoCredentialsError).
        return getattr(_signing, "credentials", None)


class _ThisThreadsProvider(CredentialProvider):
    METHOD = "this-check"
    CANONICAL_NAME = "custom-this-check"

    def load(self) -> Credentials:
        return _ThisThreadsCredentials()


@contextmanager
def signing_with(credentials: ReadOnlyCredentials) -> Iterator[None]:
    """Within, clients from `client_for_given_credentials` sign this thread's calls with `credentials`."""
    _signing.credentials = credentials
    try:
        yield
    finally:
        _signing.credentials = None


@lru_cache(maxsize=8)
def client_for_given_credentials(
    service: str, aws: AwsSettings, endpoint_url: str | None, timeout_s: float
) -> BaseClient:
    """One client per service, settings and process (its service model loaded once), timed on the wire, signing
    with the credentials given by `signing_with`; clients are thread-safe."""
    session = botocore.session.get_session()
    session.register_component("credential_provider", CredentialResolver([_ThisThreadsProvider()]))
    client = session.create_client(
        service,
        region_name=aws.region,
        endpoint_url=endpoint_url,
        verify=aws.ca_bundle or None,
        config=client_config(timeout_s),
    )
    return timed_on_the_wire(client)


@lru_cache(maxsize=4)
def shared_session(aws: AwsSettings, timeout_s: float) -> boto3.Session:
    """One boto3 session per settings and process. Its credentials come from CreateSession on first use and are
    refreshed by botocore shortly before they expire, so callers do not run CreateSession on every call."""
    return roles_anywhere_session(aws, timeout_s).get_session()


def describe_error(exc: BaseException, action: str, timeout_s: float) -> str:
    """One actionable line for a failed AWS call; never holds credentials (botocore's messages do not)."""
    if isinstance(exc, CredentialsRetrievalError):
        verb = "denied" if exc.status_code == 403 else "failed"
        return one_line(f"CreateSession {verb} ({exc.status_code}): {exc.message}")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return one_line(f"{action} failed ({status}): {error.get('Code', 'error')}: {error.get('Message', '')}")
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return one_line(f"{action} timed out after {timeouts(timeout_s)[1]:g} s: {exc}")
    if isinstance(exc, BotoCoreError):
        return one_line(f"{action} failed: {exc}")
    return one_line(f"{action} failed: {type(exc).__name__}: {exc}")


NOT_CONFIGURED_HINT = (
    "set AWS_REGION, IAM_TRUST_ANCHOR_ARN, IAM_PROFILE_ARN, IAM_ROLE_ARN, IAM_CLIENT_CERT, IAM_CLIENT_KEY "
    "and SECRETS_MANAGER_SECRET_NAME"
)
