"""Check a DigitalOcean App Platform spec against the schema built from DigitalOcean's OpenAPI description.

    python .ci/app_spec/validate.py [--strict] app.yaml

Exit 0 valid; 1 invalid, one line per error (`path.to.field: message`); 2 the spec cannot be read.
--strict uses the schema that also rejects keys App Platform does not define (a misspelled key, for one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent


def schema(*, strict: bool) -> dict[str, Any]:
    name = "app_spec.strict.schema.json" if strict else "app_spec.schema.json"
    return json.loads((HERE / name).read_text())


def errors(spec: Any, *, strict: bool) -> list[str]:
    """One `path.to.field: message` per way `spec` breaks the schema, in document order of the paths."""
    validator = jsonschema.Draft202012Validator(schema(strict=strict))
    found = sorted(validator.iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in found]


def _one_line(exc: Exception) -> str:
    """PyYAML explains a syntax error over several lines with a caret; a user needs what and where."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.MarkedYAMLError) and mark is not None:
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a DigitalOcean App Platform spec (app.yaml).")
    parser.add_argument("spec", type=Path, help="the app spec YAML file")
    parser.add_argument("--strict", action="store_true", help="also reject keys the schema does not define")
    args = parser.parse_args(argv)
    try:
        spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        print(f"{args.spec}: cannot read: {_one_line(exc)}", file=sys.stderr)
        return 2
    problems = errors(spec, strict=args.strict)
    for line in problems:
        print(line)
    print(f"{args.spec}: {f'{len(problems)} error(s)' if problems else 'valid'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
