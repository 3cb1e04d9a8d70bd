"""`python -m sandbox break SERVICE [--from LOCATION]` / `heal [SERVICE]`: break a service of the running
`make run`'s local AWS sandbox on purpose (everywhere, or from one probing location alone), and heal it, to watch
an incident open, its alert arrive and its resolution."""

from __future__ import annotations

import sys
from pathlib import Path

from sandbox.faults import EFFECTS, FROM_ONE_LOCATION, SERVICES, for_sandbox
from sandbox.local import LOCAL, Running, find_running

USAGE = "usage: python -m sandbox break SERVICE [--from LOCATION] | heal [SERVICE]"


class CommandError(Exception):
    """A one-line error for the user, and the exit status."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _services(args: list[str], command: str) -> list[str]:
    if (command == "break" and len(args) != 1) or len(args) > 1:
        raise CommandError(USAGE, 2)
    unknown = [name for name in args if name not in SERVICES]
    if unknown:
        raise CommandError(f"unknown service {unknown[0]!r}; accepted: {', '.join(SERVICES)}", 2)
    return args or list(SERVICES)


def _running(local: Path) -> Running:
    running = find_running(local)
    if running is None:
        raise CommandError("no `make run` is running in this project; start it first, then break a service", 1)
    if running.sandbox is None:
        raise CommandError("this `make run` uses the AWS endpoints of your settings, not the local sandbox", 1)
    return running


def run(args: list[str], local: Path = LOCAL) -> str:
    """Do what `args` ask; the line to print. Raises CommandError."""
    if not args or args[0] not in ("break", "heal"):
        raise CommandError(USAGE, 2)
    location = None
    if args[0] == "break" and len(args) == 4 and args[2] == "--from":
        args, location = args[:2], args[3]
        if args[1] not in FROM_ONE_LOCATION:
            raise CommandError(f"--from: only {', '.join(FROM_ONE_LOCATION)} can be broken from one location", 2)
    command, services = args[0], _services(args[1:], args[0])
    running = _running(local)
    faults = for_sandbox(Path(running.sandbox or ""))
    watch = f"; notifications: {running.notifications}" if running.notifications else ""
    if command == "break":
        [service] = services
        faults.break_service(service, location)
        where = f" from {location} alone" if location else ""
        return (
            f"{service} broken{where}: {EFFECTS[service]}. An incident opens after 3 failed checks{watch}. "
            f"Heal it with: python -m sandbox heal {service}"
        )
    was_broken = [service for service in faults.broken() if service in services]
    faults.heal(services)
    if not was_broken:
        return f"nothing to heal: {', '.join(services)} {'was' if len(services) == 1 else 'were'} not broken"
    return f"healed {', '.join(was_broken)}: the incident resolves after 2 checks that work{watch}"


def main(argv: list[str]) -> int:
    try:
        print(run(argv))
    except CommandError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
