"""app.yaml is a valid App Platform spec (DigitalOcean's schema, strict) that runs the Procfile's processes."""

from __future__ import annotations

import subprocess
import sys

import yaml
from deploy_paths import ROOT, shared_dir

SPEC = yaml.safe_load((ROOT / "app.yaml").read_text())


def _validate(path: str) -> subprocess.CompletedProcess[str]:
    tool = shared_dir() / "tools" / "validate-app-spec"
    return subprocess.run(
        [sys.executable, str(tool), "--strict", path], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_app_yaml_passes_the_strict_schema() -> None:
    run = _validate("app.yaml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_validator_rejects_a_misspelled_key(tmp_path) -> None:
    # Proves the check above can fail: one typo in a copy of our spec is caught.
    broken = dict(SPEC, services=[dict(SPEC["services"][0], instance_sise_slug="apps-s-1vcpu-1gb")])
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(broken))
    run = _validate(str(path))
    assert run.returncode == 1
    assert "instance_sise_slug" in run.stdout


def test_components_match_the_procfile() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    web = {s["name"]: s for s in SPEC["services"]}["web"]
    workers = {w["name"]: w for w in SPEC["workers"]}
    assert web["health_check"]["http_path"] == "/healthz"
    assert workers["worker"]["run_command"] == procfile["worker"]
    assert workers["scheduler"]["run_command"] == procfile["scheduler"]
    assert workers["scheduler"]["instance_count"] == 1, "two schedulers would enqueue every cycle twice"


def test_databases_and_secrets() -> None:
    engines = {d["name"]: (d["engine"], d["version"]) for d in SPEC["databases"]}
    assert engines == {"pg": ("PG", "17"), "valkey": ("VALKEY", "8")}
    envs = {e["key"]: e for c in [SPEC, *SPEC["services"], *SPEC["workers"]] for e in c.get("envs", [])}
    assert envs["DATABASE_URL"]["value"] == "${pg.DATABASE_URL}"
    assert envs["VALKEY_URL"]["value"] == "${valkey.DATABASE_URL}"
    for secret in ("IAM_CLIENT_CERT", "IAM_CLIENT_KEY", "RQ_DASHBOARD_PASSWORD"):
        assert envs[secret].get("type") == "SECRET", secret
        assert "value" not in envs[secret] or envs[secret]["value"].startswith("EV["), f"{secret} in clear text"
    assert {a["rule"] for a in SPEC["alerts"]} >= {"DEPLOYMENT_FAILED", "DOMAIN_FAILED"}
