# mypy: disallow-untyped-decorators=False
"""The benchmark's app: no-op activities in a fan-out, and a chain of them."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

app = df.DFApp()


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    spec = context.get_input()
    activity = "noop_async" if spec["kind"] == "async" else "noop"
    results = yield context.task_all([context.call_activity(activity, i) for i in range(spec["width"])])
    return len(results)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    value = 0
    for _ in range(context.get_input()):
        value = yield context.call_activity("noop", value + 1)
    return int(value)


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.activity_trigger(input_name="value")
async def noop_async(value: int) -> int:
    return value
