"""functionTimeout (host.json) fails an activity that runs past it; the retry policy sees a failure.

WebJobs SDK FunctionExecutor: "Timeout value of {0} was exceeded by function: {1}"
(FunctionTimeoutException); the Durable extension reports it as the activity's failure
(src/WebJobs.Extensions.DurableTask/Listener/TaskActivityShim.cs, FunctionTimeoutError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devhost import RealClock
from devhost.durable.wire import EventType

ONE_SECOND = {"AzureFunctionsJobHost__functionTimeout": "00:00:01"}


async def test_an_activity_past_function_timeout_fails_with_the_hosts_message(
    devhost_with: Callable[..., Any],
) -> None:
    async with devhost_with(clock=RealClock(), **ONE_SECOND) as (host, _):
        instance_id = host.start_new("sleeper", 3)
        status = await host.wait_for(instance_id, timeout=20)
        failed = [e for e in host.history(instance_id) if e["EventType"] == EventType.TASK_FAILED]

        assert status["runtimeStatus"] == "Failed"
        assert failed[0]["Reason"] == (
            "Activity function 'sleep_for' failed: Timeout value of 00:00:01 was exceeded by function: "
            "Functions.sleep_for"
        )
        assert host.app_module.CALLS["sleep_for:done"] == 0  # the async activity was cancelled


async def test_an_activity_within_function_timeout_completes(devhost_with: Callable[..., Any]) -> None:
    async with devhost_with(clock=RealClock(), **ONE_SECOND) as (host, _):
        instance_id = host.start_new("sleeper", 0.1)
        assert (await host.wait_for(instance_id, timeout=20))["output"] == "woke"
