"""Terminate: not recursive, and activities already queued still run (their results are dropped).

DTFx's Azure Storage provider dequeues activity work items without looking at their instance
(src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs, LockNextTaskActivityWorkItem);
the terminated instance then discards the results. Known upstream: durable extension issues #153
and #506, durabletask #446. A job that must stop its work cancels cooperatively (core/cancellation.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from devhost.durable.wire import EventType
from tests.devhost.conftest import eventually

ONE_SLOT = {"AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions": "1"}


async def test_queued_activities_of_a_terminated_instance_still_run(devhost_with: Callable[..., Any]) -> None:
    async with devhost_with(**ONE_SLOT) as (host, _):
        gates = host.app_module.GATES
        gates.enabled = True
        instance_id = host.start_new("fan_out_gated", ["a", "b", "c"])
        await eventually(lambda: gates.waiting == ["a"])  # b and c wait for the single slot

        host.engine.terminate(instance_id, "stop")
        status = await host.wait_for(instance_id)
        for name in ("a", "b", "c"):
            gates.open(name)
        await eventually(lambda: sorted(gates.waiting) == ["a", "b", "c"])  # every queued one ran
        await asyncio.sleep(0.3)  # their results reach the (terminated) instance

        assert status["runtimeStatus"] == "Terminated"
        assert host.status(instance_id)["runtimeStatus"] == "Terminated"
        completed = [e for e in host.history(instance_id) if e["EventType"] == EventType.TASK_COMPLETED]
        assert completed == []  # their results were dropped


async def test_terminating_a_parent_leaves_its_sub_orchestration_running(
    devhost_with: Callable[..., Any],
) -> None:
    async with devhost_with() as (host, _):
        parent = host.start_new("parent_waits", None, "family")
        child = "family-approval"
        await eventually(lambda: (host.status(child) or {}).get("runtimeStatus") == "Running")

        host.engine.terminate(parent, "stop")
        await host.wait_for(parent)
        assert host.status(child)["runtimeStatus"] == "Running"  # not recursive

        host.engine.raise_event(child, "approval", '"yes"')
        host.engine.raise_event(child, "approval", '"again"')
        finished = await host.wait_for(child)
        assert finished["runtimeStatus"] == "Completed"
        assert host.status(parent)["runtimeStatus"] == "Terminated"  # its answer is dropped
