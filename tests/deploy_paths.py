"""Where the deployment checks find the repository and its deployment files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"
APP_SPEC_TOOLS = ROOT / ".ci" / "app_spec"
