"""How numbers read on the page, the API's badge and the charts' captions. Pure."""

from __future__ import annotations

# Shown where a value is missing (no result yet, not measured).
NO_VALUE = "—"


def percent(ratio: float | None, compact: bool = False) -> str:
    """'98.77 %' on the page; compact '98.8%' (and 'n/a' for none) where width counts, as on a badge."""
    if ratio is None:
        return "n/a" if compact else NO_VALUE
    return f"{ratio * 100:.1f}%" if compact else f"{ratio * 100:.2f} %"


def milliseconds(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:,.1f} ms"
