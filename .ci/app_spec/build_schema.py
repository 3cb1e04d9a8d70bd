"""Build the App Platform spec JSON Schemas (normal and strict) from DigitalOcean's OpenAPI description.

    python .ci/app_spec/build_schema.py OPENAPI [--commit REV] [--out DIR]

OPENAPI is a checkout of https://github.com/digitalocean/openapi or its bare git directory; REV (default HEAD)
is the commit read, so the files come from git and the recorded commit is exactly what was read. Writes
app_spec.schema.json and app_spec.strict.schema.json to DIR, by default beside this script (see README.md here).
"""

from __future__ import annotations

import argparse
import copy
import json
import posixpath
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SOURCE_REPOSITORY = "https://github.com/digitalocean/openapi"
ROOT_MODEL = "specification/resources/apps/models/app_spec.yml"
OUT = Path(__file__).resolve().parent
NORMAL_FILE = "app_spec.schema.json"
STRICT_FILE = "app_spec.strict.schema.json"

# OpenAPI-only keywords with no JSON Schema meaning; `example` is documentation, not a constraint.
DROPPED_KEYWORDS = frozenset({"example", "discriminator", "xml", "externalDocs", "nullable"})


@dataclass(frozen=True)
class Override:
    """A field App Platform accepts that the OpenAPI description lacks, with where it is documented."""

    definition: str
    field: str
    schema: dict[str, Any]
    documented_in: str


_GODO = "https://github.com/digitalocean/godo/blob/3fce660c40164d739042422abd984198ea680c63/apps.gen.go"
_ALERTS = {"type": "array", "items": {"$ref": "#/$defs/app_alert_spec"}}
_ENVS = {"type": "array", "items": {"$ref": "#/$defs/app_variable_definition"}}

# Only the fields our app.yaml uses; each is a field of the app spec in DigitalOcean's Go client (godo, which
# doctl sends specs with), linked to its line. The build fails once the OpenAPI description gains one of them,
# so an override never shadows upstream.
OVERRIDES: tuple[Override, ...] = (
    Override("app_spec", "envs", _ENVS, f"{_GODO}#L656 AppSpec.Envs"),
    Override("app_spec", "alerts", _ALERTS, f"{_GODO}#L658 AppSpec.Alerts"),
    Override("app_service_spec", "alerts", _ALERTS, f"{_GODO}#L592 AppServiceSpec.Alerts"),
    Override("app_worker_spec", "alerts", _ALERTS, f"{_GODO}#L758 AppWorkerSpec.Alerts"),
)

Reader = Callable[[str], str]


def git_reader(source: Path, rev: str) -> tuple[Reader, str, str]:
    """A reader of files at `rev` of the repository at `source` (work tree or bare), its full sha and date."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"build_schema: git {' '.join(args)}: {run.stderr.strip()}")
        return run.stdout

    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    date = git("show", "-s", "--format=%cI", sha).strip()
    return (lambda path: git("show", f"{sha}:{path}")), sha, date


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def _convert(node: Any, here: str, refs: list[str]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12; file `$ref`s become `#/$defs/<stem>` and are collected."""
    if isinstance(node, list):
        return [_convert(item, here, refs) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYWORDS or key.startswith("x-"):
            continue
        if key == "$ref":
            if "#" in value:
                raise SystemExit(f"build_schema: {here}: fragment $ref {value!r} is not supported")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(here), value))
            refs.append(target)
            out[key] = f"#/$defs/{_stem(target)}"
        elif key == "properties":
            out[key] = {name: _convert(sub, here, refs) for name, sub in value.items()}
        else:
            out[key] = _convert(value, here, refs)
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def collect_definitions(read: Reader, root: str) -> dict[str, Any]:
    """Every model reachable from `root`, converted, keyed by file stem (stems must be unique)."""
    definitions: dict[str, Any] = {}
    paths: dict[str, str] = {}
    pending = [root]
    while pending:
        path = pending.pop()
        stem = _stem(path)
        if stem in paths:
            if paths[stem] != path:
                raise SystemExit(f"build_schema: two models named {stem}: {paths[stem]} and {path}")
            continue
        paths[stem] = path
        refs: list[str] = []
        definitions[stem] = _convert(yaml.safe_load(read(path)), path, refs)
        pending.extend(refs)
    return dict(sorted(definitions.items()))


def apply_overrides(definitions: dict[str, Any], overrides: tuple[Override, ...]) -> None:
    """Add each override's field to its definition; fail if upstream already has it or a target is missing."""
    for o in overrides:
        for ref in _refs(o.schema):
            if ref.removeprefix("#/$defs/") not in definitions:
                raise SystemExit(f"build_schema: override {o.definition}.{o.field} refers to missing {ref}")
        properties = definitions[o.definition].setdefault("properties", {})
        upstream = [properties, *(m.get("properties", {}) for m in _members(definitions, o.definition))]
        if any(o.field in p for p in upstream):
            raise SystemExit(
                f"build_schema: {o.definition}.{o.field} is in the OpenAPI description now: drop its override"
            )
        properties[o.field] = copy.deepcopy(o.schema)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _members(definitions: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The schemas an `allOf` definition is made of, `$ref`s followed."""
    out = []
    for member in definitions[name].get("allOf", []):
        if "$ref" in member:
            ref = member["$ref"].removeprefix("#/$defs/")
            out += [definitions[ref], *_members(definitions, ref)]
        else:
            out.append(member)
    return out


def _merge(into: dict[str, Any], schema: dict[str, Any], *, override: bool) -> None:
    """Merge `schema` into `into`: properties merged by name (deeply, as `allOf` means both apply), required
    united; other keys kept from `into` unless `override`."""
    for key, value in schema.items():
        if key == "properties":
            properties = into.setdefault("properties", {})
            for name, sub in value.items():
                if name in properties:
                    properties[name] = copy.deepcopy(properties[name])
                    _merge(properties[name], sub, override=override)
                else:
                    properties[name] = sub
        elif key == "required":
            into["required"] = sorted({*into.get("required", []), *value})
        elif override or key not in into:
            into[key] = value


def _flatten(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """One schema instead of an `allOf`, `$ref`s followed; the node's own keys win."""
    merged: dict[str, Any] = {}
    for member in node["allOf"]:
        if "$ref" in member:
            member = definitions[member["$ref"].removeprefix("#/$defs/")]
        _merge(merged, _flatten(member, definitions) if "allOf" in member else member, override=False)
    _merge(merged, {key: value for key, value in node.items() if key != "allOf"}, override=True)
    return merged


def strict(definitions: dict[str, Any]) -> dict[str, Any]:
    """A copy where every object schema rejects keys it does not define (`allOf`s merged first, since
    `additionalProperties` sees only its own schema's properties)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "allOf" in node:
            node = _flatten(node, definitions)
        out = {key: walk(value) for key, value in node.items() if key != "properties"}
        if "properties" in node:
            out["properties"] = {name: walk(sub) for name, sub in node["properties"].items()}
            out.setdefault("additionalProperties", False)
        return out

    return {name: walk(schema) for name, schema in copy.deepcopy(definitions).items()}


def document(definitions: dict[str, Any], sha: str, date: str, *, is_strict: bool) -> dict[str, Any]:
    title = "DigitalOcean App Platform app spec" + (" (strict: unknown keys rejected)" if is_strict else "")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "$comment": (
            f"Generated by .ci/app_spec/build_schema.py from {SOURCE_REPOSITORY} {ROOT_MODEL} at commit {sha};"
            " do not edit by hand. x-overrides lists the fields added that the OpenAPI description lacks."
        ),
        "x-source": {"repository": SOURCE_REPOSITORY, "commit": sha, "commit_date": date, "path": ROOT_MODEL},
        "x-overrides": [{"field": f"{o.definition}.{o.field}", "documented_in": o.documented_in} for o in OVERRIDES],
        "$ref": f"#/$defs/{_stem(ROOT_MODEL)}",
        "$defs": definitions,
    }


def build(read: Reader, sha: str, date: str) -> dict[str, dict[str, Any]]:
    """The two schema documents, by file name."""
    definitions = collect_definitions(read, ROOT_MODEL)
    apply_overrides(definitions, OVERRIDES)
    return {
        NORMAL_FILE: document(definitions, sha, date, is_strict=False),
        STRICT_FILE: document(strict(definitions), sha, date, is_strict=True),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("openapi", type=Path, help="checkout or bare git dir of digitalocean/openapi")
    parser.add_argument("--commit", default="HEAD", help="commit to read (default HEAD)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the schemas (default: beside this)")
    args = parser.parse_args(argv)
    read, sha, date = git_reader(args.openapi, args.commit)
    for name, schema in build(read, sha, date).items():
        jsonschema.Draft202012Validator.check_schema(schema)
        (args.out / name).write_text(json.dumps(schema, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out / name} from {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
