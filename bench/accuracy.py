"""Is the latency we report the service's? `.venv/bin/python -m bench.accuracy` (or `make bench-accuracy`).

Starts embedded PostgreSQL and Valkey, and the local AWS sandbox in a process of its own (as `make run` keeps it
apart from the worker), then, round after round, times each probe's operations alone ("bare": one at a time,
nothing else running, AWS requests signed beforehand and only their round trips timed), runs one full cycle
(all four probes at once, as the worker runs them), keeping each probe's reported latency and its phases' sum,
and one cycle of the PostgreSQL and Valkey probes only. It also counts the CPU time this process and the
sandbox's spend per full cycle: on a machine of two cores, the local AWS stand-ins compete for the same cores as
the local PostgreSQL and Valkey, which servers elsewhere would not.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time
from typing import Any

import psutil
import psycopg2
import redis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.httpsession import URLLib3Session
from iam_rolesanywhere_session import IAMRolesAnywhereSigner

from bench.common import percentile, probe_stack, save, table
from jobs.aws_session import timeouts
from jobs.cycle import run_probes
from jobs.probes import PROBES
from jobs.result import OUR_OVERHEAD, SERVICE_NAMES
from jobs.settings import AwsSettings, Settings
from jobs.store import connect_kwargs


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def bare_postgres(settings: Settings) -> float:
    """The PostgreSQL probe's operations: connect, INSERT, SELECT, DELETE (closing after the clock stops)."""
    pg = settings.postgres
    assert pg is not None
    token = secrets.token_hex(8)
    started = time.perf_counter()
    conn = psycopg2.connect(**connect_kwargs(pg, settings.probe_timeout_s))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("INSERT INTO probe_canary (token, location) VALUES (%s, %s)", (token, "bench"))
        cur.execute("SELECT token FROM probe_canary WHERE token = %s", (token,))
        cur.fetchone()
        cur.execute("DELETE FROM probe_canary WHERE token = %s", (token,))
    took = _ms(started)
    conn.close()
    return took


def bare_valkey(url: str) -> float:
    """The Valkey probe's operations: connect, PING, SET with a TTL, GET (closing after the clock stops)."""
    started = time.perf_counter()
    client = redis.Redis.from_url(url, single_connection_client=True)
    client.ping()
    client.set("bench:accuracy", secrets.token_hex(8), ex=60)
    client.get("bench:accuracy")
    took = _ms(started)
    client.close()
    return took


class BareAws:
    """The AWS probes' requests, each built and signed before its clock starts: CreateSession (signed with the
    certificate's key by the Roles Anywhere library's signer), then GetCallerIdentity and GetSecretValue (SigV4
    with the credentials it returned), sent through botocore's HTTP session like the probes' requests."""

    def __init__(self, aws: AwsSettings, timeout_s: float):
        self.aws = aws
        self.signer = IAMRolesAnywhereSigner(
            certificate=aws.certificate_pem,
            private_key=aws.private_key_pem,
            certificate_chain=aws.chain_pem,
            region=aws.region,
        )
        self.http = URLLib3Session(verify=aws.ca_bundle or True, timeout=timeouts(timeout_s))

    def _send(self, request: AWSRequest) -> tuple[float, bytes]:
        prepared = request.prepare()
        started = time.perf_counter()
        response = self.http.send(prepared)
        took = _ms(started)
        if response.status_code > 299:
            raise RuntimeError(f"{request.url} answered {response.status_code}: {response.text[:200]}")
        return took, response.content

    def _sigv4(self, credentials: ReadOnlyCredentials, service: str, url: str, body: str, headers: dict) -> AWSRequest:
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(credentials, service, self.aws.region).add_auth(request)
        return request

    def round_trips(self) -> dict[str, float]:
        aws = self.aws
        body = {
            "durationSeconds": 3600,
            "profileArn": aws.profile_arn,
            "roleArn": aws.role_arn,
            "trustAnchorArn": aws.trust_anchor_arn,
        }
        request = AWSRequest(method="POST", url=f"https://{aws.endpoint}/sessions", data=json.dumps(body))
        self.signer.add_auth(request)
        create_session, answer = self._send(request)
        issued = json.loads(answer)["credentialSet"][0]["credentials"]
        credentials = ReadOnlyCredentials(issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"])
        form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        identity, _ = self._send(
            self._sigv4(
                credentials, "sts", aws.sts_endpoint_url or "", "Action=GetCallerIdentity&Version=2011-06-15", form
            )
        )
        target = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}
        secret, _ = self._send(
            self._sigv4(
                credentials,
                "secretsmanager",
                aws.secretsmanager_endpoint_url or "",
                json.dumps({"SecretId": aws.secret_name}),
                target,
            )
        )
        return {"create_session": create_session, "get_caller_identity": identity, "get_secret_value": secret}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__)
    parser.add_argument("--rounds", type=int, default=30, help="rounds (default 30)")
    args = parser.parse_args(argv)

    with probe_stack() as stack:
        settings = stack.settings
        assert settings.aws is not None
        bare_aws = BareAws(settings.aws, settings.probe_timeout_s)
        bare: dict[str, list[float]] = {"postgres": [], "valkey": [], "create_session": [], "ra_both": [], "sm": []}
        reported: dict[str, list[float]] = {s: [] for s in PROBES}
        cover: dict[str, list[float]] = {s: [] for s in PROBES}
        overhead: dict[str, list[float]] = {s: [] for s in PROBES}
        statuses: dict[str, list[str]] = {s: [] for s in PROBES}
        network = {s: PROBES[s] for s in ("postgres", "valkey")}
        network_only: dict[str, list[float]] = {s: [] for s in network}
        cpu: dict[str, list[float]] = {"this process": [], "AWS sandbox": []}
        sandbox = psutil.Process(stack.sandbox_pid)
        for _ in range(args.rounds):
            bare["postgres"].append(bare_postgres(settings))
            bare["valkey"].append(bare_valkey(stack.valkey_url))
            aws = bare_aws.round_trips()
            bare["create_session"].append(aws["create_session"])
            bare["ra_both"].append(aws["create_session"] + aws["get_caller_identity"])
            bare["sm"].append(aws["get_secret_value"])
            ours, theirs = time.process_time(), sum(sandbox.cpu_times()[:2])
            results = run_probes(settings)
            cpu["this process"].append((time.process_time() - ours) * 1000)
            cpu["AWS sandbox"].append((sum(sandbox.cpu_times()[:2]) - theirs) * 1000)
            for result in run_probes(settings, network):
                if result.service in network:
                    network_only[result.service].append(result.latency_ms)
            for result in results:
                reported[result.service].append(result.latency_ms)
                cover[result.service].append(
                    sum(result.phases.values()) / result.latency_ms if result.latency_ms else 0
                )
                overhead[result.service].append(result.detail.get(OUR_OVERHEAD, 0.0))
                statuses[result.service].append(result.status.value)

    median = statistics.median
    alone = {
        "postgres": bare["postgres"],
        "valkey": bare["valkey"],
        "roles_anywhere": bare["ra_both"],
        "secrets_manager": bare["sm"],
    }
    what = {
        "postgres": "connect, INSERT, SELECT, DELETE",
        "valkey": "connect, PING, SET, GET",
        "roles_anywhere": "CreateSession + GetCallerIdentity, signed beforehand",
        "secrets_manager": "GetSecretValue, signed beforehand",
    }
    rows = [
        (
            SERVICE_NAMES[s],
            median(reported[s]),
            percentile(reported[s], 95),
            median(alone[s]),
            median(reported[s]) / median(alone[s]),
            f"{median(cover[s]):.0%} (min {min(cover[s]):.0%})",
            median(overhead[s]),
            what[s],
        )
        for s in PROBES
    ]
    print(
        table(
            (
                "service",
                "reported p50",
                "reported p95",
                "same operations alone p50",
                "ratio",
                "phases cover",
                "our overhead p50",
                "operations",
            ),
            rows,
        )
    )
    print(f"(ms; {args.rounds} rounds, each: the bare operations one at a time, then one cycle of all four probes)")
    print()
    print(
        table(
            ("PostgreSQL and Valkey probes only", "reported p50", "alone p50", "ratio"),
            [
                (SERVICE_NAMES[s], median(v), median(alone[s]), median(v) / median(alone[s]))
                for s, v in network_only.items()
            ],
        )
    )
    print()
    print(
        table(("CPU per full cycle", "p50 ms", "p95 ms"), [(k, median(v), percentile(v, 95)) for k, v in cpu.items()])
    )
    print()
    print(f"bare CreateSession alone, p50: {median(bare['create_session']):.2f}")
    checks: dict[str, tuple[bool, str]] = {}

    def target(name: str, ok: bool, figures: str) -> None:
        checks[name] = (ok, figures)

    for s in ("postgres", "valkey"):
        bound = 1.5 * median(alone[s]) + 2
        target(
            f"{s}_within_1.5x_bare_plus_2ms", median(reported[s]) <= bound, f"{median(reported[s]):.2f} ≤ {bound:.2f}"
        )
    ra = median(reported["roles_anywhere"])
    bound = 1.5 * median(bare["create_session"]) + 5
    target("roles_anywhere_within_1.5x_bare_create_session_plus_5ms", ra <= bound, f"{ra:.2f} ≤ {bound:.2f}")
    bound = 1.5 * median(bare["ra_both"]) + 5
    target("roles_anywhere_within_1.5x_bare_both_requests_plus_5ms", ra <= bound, f"{ra:.2f} ≤ {bound:.2f}")
    for s in PROBES:
        target(f"{s}_phases_cover_90pct", median(cover[s]) >= 0.9, f"median {median(cover[s]):.0%}")
    for name, (ok, figures) in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name} ({figures})")
    not_up = {s: v for s, v in statuses.items() if any(x != "up" for x in v)}
    if not_up:
        print(f"warning: not every check was up: {not_up}", file=sys.stderr)
    data: dict[str, Any] = {
        "rounds": args.rounds,
        "reported_ms": {s: {"p50": median(v), "p95": percentile(v, 95)} for s, v in reported.items()},
        "bare_ms": {k: {"p50": median(v), "p95": percentile(v, 95)} for k, v in bare.items()},
        "phases_cover": {s: {"p50": median(v), "min": min(v)} for s, v in cover.items()},
        "our_overhead_ms_p50": {s: median(v) for s, v in overhead.items()},
        "network_probes_only_reported_ms_p50": {s: median(v) for s, v in network_only.items()},
        "cpu_per_cycle_ms_p50": {k: median(v) for k, v in cpu.items()},
        "targets": {name: ok for name, (ok, _) in checks.items()},
    }
    print(f"saved {save('accuracy', data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
