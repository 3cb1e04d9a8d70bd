"""The AWS probes' environment against the session's AWS sandbox (the `aws_sandbox` fixture, tests/conftest.py)."""

from __future__ import annotations

import pytest

from sandbox.aws import AwsSandbox


@pytest.fixture
def aws_env(aws_sandbox: AwsSandbox) -> dict[str, str]:
    """Environment for the AWS probes against the sandbox (no database settings: the probes do not need them)."""
    return {**aws_sandbox.env, "PROBE_INTERVAL_S": "10", "PROBE_TIMEOUT_S": "5", "PROBE_LOCATION": "test"}
