"""The probe of each service, in display order. A service without a module here is reported not_configured.

Each module exposes SERVICE (its id in jobs.result.SERVICE_NAMES) and probe(settings) -> ProbeResult, which
never raises. Adding a probe is one import and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable

from jobs.probes import postgres, valkey
from jobs.result import SERVICE_NAMES, ProbeResult
from jobs.settings import Settings

Probe = Callable[[Settings], ProbeResult]

PROBES: dict[str, Probe] = {
    module.SERVICE: module.probe
    for module in sorted((postgres, valkey), key=lambda module: list(SERVICE_NAMES).index(module.SERVICE))
}
