"""What the Functions host would index from the storage activities' blueprint."""

from __future__ import annotations

import inspect
import json
from typing import Any

import azure.durable_functions as df
import pytest

from activities import storage
from orchestrators import names

ACTIVITY_NAMES = {
    names.INGEST_INPUT,
    names.CREATE_SAS,
    names.SAVE_RESULTS,
    names.ADD_REFERENCE_FILE,
    names.WRITE_KNOWLEDGE_BASE,
    names.CLEANUP_JOB,
}


@pytest.fixture(scope="module")
def functions() -> dict[str, Any]:
    app = df.DFApp()
    app.register_functions(storage.bp)
    return {function.get_function_name(): function for function in app.get_functions()}


def test_the_blueprint_defines_exactly_the_storage_activities(functions: dict[str, Any]) -> None:
    assert set(functions) == ACTIVITY_NAMES


@pytest.mark.parametrize("name", sorted(ACTIVITY_NAMES))
def test_each_is_an_activity_whose_binding_matches_its_parameter(
    functions: dict[str, Any], name: str
) -> None:
    function = functions[name]
    bindings = json.loads(function.get_function_json())["bindings"]

    assert bindings == [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]
    assert function.get_trigger().get_binding_name() == "activityTrigger"
    assert list(inspect.signature(function.get_user_function()).parameters) == ["payload"]
    assert inspect.iscoroutinefunction(function.get_user_function())
