"""The Dockerfile passes hadolint with no finding, and keeps its production promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from deploy_paths import ROOT

from sandbox.embedded import free_port
from tests.security.procfile import fetch
from tests.stack_support import wait_until

HADOLINT = Path(sys.executable).parent / "hadolint"
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_hadolint_reports_nothing() -> None:
    # --failure-threshold info: even an "info" finding fails the test.
    run = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_runtime_stage_is_non_root_and_slim() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert len(stages) >= 2, "multi-stage build expected"
    assert all(image.startswith("python:3.11-slim") for image in stages)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert users and not users[-1].startswith(("root", "0")), "the runtime must run as an unprivileged user"


def test_only_runtime_requirements_and_no_secrets_go_in() -> None:
    assert "requirements-dev" not in DOCKERFILE
    assert not re.search(r"^(ENV|ARG)\s+.*(PASSWORD|SECRET|KEY|TOKEN)", DOCKERFILE, flags=re.MULTILINE | re.I)
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    assert ignored[0] == "*", ".dockerignore must start from excluding everything"
    assert not any(line.startswith("!") and ("tests" in line or "sandbox" in line) for line in ignored)


def instruction(name: str) -> list[str]:
    """The exec form (a JSON list) of the Dockerfile's last `name` instruction (CMD, or HEALTHCHECK's CMD)."""
    found = re.findall(rf"^{name}\b[^\[]*(\[[^\n]*\])$", DOCKERFILE, flags=re.MULTILINE)
    assert found, f"no {name} in exec form"
    return json.loads(found[-1])


def test_default_command_is_the_procfile_web_process() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    assert instruction("CMD") == procfile["web"].split(), "the image runs exactly the Procfile's web command"


def test_default_command_serves_on_port_and_the_healthcheck_finds_it(base_env: dict[str, str]) -> None:
    """The image's command line, run as the container runs it with the PORT the platform gives: it answers
    on that port, and the image's HEALTHCHECK, given the same PORT, passes."""
    port = free_port()
    env = {**base_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin", "PORT": str(port)}
    web = subprocess.Popen(instruction("CMD"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200, 60, f"the web on port {port}")
        check = subprocess.run(instruction("HEALTHCHECK"), env=env, capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        other = subprocess.run(
            instruction("HEALTHCHECK"), env={**env, "PORT": str(free_port())}, capture_output=True, timeout=30
        )
        assert other.returncode != 0, "the healthcheck must follow PORT, not find the server anyway"
    finally:
        web.terminate()
        web.wait(20)


def test_the_build_audits_the_runtime_lock_as_the_tests_would() -> None:
    """The offline tests skip the pip-audit test; the image build (it has the network) is where it runs, with the
    pip-audit of the tests (requirements-dev.txt includes requirements-audit.txt) installed from its lock."""
    build_stage = DOCKERFILE.split("\nFROM ")[1]
    audit = build_stage.index("pip-audit --strict")
    assert "--require-hashes -r requirements-audit.lock" in build_stage[:audit]
    assert "-r requirements-audit.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "--disable-pip -r requirements.lock" in build_stage[audit:] and "pip-audit-ignore.txt" in build_stage
    assert audit < build_stage.index("pip wheel"), "audited before the wheels the runtime installs are built"


def test_every_base_image_is_pinned_by_digest() -> None:
    """A tag moves when it is rebuilt; a digest names one image."""
    images = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert images and all(re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", image) for image in images), images


def test_every_package_in_the_image_comes_from_a_lock_with_hashes() -> None:
    steps = re.findall(r"pip (?:install|wheel) [^\n]*", DOCKERFILE)
    assert len(steps) == 3, steps
    for step in steps:
        assert "--require-hashes" in step and re.search(r" -r requirements(-audit)?\.lock( \\)?$", step), step
