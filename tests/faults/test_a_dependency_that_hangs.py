"""A dependency that hangs (accepts the connection, never answers), one at a time, in a full cycle with all
four services configured: that probe is down (Secrets Manager too when Roles Anywhere hangs: no credentials),
every probe returns by itself within PROBE_TIMEOUT_S + 1 s, the others are up, the cycle ends.
(Probe-level hangs: tests/test_probes.py, tests/test_cycle.py and tests/aws/test_aws_probes.py.)"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from jobs import cycle
from jobs.probes import PROBES, Probe
from jobs.result import SERVICE_NAMES, ProbeResult
from jobs.settings import Settings
from sandbox.aws import AwsSandbox
from tests.conftest import WORKING
from tests.faults.conftest import FAST
from tests.stack_support import wait_until

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


def timed(probes: dict[str, Probe], monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Each probe's own wall clock, from its start to its return, filled in as each returns: a probe the
    cycle abandoned at its deadline has none until it returns by itself."""
    took: dict[str, float] = {}

    def timing(service: str, probe: Probe) -> Probe:
        def run(settings: Settings) -> ProbeResult:
            started = time.monotonic()
            try:
                return probe(settings)
            finally:
                took[service] = time.monotonic() - started

        return run

    for service, probe in list(probes.items()):
        monkeypatch.setitem(probes, service, timing(service, probe))
    return took


@pytest.mark.parametrize("service", list(DOWN))
def test_a_dependency_that_hangs(
    service: str, base_env: dict[str, str], aws_sandbox: AwsSandbox, silent_port: int, monkeypatch
) -> None:
    env = {**base_env, **aws_sandbox.env, **FAST}
    env.update(hung(service, silent_port, env))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    took = timed(PROBES, monkeypatch)
    started = time.monotonic()
    results, _not_stored = cycle.probe_and_store(cycle.load(), cycle.slot_of(cycle.utcnow(), 2))
    # The whole cycle (probing, then storing or keeping) ends, bounded by a few timeouts.
    assert time.monotonic() - started < 4 * (TIMEOUT_S + 1)
    statuses = {r.service: r for r in results}
    assert statuses[DOWN[service]].status.value == "down"
    assert "timed out after " in statuses[DOWN[service]].error, statuses[DOWN[service]].error
    # Every probe, the hung one included, ends by itself within its timeout (with a loaded machine's margin):
    # none is left running past the cycle's deadline.
    wait_until(lambda: set(took) == set(PROBES), TIMEOUT_S + 2, "every probe to return", lambda: str(took))
    assert all(seconds <= TIMEOUT_S + 1 for seconds in took.values()), took
    if service == "roles_anywhere":
        # Secrets Manager is called with Roles Anywhere's credentials, so it is down with it, saying why. (A
        # hung STS is only Roles Anywhere's own check: the credentials come from CreateSession, so Secrets
        # Manager keeps working.)
        assert statuses["secrets_manager"].status.value == "down"
        assert statuses["secrets_manager"].error.startswith("no AWS credentials: IAM Roles Anywhere failed (")
    affected = {DOWN[service], "secrets_manager"} if service == "roles_anywhere" else {DOWN[service]}
    others = {s: r.status.value for s, r in statuses.items() if s not in affected}
    # Unaffected means working: on a loaded machine a check may take over half its time and read "degraded".
    assert set(others.values()) <= WORKING, {s: r.error for s, r in statuses.items()}
