"""`make run`: the whole product on one machine, with no cloud account.

Starts what the settings do not provide — embedded PostgreSQL and Valkey with data under `.local/`, the
local AWS sandbox — then runs the Procfile's processes with honcho until Ctrl-C or SIGTERM, and stops
everything it started. A second instance fails at once: `.local/run.lock` is held with flock, which the
kernel releases when this process ends however it ends, so no stale lock survives a crash.
"""

from __future__ import annotations

import fcntl
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

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"


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


def _start(server: EmbeddedPostgres | EmbeddedValkey, name: str, stops: list[Callable[[], None]]) -> str:
    server.start()
    stops.append(server.stop)
    print(f"make run: embedded {name} on 127.0.0.1:{server.port} (data in .local/{name.lower()})")
    return server.url


def _start_backing_services(env: dict[str, str], stops: list[Callable[[], None]]) -> None:
    state = _local_state()
    if not (env.get("DATABASE_URL") or env.get("PGHOST")):
        postgres = EmbeddedPostgres(LOCAL / "postgresql", state["pg_port"], state["pg_password"])
        env["DATABASE_URL"] = _start(postgres, "PostgreSQL", stops)
    if not (env.get("VALKEY_URL") or env.get("VALKEY_HOST")):
        valkey = EmbeddedValkey(LOCAL / "valkey", state["valkey_port"], state["valkey_password"])
        env["VALKEY_URL"] = _start(valkey, "Valkey", stops)
    if not env.get("IAM_TRUST_ANCHOR_ARN"):
        aws_env, stop = start_sandbox(LOCAL / "sandbox")
        stops.append(stop)
        env.update(aws_env)
        print(f"make run: local AWS sandbox at {aws_env['AWS_ENDPOINT_URL_ROLESANYWHERE']} (development only)")


def run_procfile(env: dict[str, str]) -> int:
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    manager = Manager(Printer(sys.stdout))
    for process in expand_processes(procfile.processes, env=env, port=int(env["PORT"])):
        process_env = dict(env)
        process_env.update(process.env)
        manager.add_process(process.name, process.cmd, env=process_env, cwd=str(ROOT))
    manager.loop()
    return manager.returncode or 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Until honcho takes over the signals, SIGTERM stops us the way Ctrl-C does: through `finally`.
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    try:
        settings_module.load(env)
    except settings_module.SettingsError as exc:
        fail(str(exc), 2)
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
        _start_backing_services(env, stops)
        print(f"Dashboard: http://127.0.0.1:{port}", flush=True)
        if settings_module.load(env).status_page:
            print(f"Public status page: http://127.0.0.1:{port}/status", flush=True)
        return run_procfile(env)
    except KeyboardInterrupt:
        return 130
    finally:
        for stop in reversed(stops):
            stop()
        print("make run: stopped everything it started", flush=True)
        del lock


if __name__ == "__main__":
    sys.exit(main())
