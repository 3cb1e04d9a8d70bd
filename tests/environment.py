"""The developer's shell must not reach the product under test: every variable the product (or libpq, boto3,
redis-py) would read is removed before the tests import anything, and subprocesses get an explicit env."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

SETTINGS_SOURCE = "".join(
    p.read_text() for p in sorted((Path(__file__).resolve().parent.parent / "jobs" / "settings").glob("*.py"))
)
# Every quoted upper-case name in jobs/settings/ (a few log-level words among them, harmless to drop too).
PRODUCT_VARIABLES = frozenset(re.findall(r'"([A-Z][A-Z0-9_]*)"', SETTINGS_SOURCE))
# Families read by the libraries below the product: libpq (PG*), boto3/botocore (AWS_*), and our own groups.
PRODUCT_PREFIXES = ("AWS_", "PG", "IAM_", "SPACES_", "VALKEY_", "REDIS_", "RQ_", "PROBE_", "DASH_")


def is_product_variable(name: str) -> bool:
    return name in PRODUCT_VARIABLES or name.startswith(PRODUCT_PREFIXES)


def without_product_variables(env: Mapping[str, str]) -> dict[str, str]:
    """`env` minus everything that would configure the product, e.g. for a subprocess that needs HOME, LANG…"""
    return {name: value for name, value in env.items() if not is_product_variable(name)}
