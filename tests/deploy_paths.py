"""Where the deployment checks find the repository, the shared tools and the checkov tools venv."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"


def shared_dir() -> Path:
    """`../shared` beside the repository (CI and worktrees), else /work/shared; skips the test when absent."""
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared", Path("/work/shared")):
        if (candidate / "tools" / "validate-app-spec").is_file():
            return candidate
    pytest.skip("the shared folder (../shared/tools/validate-app-spec) is not beside this repository")
