"""What the Functions host would index from function_app.py: names, triggers, bindings, routes.

The host loads zero functions (or fails at start-up) when a binding's name does not match a
parameter of its function, or when two functions share a name; this test catches both before
deployment, and pins every public trigger so that a renamed route or auth level is a visible change.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

HTTP_OUT = {"direction": "OUT", "type": "http", "name": "$return"}

# function name -> the bindings the host must see, exactly.
EXPECTED_BINDINGS: dict[str, list[dict[str, Any]]] = {
    "health": [
        {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["GET"],
            "authLevel": "ANONYMOUS",
            "route": "health",
        },
        HTTP_OUT,
    ],
}


def binding_problems(function: Any) -> list[str]:
    """Why the host would reject this function's bindings (empty when it would index it)."""
    name = function.get_function_name()
    parameters = set(inspect.signature(function.get_user_function()).parameters)
    problems = []
    for binding in json.loads(function.get_function_json())["bindings"]:
        if binding["name"] != "$return" and binding["name"] not in parameters:
            problems.append(f"{name}: binding {binding['name']!r} matches no parameter of the function")
    return problems


@pytest.fixture(scope="module")
def indexed_functions() -> dict[str, Any]:
    import function_app

    # azure-functions 1.26 allows get_functions() once per app object.
    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def test_the_app_defines_exactly_the_expected_functions(indexed_functions: dict[str, Any]) -> None:
    assert sorted(indexed_functions) == sorted(EXPECTED_BINDINGS)


@pytest.mark.parametrize("name", sorted(EXPECTED_BINDINGS))
def test_bindings_are_what_the_host_indexes(indexed_functions: dict[str, Any], name: str) -> None:
    function = indexed_functions[name]
    assert json.loads(function.get_function_json())["bindings"] == EXPECTED_BINDINGS[name]
    assert binding_problems(function) == []


def test_a_misnamed_binding_is_caught() -> None:
    app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="broken")
    @app.durable_client_input(client_name="durable_client")
    async def broken(req: func.HttpRequest, client: Any) -> func.HttpResponse:
        raise AssertionError("never called")

    (function,) = app.get_functions()
    assert binding_problems(function) == [
        "broken: binding 'durable_client' matches no parameter of the function"
    ]
