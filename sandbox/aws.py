"""The local AWS sandbox: moto's server (STS, Secrets Manager) and the Roles Anywhere emulator, on 127.0.0.1.

`start_sandbox(directory)` starts both, seeds the secret, and returns `(env, stop)`; `AwsSandbox.start()`
returns the running sandbox itself (for the tests). The env points the app at them with the settings a user
would use for any AWS-compatible endpoint (botocore's `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_CA_BUNDLE`, plus
`AWS_ENDPOINT_URL_ROLESANYWHERE`). The app's probes get no AWS keys: only the certificate and key, as in
production. The dummy keys below are used solely by the sandbox itself to talk to moto and are passed to
boto3 explicitly, never through the environment. `python -m sandbox.aws DIR` runs it in a process of its own
(the benchmarks do). Development only: the product never imports this module.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.faults import Faults, for_sandbox, moto_middleware
from sandbox.pki import KeyType, SandboxPki, ensure_pki
from sandbox.rolesanywhere import RolesAnywhereEmulator
from sandbox.rolesanywhere_checks import Config, Profile

REGION = "us-east-1"
# moto's default account: credentials it issues through AssumeRole act in the role's account.
ACCOUNT = "123456789012"
TRUST_ANCHOR_ARN = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:trust-anchor/sandbox-trust-anchor"
PROFILE_ARN = f"arn:aws:rolesanywhere:{REGION}:{ACCOUNT}:profile/sandbox-profile"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/hybrid-monitor-probe"
SECRET_NAME = "hybrid-monitor/probe"
_MOTO_KEYS = {"aws_access_key_id": "sandbox-moto", "aws_secret_access_key": "sandbox-moto"}  # dummies for moto


def _b64(pem: bytes) -> str:
    return base64.b64encode(pem).decode()


class _MotoServer:
    """moto's server (as moto's ThreadedMotoServer runs it) behind the faults middleware, on a free port."""

    def __init__(self, faults: Faults):
        app = moto_middleware(DomainDispatcherApplication(create_backend_app), faults)
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class AwsSandbox:
    """The running sandbox: `env` for the app, `stop()` to shut it down, `faults` to break its services."""

    env: dict[str, str]
    pki: SandboxPki
    moto_url: str
    emulator: RolesAnywhereEmulator
    faults: Faults
    _moto: _MotoServer = field(repr=False)

    def client(self, service: str):  # type: ignore[no-untyped-def]
        """A boto3 client for moto with the sandbox's own dummy keys (seeding and tests, never the probes)."""
        return boto3.client(service, region_name=REGION, endpoint_url=self.moto_url, **_MOTO_KEYS)

    @classmethod
    def start(cls, directory: Path, key_type: KeyType = "rsa") -> AwsSandbox:
        """Start moto and the emulator, seed the secret, and return the running sandbox."""
        return _start(directory, key_type)

    def stop(self) -> None:
        self.emulator.stop()
        self._moto.stop()

    def __enter__(self) -> AwsSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(directory: Path, key_type: KeyType = "rsa") -> tuple[dict[str, str], Callable[[], None]]:
    """Start the sandbox; return the environment for the app and the function that stops it.

    `directory` (`.local/sandbox/` for `make run`) keeps the development PKI between runs, and the switches
    of its broken services under `faults/` (cleared at start: a new sandbox starts healed).
    """
    sandbox = AwsSandbox.start(directory, key_type)
    return dict(sandbox.env), sandbox.stop


def _start(directory: Path, key_type: KeyType) -> AwsSandbox:
    pki = ensure_pki(Path(directory), key_type)
    # werkzeug logs every request moto serves; in `make run` that is four lines a minute of noise.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    faults = for_sandbox(Path(directory))
    faults.heal()
    moto = _MotoServer(faults)
    moto_url = moto.url
    sts = boto3.client("sts", region_name=REGION, endpoint_url=moto_url, **_MOTO_KEYS)

    def assume_role(role_arn: str, session_name: str, source_identity: str, duration: int) -> dict:
        return sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, SourceIdentity=source_identity, DurationSeconds=duration
        )

    config = Config(
        region=REGION,
        trust_anchors={TRUST_ANCHOR_ARN: pki.ca.cert},
        profiles={PROFILE_ARN: Profile(role_arns=(ROLE_ARN,), duration_seconds=3600)},
    )
    emulator = RolesAnywhereEmulator(config, assume_role, pki.server_cert_path, pki.server_key_path, faults).start()
    sandbox = AwsSandbox({}, pki, moto_url, emulator, faults, moto)
    # A fresh value each start: it exists only to prove the probes never reveal it.
    value = json.dumps({"username": "probe", "password": secrets.token_urlsafe(24)})
    client = sandbox.client("secretsmanager")
    try:
        client.create_secret(Name=SECRET_NAME, SecretString=value)
    except client.exceptions.ResourceExistsException:
        # moto keeps its state per Python process, so a second sandbox in one process finds the secret.
        client.put_secret_value(SecretId=SECRET_NAME, SecretString=value)
    sandbox.env.update(
        {
            "APP_ENVIRONMENT": "local sandbox",
            "AWS_REGION": REGION,
            "IAM_TRUST_ANCHOR_ARN": TRUST_ANCHOR_ARN,
            "IAM_PROFILE_ARN": PROFILE_ARN,
            "IAM_ROLE_ARN": ROLE_ARN,
            "IAM_CLIENT_CERT": _b64(pki.client.cert),
            "IAM_CLIENT_KEY": _b64(pki.client.key),
            "SECRETS_MANAGER_SECRET_NAME": SECRET_NAME,
            "AWS_ENDPOINT_URL_ROLESANYWHERE": emulator.url,
            "AWS_ENDPOINT_URL_STS": moto_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_url,
            "AWS_CA_BUNDLE": str(pki.ca_path),
        }
    )
    return sandbox


def serve(directory: Path) -> None:
    """Run the sandbox in this process until stdin closes, after printing its environment as one JSON line: a
    benchmark runs it so, in a process of its own, so the servers' work does not share the measured process's
    interpreter (as under `make run`, where the launcher runs it apart from the worker)."""
    env, stop = start_sandbox(directory)
    try:
        print(json.dumps(env), flush=True)
        sys.stdin.read()
    finally:
        stop()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
