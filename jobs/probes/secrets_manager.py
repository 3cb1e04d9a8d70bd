"""AWS Secrets Manager: GetSecretValue with credentials from IAM Roles Anywhere.

The credentials are fetched once per process and refreshed by botocore shortly before they expire (not a
CreateSession per run; that is the Roles Anywhere probe's job). Only facts about the secret are reported (ARN,
version, its date, the value's size), never the value nor anything derived from it.

With SECRETS_MANAGER_WRITE=1 the probe also writes a small JSON with the probe time (PutSecretValue), as the
original proof of concept did. Off by default: every write makes a new version of the secret (AWS keeps the
latest ~100 and drops older ones), replaces whatever the secret held, and is one more billed API call per run
(at 1/min ≈ 43,000 calls a month, about $0.22 at $0.05 per 10,000), so point it only at a dedicated secret.

The latency is the requests' time on the wire; building and signing them is our own work, reported apart.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jobs.aws_session import (
    NOT_CONFIGURED_HINT,
    client_config,
    describe_error,
    round_trip,
    shared_session,
    timed_on_the_wire,
)
from jobs.probes.outcome import not_configured, result_of_check
from jobs.result import ProbeResult, Timer, utcnow
from jobs.settings import AwsSettings, Settings

SERVICE = "secrets_manager"


@lru_cache(maxsize=4)
def _client(aws: AwsSettings, timeout_s: float):  # type: ignore[no-untyped-def]
    # botocore clients are thread-safe and keep their connection pool, so one per settings and process.
    return timed_on_the_wire(
        shared_session(aws, timeout_s).client(
            "secretsmanager", endpoint_url=aws.secretsmanager_endpoint_url, config=client_config(timeout_s)
        )
    )


def prepare(settings: Settings) -> None:
    """Build the client (its service model loaded) now, once per settings and process."""
    if settings.aws is not None:
        _client(settings.aws, settings.probe_timeout_s)


def value_size(response: dict[str, Any]) -> int:
    """Size in bytes of the secret's value, the only thing reported about it."""
    if "SecretString" in response:
        return len(response["SecretString"].encode())
    return len(response.get("SecretBinary") or b"")


def probe(settings: Settings) -> ProbeResult:
    aws = settings.aws
    if aws is None:
        return not_configured(SERVICE, settings, NOT_CONFIGURED_HINT)
    timer = Timer()
    timeout = settings.probe_timeout_s
    detail: dict[str, Any] = {}
    error = None
    endpoint = aws.secretsmanager_endpoint
    action = "GetSecretValue"
    try:
        client = _client(aws, timeout)
        # A CreateSession only when botocore refreshes the process's credentials, else nothing on the wire.
        with round_trip(timer.phases, "credentials"):
            try:
                shared_session(aws, timeout).get_credentials().get_frozen_credentials()
            except Exception as exc:
                reason = describe_error(exc, "CreateSession", timeout)
                raise _NoCredentials(f"no AWS credentials: IAM Roles Anywhere failed ({reason})") from None
        with round_trip(timer.phases, "get_secret"):
            response = client.get_secret_value(SecretId=aws.secret_name)
        detail = {
            "secret_arn": response["ARN"],
            "version_id": response["VersionId"],
            "version_created": response["CreatedDate"].isoformat(),
            "value_bytes": value_size(response),
        }
        del response  # holds the value: keep it no longer than needed
        if aws.write_check:
            action = "PutSecretValue"
            with round_trip(timer.phases, "put_secret"):
                written = client.put_secret_value(
                    SecretId=aws.secret_name,
                    SecretString=json.dumps({"probe_time": utcnow().isoformat(), "location": settings.location}),
                )
            detail["written_version_id"] = written["VersionId"]
    except _NoCredentials as exc:
        error = str(exc)
    except Exception as exc:  # a probe never raises: any failure is this row's error
        error = describe_error(exc, action, timeout)
    return result_of_check(SERVICE, settings, endpoint, timer, detail, error)


class _NoCredentials(Exception):
    pass
