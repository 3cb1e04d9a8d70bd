"""app.yaml is a valid App Platform spec (DigitalOcean's schema, strict) that runs the Procfile's processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from deploy_paths import APP_SPEC_TOOLS, ROOT

SPEC = yaml.safe_load((ROOT / "app.yaml").read_text())


def _validate(path: Path | str) -> subprocess.CompletedProcess[str]:
    """The command DEPLOY.md gives users, run as they would."""
    return subprocess.run(
        [sys.executable, str(APP_SPEC_TOOLS / "validate.py"), "--strict", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _validate_changed(tmp_path: Path, spec: dict) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(spec))
    return _validate(path)


def test_app_yaml_passes_the_strict_schema() -> None:
    run = _validate("app.yaml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == ""


def test_the_validator_rejects_a_misspelled_key(tmp_path: Path) -> None:
    # Proves the check above can fail: one typo in a copy of our spec is caught.
    broken = dict(SPEC, services=[dict(SPEC["services"][0], instance_sise_slug="apps-s-1vcpu-1gb")])
    run = _validate_changed(tmp_path, broken)
    assert run.returncode == 1
    assert run.stdout.startswith("services.0: ") and "instance_sise_slug" in run.stdout


@pytest.mark.parametrize(
    ("field", "spec"),
    [
        # fra1 is the droplet datacenter; App Platform's region slug is fra.
        ("region", dict(SPEC, region="fra1")),
        ("databases.0.engine", dict(SPEC, databases=[dict(SPEC["databases"][0], engine="POSTGRESQL")])),
    ],
    ids=["region", "engine"],
)
def test_the_validator_rejects_a_value_outside_the_enum(tmp_path: Path, field: str, spec: dict) -> None:
    run = _validate_changed(tmp_path, spec)
    assert run.returncode == 1
    [line] = run.stdout.splitlines()
    assert line.startswith(f"{field}: ") and "is not one of" in line


def test_the_validator_reports_an_unreadable_file_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text("name: [unclosed\n")
    for path in (tmp_path / "app.yaml", tmp_path / "missing.yaml"):
        run = _validate(path)
        assert run.returncode == 2
        assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr, run.stderr


def test_the_strict_schema_keeps_what_allof_combines(tmp_path: Path) -> None:
    # A service's autoscaling adds request metrics to the CPU ones through allOf; strictness must keep both.
    metrics = {"cpu": {"percent": 70}, "requests_per_second": {"per_instance": 50}}
    service = dict(
        SPEC["services"][0], autoscaling={"min_instance_count": 2, "max_instance_count": 4, "metrics": metrics}
    )
    del service["instance_count"]
    run = _validate_changed(tmp_path, dict(SPEC, services=[service]))
    assert run.returncode == 0, run.stdout


def test_deploy_md_names_the_check_the_tests_run() -> None:
    # The operator's command in DEPLOY.md must be this validator, not a tool only some machines have.
    assert "`make check-app-spec`" in (ROOT / "DEPLOY.md").read_text()
    recipe = (ROOT / "Makefile").read_text().split("\ncheck-app-spec:", 1)[1].split("\n\n", 1)[0]
    assert "python .ci/app_spec/validate.py --strict app.yaml" in recipe


def test_the_committed_schemas_record_their_source_commit() -> None:
    sources = [json.loads(p.read_text())["x-source"] for p in sorted(APP_SPEC_TOOLS.glob("*.schema.json"))]
    assert len(sources) == 2
    assert sources[0] == sources[1]
    assert sources[0]["repository"] == "https://github.com/digitalocean/openapi"
    assert sources[0]["path"] == "specification/resources/apps/models/app_spec.yml"
    assert re.fullmatch(r"[0-9a-f]{40}", sources[0]["commit"])
    assert sources[0]["commit"] in (APP_SPEC_TOOLS / "README.md").read_text(), "README names another commit"


def test_components_match_the_procfile() -> None:
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ": " in line)
    web = {s["name"]: s for s in SPEC["services"]}["web"]
    workers = {w["name"]: w for w in SPEC["workers"]}
    assert web["health_check"]["http_path"] == "/healthz"
    assert set(workers) == {"worker", "scheduler"} and set(procfile) == {"web", "worker", "scheduler"}
    assert workers["worker"]["run_command"] == procfile["worker"]
    assert workers["scheduler"]["run_command"] == procfile["scheduler"]
    assert workers["scheduler"]["instance_count"] == 1, "two schedulers would enqueue every cycle twice"


def test_databases_and_secrets() -> None:
    engines = {d["name"]: (d["engine"], d["version"]) for d in SPEC["databases"]}
    assert engines == {"pg": ("PG", "17"), "valkey": ("VALKEY", "8")}
    envs = {e["key"]: e for c in [SPEC, *SPEC["services"], *SPEC["workers"]] for e in c.get("envs", [])}
    assert envs["DATABASE_URL"]["value"] == "${pg.DATABASE_URL}"
    assert envs["VALKEY_URL"]["value"] == "${valkey.DATABASE_URL}"
    # Verified TLS by default: the clusters' CAs bound, so PostgreSQL is verify-full and Valkey checks its server.
    assert envs["DATABASE_CA_CERT"]["value"] == "${pg.CA_CERT}"
    assert envs["VALKEY_CA_CERT"]["value"] == "${valkey.CA_CERT}"
    assert envs["PGSSLMODE"]["value"] == "verify-full"
    secrets = ("IAM_CLIENT_CERT", "IAM_CLIENT_KEY", "RQ_DASHBOARD_PASSWORD", "ALERT_URLS", "SESSION_SECRET")
    for secret in (*secrets, "OIDC_CLIENT_SECRET", "API_TOKEN", "METRICS_TOKEN"):
        assert envs[secret].get("type") == "SECRET", secret
        assert "value" not in envs[secret] or envs[secret]["value"].startswith("EV["), f"{secret} in clear text"
    assert {a["rule"] for a in SPEC["alerts"]} >= {"DEPLOYMENT_FAILED", "DOMAIN_FAILED"}
    assert envs["AUTH_MODE"]["value"] == "oidc", "the deployment signs operators in"


def test_the_web_reaches_postgresql_with_its_own_role_and_the_worker_grants_it() -> None:
    def envs(component: dict) -> dict[str, dict]:
        return {e["key"]: e for e in component.get("envs", [])}

    web, workers = envs(SPEC["services"][0]), {w["name"]: envs(w) for w in SPEC["workers"]}
    assert "DATABASE_URL" not in envs(SPEC), "each component has its own, or none"
    assert web["DATABASE_URL"]["type"] == "SECRET" and "value" not in web["DATABASE_URL"]
    assert workers["worker"]["DATABASE_URL"]["value"] == "${pg.DATABASE_URL}"
    assert workers["worker"]["DATABASE_WEB_ROLE"]["value"] == "monitor_web"
    assert "DATABASE_URL" not in workers["scheduler"], "rq cron needs no database"
