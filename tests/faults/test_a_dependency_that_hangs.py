"""A dependency that hangs (accepts the connection, never answers), one at a time, in a full cycle with all
four services configured: that probe is down within PROBE_TIMEOUT_S + 1 s, the others are up, the cycle ends.
(Probe-level hangs: tests/test_probes.py, tests/test_cycle.py and tests/aws/test_aws_probes.py.)"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from jobs import cycle
from jobs.result import SERVICE_NAMES
from sandbox.aws import AwsSandbox
from tests.conftest import WORKING
from tests.faults.conftest import FAST

TIMEOUT_S = float(FAST["PROBE_TIMEOUT_S"])


def hung(service: str, port: int, env: dict[str, str]) -> dict[str, str]:
    """`env` with `service`'s endpoint moved to the silent port."""
    if service == "postgres":
        return {"DATABASE_URL": f"postgresql://monitor:pw@127.0.0.1:{port}/monitor"}
    if service == "valkey":
        return {"VALKEY_URL": f"redis://monitor:pw@127.0.0.1:{port}/0"}
    if service == "roles_anywhere":
        return {"AWS_ENDPOINT_URL_ROLESANYWHERE": f"https://127.0.0.1:{port}"}
    scheme = urlsplit(env["AWS_ENDPOINT_URL_SECRETS_MANAGER"]).scheme
    name = "AWS_ENDPOINT_URL_STS" if service == "sts" else "AWS_ENDPOINT_URL_SECRETS_MANAGER"
    return {name: f"{scheme}://127.0.0.1:{port}"}


# The service whose probe goes down with each hung endpoint: STS is Roles Anywhere's GetCallerIdentity check.
DOWN = {**{s: s for s in SERVICE_NAMES}, "sts": "roles_anywhere"}


@pytest.mark.parametrize("service", list(DOWN))
def test_a_dependency_that_hangs(
    service: str, base_env: dict[str, str], aws_sandbox: AwsSandbox, silent_port: int, monkeypatch
) -> None:
    env = {**base_env, **aws_sandbox.env, **FAST}
    env.update(hung(service, silent_port, env))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    results, _not_stored = cycle.probe_and_store(cycle.load(), cycle.slot_of(cycle.utcnow(), 2))
    statuses = {r.service: r for r in results}
    assert statuses[DOWN[service]].status.value == "down"
    assert statuses[DOWN[service]].latency_ms <= (TIMEOUT_S + 2) * 1000  # the deadline, with a loaded machine's margin
    # Secrets Manager is called with Roles Anywhere's credentials, so it is down with it; nothing else is.
    affected = {DOWN[service], "secrets_manager"} if DOWN[service] == "roles_anywhere" else {service}
    others = {s: r.status.value for s, r in statuses.items() if s not in affected}
    # Unaffected means working: on a loaded machine a check may take over half its time and read "degraded".
    assert set(others.values()) <= WORKING, {s: r.error for s, r in statuses.items()}
    # The whole cycle (probing, then storing or keeping) ends, bounded by a few timeouts.
    assert time.monotonic() - started < 4 * (TIMEOUT_S + 1)
