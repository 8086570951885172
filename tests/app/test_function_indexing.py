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

from core import function_names as names

HTTP_OUT = {"direction": "OUT", "type": "http", "name": "$return"}
CLIENT = {"direction": "IN", "type": "durableClient", "name": "client"}


def http(route: str, method: str, auth: str = "FUNCTION", *, client: bool = True) -> list[dict[str, Any]]:
    trigger = {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": [method],
        "authLevel": auth,
    }
    return [*([CLIENT] if client else []), {**trigger, "route": route}, HTTP_OUT]


def orchestrator() -> list[dict[str, Any]]:
    return [{"direction": "IN", "type": "orchestrationTrigger", "name": "context"}]


def activity() -> list[dict[str, Any]]:
    return [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]


# function name -> the bindings the host must see, exactly.
EXPECTED_BINDINGS: dict[str, list[dict[str, Any]]] = {
    "health": http("health", "GET", "ANONYMOUS", client=False),
    "openapi": http("openapi.json", "GET", "ANONYMOUS", client=False),
    "start_analysis": http("analyses", "POST"),
    "get_analysis": http("analyses/{id}", "GET"),
    "get_analysis_result": http("analyses/{id}/result", "GET"),
    "get_analysis_result_entry": http("analyses/{id}/results/{index}", "GET"),
    "get_analysis_fields": http("analyses/{id}/fields", "GET"),
    "cancel_analysis": http("analyses/{id}", "DELETE"),
    "put_analyzer": http("analyzers/{analyzerId}", "PUT"),
    "get_analyzer": http("analyzers/{analyzerId}", "GET", client=False),
    "blob_intake": [
        CLIENT,
        {
            "direction": "IN",
            "type": "blobTrigger",
            "name": "blob",
            "path": "%INTAKE_CONTAINER%/{name}",
            "connection": "DocumentStorage",
            "source": "EventGrid",
        },
    ],
    # The retention timer (triggers/retention.py): hourly, NCRONTAB with seconds, UTC.
    "purge_history": [
        CLIENT,
        {
            "direction": "IN",
            "type": "timerTrigger",
            "name": "timer",
            "schedule": "0 17 * * * *",
            "runOnStartup": False,
            "useMonitor": True,
        },
    ],
    names.ANALYSIS_JOB: orchestrator(),
    names.ANALYSIS_BATCH: orchestrator(),
    names.AGENTIC_JOB: orchestrator(),
    names.ENSURE_ANALYZER: orchestrator(),
    names.MONITOR_OPERATION: orchestrator(),
    **{
        name: activity()
        for name in (
            names.INGEST_INPUT,
            names.CREATE_SAS,
            names.SAVE_RESULTS,
            names.PACKAGE_INPUTS,
            names.CLEANUP_JOB,
            names.GET_ANALYZER_STATE,
            names.BEGIN_CREATE_ANALYZER,
            names.BEGIN_ANALYSIS,
            names.GET_OPERATION,
            names.PREPARE_INPUTS,
            names.BEGIN_ANALYSES,
            names.POLL_OPERATIONS,
            names.SAVE_BATCH,
        )
    },
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


def test_every_name_constant_is_a_registered_function(indexed_functions: dict[str, Any]) -> None:
    constants = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert constants <= set(indexed_functions), constants - set(indexed_functions)


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
