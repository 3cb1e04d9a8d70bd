"""Services of the local AWS sandbox broken on purpose, so a newcomer can watch an incident open and resolve.

A broken service is a file in the sandbox's faults directory (`.local/sandbox/faults/` under `make run`),
written by `python -m sandbox break` and read by the sandbox on every request, so the running stack needs no
signal and a restart starts healed. Development only: the product never imports this module.

Secrets Manager can be broken from one probing location alone (`break secrets_manager --from edge`, a file
`secrets_manager@edge`): `make run` gives each location's worker its location as botocore's application id
(AWS_SDK_UA_APP_ID), which every request's User-Agent carries as `app/<location>`; so one location's path
fails while the others' work, and the board shows `partial`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

# What `break` does to each service, as the CLI tells it.
EFFECTS = {
    "roles_anywhere": (
        "CreateSession answers AccessDeniedException and the role sessions it issued are revoked, so Secrets "
        "Manager's reads are denied too"
    ),
    "secrets_manager": "GetSecretValue answers ResourceNotFoundException",
}
SERVICES = tuple(EFFECTS)
# What can be broken from one location alone: it is reached with botocore, whose User-Agent names the location.
FROM_ONE_LOCATION = ("secrets_manager",)
_APP_ID = re.compile(r"\bapp/([\w.-]+)")
# The hint every injected error carries: the alert a newcomer receives says how to end it.
_HEAL = "broken on purpose in the local sandbox: python -m sandbox heal {service}"


class Faults:
    """The broken services of one sandbox, as files in `directory`."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def is_broken(self, service: str, location: str | None = None) -> bool:
        """Broken everywhere, or (given the location a request came from) from that location."""
        return (self.directory / service).exists() or (
            location is not None and (self.directory / f"{service}@{location}").exists()
        )

    def broken(self) -> list[str]:
        return [service for service in SERVICES if self.is_broken(service) or self._located(service)]

    def _located(self, service: str) -> list[Path]:
        return list(self.directory.glob(f"{service}@*")) if self.directory.is_dir() else []

    def break_service(self, service: str, location: str | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / (f"{service}@{location}" if location else service)).touch()

    def heal(self, services: Iterable[str] = SERVICES) -> None:
        for service in services:
            (self.directory / service).unlink(missing_ok=True)
            for path in self._located(service):
                path.unlink(missing_ok=True)


def for_sandbox(directory: Path) -> Faults:
    """The faults of the sandbox whose state is in `directory`."""
    return Faults(directory / "faults")


def reason(service: str) -> str:
    return _HEAL.format(service=service)


def _aws_error(start_response: Callable[..., Any], status: str, error_type: str, message: str) -> list[bytes]:
    """An AWS JSON-protocol error (Secrets Manager's shape: `__type` and `message`)."""
    body = json.dumps({"__type": error_type, "message": message}).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Content-Length", str(len(body))),
            ("x-amzn-ErrorType", error_type),
        ],
    )
    return [body]


def moto_middleware(app: Callable[..., Any], faults: Faults) -> Callable[..., Any]:
    """WSGI middleware in front of moto's server: Secrets Manager as `faults` says. Requests signed with role
    session credentials (a security token: those Roles Anywhere issued) are denied while Roles Anywhere is
    broken, as AWS denies revoked sessions; GetSecretValue finds no secret while Secrets Manager is broken.
    The sandbox's own requests (long-term dummy keys, no token) always pass."""

    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("secretsmanager."):
            if environ.get("HTTP_X_AMZ_SECURITY_TOKEN") and faults.is_broken("roles_anywhere"):
                message = f"The role session was revoked ({reason('roles_anywhere')})"
                return _aws_error(start_response, "400 Bad Request", "AccessDeniedException", message)
            location = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
            where = location.group(1) if location else None
            if target == "secretsmanager.GetSecretValue" and faults.is_broken("secrets_manager", where):
                message = f"Secrets Manager can't find the specified secret ({reason('secrets_manager')})"
                return _aws_error(start_response, "400 Bad Request", "ResourceNotFoundException", message)
        return app(environ, start_response)

    return middleware
