"""Checks the shape of every request to Dash's callback endpoint before Dash reads it.

Dash indexes the JSON body it is given without checking it, so a body that is not what its own renderer
sends (no `output`, an unknown callback, inputs that are not a list of {id, property, value}) surfaces as a
KeyError/TypeError and a 500. Here such a body is a one-line 400 JSON instead; a well-formed body for one of
this app's callbacks passes untouched, and the callbacks themselves cope with any JSON value.
"""

from __future__ import annotations

from typing import Any

import dash
import flask
from dash.exceptions import DependencyException

from dashapp.api import error
from dashapp.ranges import BadInput
from jobs.defaults import MAX_BODY_BYTES


def _same_props(given: Any, declared: list[dict[str, Any]], what: str) -> None:
    """`given` must be a list of {id, property, ...} naming exactly the declared dependencies, in order."""
    if not isinstance(given, list) or len(given) != len(declared):
        raise BadInput(f"{what}: expected a list of {len(declared)} {{id, property, value}} objects")
    for item, spec in zip(given, declared, strict=True):
        if not isinstance(item, dict) or item.get("id") != spec["id"] or item.get("property") != spec["property"]:
            raise BadInput(f"{what}: expected {spec['id']}.{spec['property']} in this position")


def declared_outputs(callback_id: str) -> dict[str, str] | list[dict[str, str]]:
    """The {id, property} a callback writes, from its id in Dash's callback map: 'id.prop' for one output,
    '..id1.prop1...id2.prop2..' for several (the form Dash's renderer sends back as `output`)."""
    if callback_id.startswith(".."):
        return [_id_and_property(one) for one in callback_id[2:-2].split("...")]
    return _id_and_property(callback_id)


def _id_and_property(output: str) -> dict[str, str]:
    component, prop = output.rsplit(".", 1)
    return {"id": component, "property": prop}


def check_body(body: Any, callback_map: dict[str, dict[str, Any]]) -> None:
    """Raises BadInput (one line) unless `body` is a well-formed call of one of `callback_map`'s callbacks."""
    if not isinstance(body, dict):
        raise BadInput("expected a JSON object with output, outputs, inputs, state and changedPropIds")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise BadInput("output: not a callback of this page")
    callback = callback_map[output]
    _same_props(body.get("inputs"), callback["inputs"], "inputs")
    _same_props(body.get("state", []), callback["state"], "state")
    expected = declared_outputs(output)
    outputs = body.get("outputs")
    if isinstance(expected, list):
        _same_props(outputs, expected, "outputs")
    elif not isinstance(outputs, dict) or (outputs.get("id"), outputs.get("property")) != (
        expected["id"],
        expected["property"],
    ):
        raise BadInput(f"outputs: expected {{id: {expected['id']!r}, property: {expected['property']!r}}}")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(p, str) for p in changed):
        raise BadInput("changedPropIds: expected a list of 'id.property' strings")


def install(app: dash.Dash) -> None:
    """Validate bodies sent to this app's callback endpoint; cap every request body's size."""
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    endpoint = app.config.routes_pathname_prefix + "_dash-update-component"

    @server.errorhandler(BadInput)
    def _bad_input(exc: BadInput) -> flask.Response:
        return error(str(exc), exc.status)

    @server.errorhandler(DependencyException)
    def _unknown_script(_exc: DependencyException) -> flask.Response:
        # Dash's message lists every script it serves; a 404 needs none of that.
        return error("no such script; Dash serves only the scripts its page loads", 404)

    @server.before_request
    def _check_callback_body() -> None:
        if flask.request.path != endpoint or flask.request.method != "POST":
            return
        # Raises 415 (not JSON) / 400 (unparsable) itself; the app's error handler makes those JSON.
        check_body(flask.request.get_json(), app.callback_map)
