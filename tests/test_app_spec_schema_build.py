"""The schema builder (.ci/app_spec/build_schema.py), run on a small git repository laid out like
digitalocean/openapi: `$ref`s resolved, `allOf` kept whole by the strict variant, overrides explicit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml
from deploy_paths import APP_SPEC_TOOLS

MODELS = "specification/resources/apps/models"
FILES = {
    "app_spec.yml": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "example": "web"},
            "region": {"type": "string", "enum": ["ams", "fra"]},
            "services": {"type": "array", "items": {"$ref": "app_service_spec.yml"}},
            "workers": {"type": "array", "items": {"$ref": "app_worker_spec.yml"}},
        },
        "required": ["name"],
    },
    "app_component_base.yml": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "envs": {"type": "array", "items": {"$ref": "app_variable_definition.yml"}},
            "alert_specs": {"type": "array", "items": {"$ref": "app_alert_spec.yml"}},
        },
    },
    "app_service_spec.yml": {
        "allOf": [
            {"$ref": "app_component_base.yml"},
            {"type": "object", "properties": {"http_port": {"type": "integer"}}, "required": ["name"]},
        ]
    },
    "app_worker_spec.yml": {"allOf": [{"$ref": "app_component_base.yml"}]},
    "app_variable_definition.yml": {"type": "object", "properties": {"key": {"type": "string"}}},
    "app_alert_spec.yml": {"type": "object", "properties": {"rule": {"type": "string", "enum": ["CPU"]}}},
}


def _openapi_repo(root: Path, files: dict[str, dict]) -> str:
    """A git repository with `files` under the models folder, committed; returns the commit."""
    (root / MODELS).mkdir(parents=True)
    for name, body in files.items():
        (root / MODELS / name).write_text(yaml.safe_dump(body))
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "models"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def _build(repo: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP_SPEC_TOOLS / "build_schema.py"), str(repo), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )


def _valid(schema: dict, spec: dict) -> bool:
    return not list(jsonschema.Draft202012Validator(schema).iter_errors(spec))


def test_builds_both_schemas_with_their_source(tmp_path: Path) -> None:
    sha = _openapi_repo(tmp_path / "openapi", FILES)
    run = _build(tmp_path / "openapi", tmp_path)
    assert run.returncode == 0, run.stderr
    normal = json.loads((tmp_path / "app_spec.schema.json").read_text())
    strict = json.loads((tmp_path / "app_spec.strict.schema.json").read_text())
    assert normal["x-source"]["commit"] == strict["x-source"]["commit"] == sha
    assert "example" not in normal["$defs"]["app_spec"]["properties"]["name"]

    service = {"name": "web", "http_port": 8080, "envs": [{"key": "A"}], "alerts": [{"rule": "CPU"}]}
    spec = {"name": "app", "region": "fra", "envs": [{"key": "B"}], "services": [service]}
    assert _valid(strict, spec), "keys from both allOf members and the overrides are accepted"
    assert not _valid(strict, dict(spec, services=[dict(service, htp_port=1)])), "a typo in an allOf is caught"
    assert _valid(normal, dict(spec, services=[dict(service, htp_port=1)])), "only strict rejects unknown keys"
    assert not _valid(normal, dict(spec, region="fra1"))
    assert not _valid(strict, dict(spec, services=[dict(service, alerts=[{"rule": "RAM"}])])), "override is typed"


def test_stops_when_openapi_gains_an_overridden_field(tmp_path: Path) -> None:
    files = dict(FILES)
    files["app_component_base.yml"] = yaml.safe_load(yaml.safe_dump(FILES["app_component_base.yml"]))
    files["app_component_base.yml"]["properties"]["alerts"] = {"type": "array"}
    _openapi_repo(tmp_path / "openapi", files)
    run = _build(tmp_path / "openapi", tmp_path)
    assert run.returncode != 0
    [line] = run.stderr.splitlines()
    assert line.startswith("build_schema: app_service_spec.alerts ") and line.endswith("drop its override")
    assert not (tmp_path / "app_spec.schema.json").exists()
