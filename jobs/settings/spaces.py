"""Where `python -m dashapp publish-assets` uploads assets/: a DigitalOcean Spaces bucket (S3 API).

Read only by that command, never by the web or the worker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobs.settings.parse import SettingsError, aws_endpoint_url, shown, text


@dataclass(frozen=True)
class SpacesSettings:
    """The keys are Spaces access keys (DigitalOcean), not AWS keys; only the publishing shell needs them."""

    bucket: str
    region: str
    endpoint_url: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


def load_spaces(env: Mapping[str, str] | None = None) -> SpacesSettings:
    """Read the Spaces settings; raises SettingsError (one line, naming the variable) when one is missing or wrong."""
    env = os.environ if env is None else env
    values = {}
    for name in ("SPACES_BUCKET", "SPACES_REGION", "SPACES_ACCESS_KEY_ID", "SPACES_SECRET_ACCESS_KEY"):
        values[name] = text(env, name)
        if values[name] is None:
            raise SettingsError(f"{name}: missing (publish-assets needs SPACES_BUCKET, SPACES_REGION and Spaces keys)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", values["SPACES_BUCKET"] or ""):
        raise SettingsError("SPACES_BUCKET: expected 3-63 lowercase letters, digits, '.' or '-'")
    region = values["SPACES_REGION"] or ""
    if not re.fullmatch(r"[a-z]{3}\d", region):
        raise SettingsError(f"SPACES_REGION: expected a DigitalOcean region such as fra1, got {shown(region)}")
    endpoint = text(env, "AWS_ENDPOINT_URL_S3") or f"https://{region}.digitaloceanspaces.com"
    aws_endpoint_url(endpoint, "AWS_ENDPOINT_URL_S3")
    return SpacesSettings(
        bucket=values["SPACES_BUCKET"] or "",
        region=region,
        endpoint_url=endpoint,
        access_key_id=values["SPACES_ACCESS_KEY_ID"] or "",
        secret_access_key=values["SPACES_SECRET_ACCESS_KEY"] or "",
    )
