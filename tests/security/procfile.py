"""The Procfile's processes as real subprocesses for the security tests, each with its output kept apart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from honcho.environ import parse_procfile

from tests.conftest import ROOT

VENV_BIN = Path(sys.executable).parent


def command(name: str) -> str:
    """The Procfile's command line for process `name` (run through the shell, as honcho and App Platform do)."""
    return parse_procfile((ROOT / "Procfile").read_text()).processes[name]


class Process:
    """One Procfile process, started in its own session; stdout and stderr go to files under `logs`."""

    def __init__(self, name: str, env: dict[str, str], logs: Path):
        self.name = name
        self.stdout_path, self.stderr_path = logs / f"{name}.stdout", logs / f"{name}.stderr"
        full_env = {**env, "PATH": f"{VENV_BIN}{os.pathsep}/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                ["/bin/sh", "-c", command(name)], cwd=ROOT, env=full_env, stdout=out, stderr=err, start_new_session=True
            )

    def output(self) -> dict[str, str]:
        """{'web.stdout': text, 'web.stderr': text}."""
        return {p.name: p.read_text(errors="replace") for p in (self.stdout_path, self.stderr_path)}

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """(status, body) for any answer, errors included; OSError when nothing answers."""
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def fetch_json(url: str) -> tuple[int, dict]:
    status, body = fetch(url)
    return status, json.loads(body)
