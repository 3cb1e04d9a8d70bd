"""The AWS sandbox (moto + Roles Anywhere emulator), started once for the AWS tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.aws import AwsSandbox


@pytest.fixture(scope="session")
def aws_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsSandbox]:
    sandbox = AwsSandbox.start(tmp_path_factory.mktemp("aws-sandbox"))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def aws_env(aws_sandbox: AwsSandbox) -> dict[str, str]:
    """Environment for the AWS probes against the sandbox (no database settings: the probes do not need them)."""
    return {**aws_sandbox.env, "PROBE_INTERVAL_S": "10", "PROBE_TIMEOUT_S": "5", "PROBE_LOCATION": "test"}
