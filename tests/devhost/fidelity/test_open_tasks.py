"""Open tasks: an instance completes only when no task it scheduled is still open.

DTFx src/DurableTask.Core/TaskOrchestrationExecutor.cs (ExecuteCore): `if (!this.context.HasOpenTasks)`
before completing or failing; a cancelled timer leaves the open tasks (TaskOrchestrationContext.CreateTimer).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from devhost import VirtualClock
from devhost.durable.wire import EventType
from tests.devhost.conftest import eventually


async def test_a_timer_that_lost_a_task_any_keeps_the_instance_running_until_it_fires(
    devhost_with: Callable[..., Any],
) -> None:
    clock = VirtualClock(auto_advance=False)
    async with devhost_with(clock=clock) as (host, _):
        instance_id = host.start_new("race_uncancelled")
        await eventually(
            lambda: any(e["EventType"] == EventType.TASK_COMPLETED for e in host.history(instance_id))
        )
        await eventually(lambda: host.engine.queued(instance_id) == 0)

        assert host.status(instance_id)["runtimeStatus"] == "Running"  # the orchestrator returned already
        clock.advance(timedelta(hours=1))
        status = await host.wait_for(instance_id)
        assert status["runtimeStatus"] == "Completed"
        assert status["output"] == {"winner": "work"}


async def test_a_cancelled_timer_does_not_hold_the_instance(devhost_with: Callable[..., Any]) -> None:
    async with devhost_with(clock=VirtualClock(auto_advance=False)) as (host, _):
        instance_id = host.start_new("race", "quick")  # cancels its timer when the work wins
        assert (await host.wait_for(instance_id, timeout=10))["output"] == {
            "winner": "work",
            "value": "QUICK",
        }
