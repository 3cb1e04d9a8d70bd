"""The probe of each service, in display order. A service without a module here is reported not_configured.

Each module exposes SERVICE (its id in jobs.result.SERVICE_NAMES) and probe(settings) -> ProbeResult, which
never raises. Adding a probe is one import and one entry below. A probe with CPU-bound set-up (parsing keys,
loading service models, building clients) also exposes prepare(settings), which `prepare` runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from jobs.probes import postgres, roles_anywhere, secrets_manager, valkey
from jobs.result import SERVICE_NAMES, ProbeResult
from jobs.settings import Settings

Probe = Callable[[Settings], ProbeResult]

_MODULES = sorted(
    (postgres, valkey, roles_anywhere, secrets_manager), key=lambda module: list(SERVICE_NAMES).index(module.SERVICE)
)
PROBES: dict[str, Probe] = {module.SERVICE: module.probe for module in _MODULES}
# Probed first, one after another: a few quick round trips each, whose clocks would otherwise run while the
# other probes keep this interpreter and the machine's two cores busy (PostgreSQL's connection set-up, the AWS
# probes' requests). Each module's WAVE says its turn; the AWS probes follow at once after these.
WAVES: tuple[frozenset[str], ...] = tuple(
    frozenset(m.SERVICE for m in _MODULES if getattr(m, "WAVE", None) == n)
    for n in sorted({m.WAVE for m in _MODULES if hasattr(m, "WAVE")})
)

log = logging.getLogger(__name__)


def prepare(settings: Settings) -> None:
    """Every probe's CPU-bound set-up, done once per settings and process and reused by every cycle. Run before
    the probes start, so that no probe's timer runs while another one's set-up holds the interpreter."""
    for module in _MODULES:
        if not hasattr(module, "prepare"):
            continue
        try:
            module.prepare(settings)
        except Exception as exc:  # the probe meets the same failure and reports it as its row's error
            log.debug("could not prepare the %s probe: %s", module.SERVICE, type(exc).__name__)
