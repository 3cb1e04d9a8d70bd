"""No secret anywhere it does not belong, after full probe cycles of the whole product.

Real processes (the Procfile's web, worker and scheduler, LOG_LEVEL=DEBUG so they say as much as they can),
embedded PostgreSQL and Valkey with passwords, and the local AWS sandbox. Once a cycle is stored with all four
services up, every log line, every row of every table, every Valkey key and value (RQ's compressed job data
decompressed), every page, callback and API response is scanned for every secret the product holds or is
handed: the two passwords, the client private key, the AWS session credentials the sandbox issued, the
Secrets Manager value, the /rq password, the session secret and the metrics token.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg2
import pytest
import redis
from moto.sts.models import sts_backends

from jobs.tasks import probe_queue
from sandbox.aws import ACCOUNT, SECRET_NAME, AwsSandbox
from sandbox.embedded import free_port
from tests.conftest import WORKING
from tests.security.procfile import Process, fetch, fetch_json
from tests.stack_support import wait_until

RQ_USER, RQ_PASSWORD = "ops", "rq-dashboard-pass-5b1c"
SESSION_SECRET = "session-secret-never-shown-" + "c4" * 8
METRICS_TOKEN = "metrics-token-never-shown-9e1d"


def _secrets(env: dict[str, str], sandbox: AwsSandbox) -> dict[str, str]:
    """{what: secret text} for everything that must never be shown."""
    found = {
        "PostgreSQL password": urlsplit(env["DATABASE_URL"]).password,
        "Valkey password": urlsplit(env["VALKEY_URL"]).password,
        "/rq password": RQ_PASSWORD,
        "SESSION_SECRET": SESSION_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
        "client key (IAM_CLIENT_KEY)": env["IAM_CLIENT_KEY"],
    }
    key_pem = base64.b64decode(env["IAM_CLIENT_KEY"]).decode()
    body = [line for line in key_pem.splitlines() if line and not line.startswith("-----")]
    found["client key (PEM body)"] = "".join(body)
    for n, line in enumerate(body):
        if len(line) >= 32:
            found[f"client key (PEM line {n})"] = line
    value = sandbox.client("secretsmanager").get_secret_value(SecretId=SECRET_NAME)["SecretString"]
    found["Secrets Manager value"] = value
    found["Secrets Manager password"] = json.loads(value)["password"]
    roles = sts_backends[ACCOUNT]["aws"].assumed_roles
    assert roles, "the sandbox issued no session credentials: the probes did not run"
    for n, role in enumerate(roles):
        found[f"AWS secret access key {n}"] = role.secret_access_key
        found[f"AWS session token {n}"] = role.session_token
    assert all(found.values()), found.keys()
    return found


def _leaks(sources: dict[str, bytes], secrets: dict[str, str]) -> list[str]:
    leaks = []
    for what, secret in secrets.items():
        forms = {secret.encode(), quote(secret, safe="").encode(), json.dumps(secret)[1:-1].encode()}
        for source, data in sources.items():
            if any(form in data for form in forms):
                leaks.append(f"{what} found in {source}")
    return leaks


def _postgres_rows(url: str) -> dict[str, bytes]:
    sources = {}
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        tables = cur.fetchall()
        assert tables, "no tables: the store was never written"
        for schema, table in tables:
            cur.execute(f'SELECT t::text FROM "{schema}"."{table}" t')  # noqa: S608 - names from the catalog
            sources[f"PostgreSQL table {schema}.{table}"] = "\n".join(r[0] for r in cur.fetchall()).encode()
    return sources


def _with_decompressed(data: bytes) -> bytes:
    # RQ stores job data and results zlib-compressed (pickled inside): search the plain bytes too.
    try:
        return data + b"\n" + zlib.decompress(data)
    except zlib.error:
        return data


def _valkey_entries(url: str) -> dict[str, bytes]:
    client = redis.Redis.from_url(url)
    sources = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        if kind == "string":
            parts = [client.get(key) or b""]
        elif kind == "hash":
            parts = [b for kv in client.hgetall(key).items() for b in kv]
        elif kind == "list":
            parts = client.lrange(key, 0, -1)
        elif kind == "set":
            parts = list(client.smembers(key))
        elif kind == "zset":
            parts = [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            parts = [b for _, fields in client.xrange(key) for kv in fields.items() for b in kv]
        else:
            parts = []
        sources[f"Valkey key {key.decode(errors='replace')} ({kind})"] = (
            key + b"\n" + b"\n".join(_with_decompressed(p) for p in parts)
        )
    client.close()
    assert any(b"rq:" in k.encode() for k in sources), "no RQ keys: the worker never ran"
    return sources


def _http(base: str, cycles: str) -> dict[str, bytes]:
    """Every page and answer a browser or script can get; `cycles` is the probe queue of the stack's location."""
    rq_auth = {"Authorization": "Basic " + base64.b64encode(f"{RQ_USER}:{RQ_PASSWORD}".encode()).decode()}
    metrics_auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    sources = {}
    paths = ["/", "/_dash-layout", "/_dash-dependencies", "/api/status", "/metrics", "/readyz", "/healthz"]
    paths += [f"/api/history?service={s}&range={r}" for s in _SERVICES for r in ("1h", "24h")]
    paths += [f"/badge/{s}.svg" for s in _SERVICES]
    for path in paths:
        # METRICS_TOKEN is set: /metrics wants it (and must never echo it).
        status, body = fetch(base + path, headers=metrics_auth if path == "/metrics" else None)
        assert status == 200, (path, status)
        sources[f"GET {path}"] = body
    rq_paths = ["/rq/", "/rq/0/data/queues.json", "/rq/0/data/workers.json"]
    listed = [f"/rq/0/data/jobs/{cycles}/{registry}/100/asc/1.json" for registry in ("queued", "finished", "failed")]
    rq_paths += listed
    for path in rq_paths:
        status, body = fetch(base + path, headers=rq_auth)
        assert status == 200, (path, status)
        sources[f"GET {path} (authenticated)"] = body
    finished = json.loads(sources[f"GET {listed[1]} (authenticated)"])["jobs"]
    assert finished, "no finished job listed by the RQ dashboard"
    for job in finished:
        path = f"/rq/0/data/job/{job['id']}.json"
        status, body = fetch(base + path, headers=rq_auth)
        assert status == 200, (path, status)
        sources[f"GET {path} (authenticated)"] = body
    # Every callback the page makes, as the browser makes it: from the server's own dependency list.
    _, dependencies = fetch_json(base + "/_dash-dependencies")
    initial = {"n_intervals": 1, "value": "24h", "data": {}, "relayoutData": {"xaxis.autorange": True}}
    for dep in dependencies:
        inputs = [{**i, "value": initial.get(i["property"])} for i in dep["inputs"]]
        state = [{**s, "value": initial.get(s["property"])} for s in dep["state"]]
        output = dep["output"]
        if output.startswith(".."):
            outputs = [dict(zip(("id", "property"), o.rsplit(".", 1), strict=True)) for o in output[2:-2].split("...")]
        else:
            outputs = dict(zip(("id", "property"), output.rsplit(".", 1), strict=True))
        body = {"output": output, "outputs": outputs, "inputs": inputs, "state": state}
        body["changedPropIds"] = [f"{inputs[0]['id']}.{inputs[0]['property']}"]
        status, answer = fetch(
            base + "/_dash-update-component", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        assert status in (200, 204), (output, status, answer[:300])
        sources[f"callback {output[:60]}"] = answer
    return sources


_SERVICES = ("postgres", "valkey", "roles_anywhere", "secrets_manager")


@pytest.fixture
def stack(base_env: dict[str, str], tmp_path: Path):
    sandbox = AwsSandbox.start(tmp_path / "sandbox")
    port = free_port()
    env = {
        **base_env,
        **sandbox.env,
        "LOG_LEVEL": "DEBUG",
        "PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "RQ_DASHBOARD_USERNAME": RQ_USER,
        "RQ_DASHBOARD_PASSWORD": RQ_PASSWORD,
        "SESSION_SECRET": SESSION_SECRET,
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [Process(name, env, logs) for name in ("worker", "scheduler", "web")]
    try:
        yield env, sandbox, f"http://127.0.0.1:{port}", processes
    finally:
        for process in processes:
            process.stop()
        sandbox.stop()


def test_no_secret_in_logs_store_valkey_pages_callbacks_api_or_metrics(stack) -> None:
    env, sandbox, base, processes = stack

    def all_up() -> bool:
        status, body = fetch_json(base + "/api/status")
        return status == 200 and len(body["services"]) == 4 and {s["status"] for s in body["services"]} <= WORKING

    wait_until(all_up, 90, "a stored cycle with all four services working")
    sources = _http(base, probe_queue(env["PROBE_LOCATION"]))
    sources.update(_postgres_rows(env["DATABASE_URL"]))
    sources.update(_valkey_entries(env["VALKEY_URL"]))
    for process in processes:
        process.stop()  # flushes and closes the logs, shutdown messages included
        sources.update({f"log {name}": text.encode() for name, text in process.output().items()})
    assert any("DEBUG" in text.decode(errors="replace") for text in sources.values()), "no debug logging seen"

    secrets = _secrets(env, sandbox)
    # The scanner itself must be able to see a leak.
    assert _leaks({"the environment": json.dumps(env).encode()}, secrets)
    leaks = _leaks(sources, secrets)
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
