"""The Dockerfile passes hadolint with no finding, and keeps its production promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from deploy_paths import ROOT

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


def test_default_command_is_the_procfile_web_process_on_port() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    cmd = re.search(r"^CMD (.*)$", DOCKERFILE, flags=re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == procfile["web"].split(), "the image runs exactly the Procfile's web command"
    # The port comes from PORT through the gunicorn config both share.
    assert "_settings.port" in (ROOT / "dashapp" / "gunicorn_conf.py").read_text()
    assert re.search(r"^HEALTHCHECK .*/healthz", DOCKERFILE, flags=re.MULTILINE | re.DOTALL)


def test_the_build_audits_the_runtime_requirements_as_the_tests_would() -> None:
    """The offline tests skip the pip-audit test; the image build (it has the network) is where it runs."""
    dev_pin = re.search(r"^pip-audit==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), flags=re.MULTILINE)
    build_stage = DOCKERFILE.split("\nFROM ")[1]
    assert dev_pin and f"pip-audit=={dev_pin.group(1)}" in build_stage, "one pip-audit version for tests and build"
    audit = build_stage.index("pip-audit --strict")
    assert "-r requirements.txt" in build_stage[audit:] and "pip-audit-ignore.txt" in build_stage
    assert audit < build_stage.index("pip wheel"), "audited before the wheels the runtime installs are built"
