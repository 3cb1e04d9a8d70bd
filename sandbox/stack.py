"""`make run`: the whole product on one machine, with no cloud account.

Starts what the settings do not provide — embedded PostgreSQL and Valkey with data under `.local/`, reached
over verified TLS (a TLS front with a certificate of the sandbox's CA, given to the app as DATABASE_CA_CERT
and VALKEY_CA_CERT), the local AWS sandbox, a local notification sink as ALERT_URLS — then runs the Procfile's
processes with honcho until Ctrl-C or SIGTERM, and stops everything it started. With several probing
locations (`PROBE_LOCATIONS=local,edge make run`), a worker per location (`worker`, then `worker-edge`, ...).
A second instance fails at once: `.local/run.lock` is held with flock, which the kernel releases when this
process ends however it ends, so no stale lock survives a crash.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import secrets
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from honcho.environ import expand_processes, parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from jobs import settings as settings_module
from sandbox.aws import start_sandbox
from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port, port_in_use
from sandbox.local import LOCAL, ROOT, Running, mark_running, unmark_running
from sandbox.pki import SandboxPki, ensure_pki
from sandbox.sink import Notification, NotificationSink, one_line
from sandbox.tls_front import Protocol, TlsFront, url_through


def fail(message: str, code: int = 1) -> None:
    print(f"make run: {message}", file=sys.stderr)
    raise SystemExit(code)


def _take_lock() -> object:
    LOCAL.mkdir(exist_ok=True)
    handle = open(LOCAL / "run.lock", "a+")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        fail(f"already running (pid {holder} holds .local/run.lock); stop it first (Ctrl-C in its terminal)")
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _local_state() -> dict[str, Any]:
    """Passwords and ports of the embedded servers, made once and kept so data survives restarts."""
    path = LOCAL / "state.json"
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in ("pg_password", "valkey_password"):
        if key not in state:
            state[key] = secrets.token_urlsafe(18)
            changed = True
    for key in ("pg_port", "valkey_port"):
        if key not in state or port_in_use(state[key]):
            state[key] = free_port()
            changed = True
    if changed:
        path.write_text(json.dumps(state, indent=2))
        path.chmod(0o600)
    return state


@functools.cache
def _pki() -> SandboxPki:
    """The same development PKI as the AWS sandbox's: its CA signs the TLS fronts' certificate. Made only when
    an embedded server is started."""
    return ensure_pki(LOCAL / "sandbox")


def _start(
    server: EmbeddedPostgres | EmbeddedValkey,
    name: str,
    protocol: Protocol,
    pki: SandboxPki,
    stops: list[Callable[[], None]],
) -> str:
    """Start `server` behind TLS; return the URL the app reaches it by."""
    server.start()
    stops.append(server.stop)
    front = TlsFront(("127.0.0.1", server.port), protocol, pki.server_cert_path, pki.server_key_path).start()
    stops.append(front.stop)
    print(f"make run: embedded {name} on 127.0.0.1:{front.port}, verified TLS (data in .local/{name.lower()})")
    return url_through(server.url, front)


def _start_backing_services(env: dict[str, str], stops: list[Callable[[], None]]) -> Path | None:
    """Start what the settings do not name; the AWS sandbox's directory if it was started."""
    state = _local_state()
    if not (env.get("DATABASE_URL") or env.get("PGHOST")):
        postgres = EmbeddedPostgres(LOCAL / "postgresql", state["pg_port"], state["pg_password"])
        env["DATABASE_URL"] = _start(postgres, "PostgreSQL", "postgres", _pki(), stops)
        env["DATABASE_CA_CERT"] = _pki().ca.cert.decode()
    if not (env.get("VALKEY_URL") or env.get("VALKEY_HOST")):
        valkey = EmbeddedValkey(LOCAL / "valkey", state["valkey_port"], state["valkey_password"])
        env["VALKEY_URL"] = _start(valkey, "Valkey", "valkey", _pki(), stops)
        env["VALKEY_CA_CERT"] = _pki().ca.cert.decode()
    if env.get("IAM_TRUST_ANCHOR_ARN"):
        return None
    aws_env, stop = start_sandbox(LOCAL / "sandbox")
    stops.append(stop)
    env.update(aws_env)
    print(f"make run: local AWS sandbox at {aws_env['AWS_ENDPOINT_URL_ROLESANYWHERE']} (development only)")
    return LOCAL / "sandbox"


def _print_notification(notification: Notification) -> None:
    # One write per line: honcho prints the processes' lines from another thread.
    sys.stdout.write(f"make run: notification by {one_line(notification)}\n")
    sys.stdout.flush()


def _start_notification_sink(env: dict[str, str], stops: list[Callable[[], None]]) -> str | None:
    """Unless ALERT_URLS is set, a local sink for the alerts, as ALERT_URLS; its page's URL."""
    if env.get("ALERT_URLS"):
        return None
    sink = NotificationSink(on_receive=_print_notification).start()
    stops.append(sink.stop)
    env["ALERT_URLS"] = sink.alert_urls
    print(f"Notifications: {sink.url} (a local webhook and SMTP sink, as ALERT_URLS)")
    return sink.url


def run_procfile(env: dict[str, str], location: str, others: tuple[str, ...]) -> int:
    """The Procfile's processes (its worker probing as `location`), and its worker again for each of the
    `other` locations, probing as it."""
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    manager = Manager(Printer(sys.stdout))
    for process in expand_processes(procfile.processes, env=env, port=int(env["PORT"])):
        process_env = dict(env)
        process_env.update(process.env)
        is_worker = process.name.rsplit(".", 1)[0] == "worker"  # honcho names it worker.1
        # A worker's AWS requests name its location (User-Agent app/<location>): the sandbox can fail one path.
        here = {"PROBE_LOCATION": location, "AWS_SDK_UA_APP_ID": location} if is_worker else {}
        manager.add_process(process.name, process.cmd, env=process_env | here, cwd=str(ROOT))
        for location in others if is_worker else ():
            located = {**process_env, "PROBE_LOCATION": location, "AWS_SDK_UA_APP_ID": location}
            manager.add_process(f"worker-{location}", process.cmd, env=located, cwd=str(ROOT))
    manager.loop()
    return manager.returncode or 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Until honcho takes over the signals, SIGTERM stops us the way Ctrl-C does: through `finally`.
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    try:
        settings = settings_module.load(env)
    except settings_module.SettingsError as exc:
        fail(str(exc), 2)
    # The Procfile's worker probes as PROBE_LOCATION; one more worker for each other location.
    others = tuple(location for location in settings.locations if location != settings.location)
    lock = _take_lock()
    port = int(env.get("PORT") or 8050)
    if port_in_use(port):
        fail(f"port {port} is already in use; stop what uses it or set PORT to another port")
    env["PORT"] = str(port)
    env.setdefault("BIND_HOST", "127.0.0.1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The public status page is off by default in a deployment; locally a newcomer sees it at once.
    env.setdefault("STATUS_PAGE", "on")
    # The venv's console scripts (gunicorn, rq) come first on PATH, whichever shell started us.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    stops: list[Callable[[], None]] = []
    try:
        sandbox = _start_backing_services(env, stops)
        notifications = _start_notification_sink(env, stops)
        # For `python -m sandbox break|heal`: what runs, until this process ends.
        mark_running(LOCAL, Running(os.getpid(), str(sandbox) if sandbox else None, notifications))
        stops.append(lambda: unmark_running(LOCAL))
        print(f"Dashboard: http://127.0.0.1:{port}", flush=True)
        if settings_module.load(env).status_page:
            print(f"Public status page: http://127.0.0.1:{port}/status", flush=True)
        return run_procfile(env, settings.location, others)
    except KeyboardInterrupt:
        return 130
    finally:
        for stop in reversed(stops):
            stop()
        print("make run: stopped everything it started", flush=True)
        del lock


if __name__ == "__main__":
    sys.exit(main())
