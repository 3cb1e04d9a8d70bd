"""The bodies Dash's renderer POSTs to /_dash-update-component, built from the app's own callback map."""

from __future__ import annotations

from typing import Any

import dash
from dash._utils import split_callback_id


def payload(callback_id: str, callback: dict[str, Any], values: list[Any] | None = None) -> dict[str, Any]:
    """The body the page sends for one callback; `values` are the inputs' then the states' values in order."""
    deps = [*callback["inputs"], *callback["state"]]
    values = values if values is not None else [None] * len(deps)
    filled = [{"id": d["id"], "property": d["property"], "value": v} for d, v in zip(deps, values, strict=True)]
    first = callback["inputs"][0]
    return {
        "output": callback_id,
        "outputs": split_callback_id(callback_id),
        "inputs": filled[: len(callback["inputs"])],
        "state": filled[len(callback["inputs"]) :],
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def page_payloads(app: dash.Dash) -> dict[str, dict[str, Any]]:
    """One body per server-side callback of the page, with the values a freshly loaded page sends."""
    initial = {"n_intervals": 0, "value": "24h", "data": {}, "relayoutData": {"autosize": True}}
    bodies = {}
    for callback_id, callback in app.callback_map.items():
        deps = [*callback["inputs"], *callback["state"]]
        bodies[callback_id] = payload(callback_id, callback, [initial.get(d["property"]) for d in deps])
    return bodies
