"""Retention end to end: the purge_history timer removes old finished instances and nothing else.

The app runs on devhost with a virtual clock: jobs are made "60 days ago" and "yesterday", and the
clock is then moved to the timer's next occurrence, so the real timer function runs on its real
schedule. It purges with the real clock's "now" minus INSTANCE_HISTORY_RETENTION_DAYS (30).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost import VirtualClock
from tests.e2e.conftest import AppStack, sample

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

TIMER = "purge_history"
DURABLE = "/runtime/webhooks/durabletask/instances"


async def instances(stack: AppStack) -> dict[str, str]:
    """Every instance id with its runtime status."""
    response = await stack.http.get(f"{stack.host.base_url}{DURABLE}")
    assert response.status_code == 200, response.text
    return {item["instanceId"]: item["runtimeStatus"] for item in response.json()}


async def eventually_status(stack: AppStack, instance_id: str, status: str) -> None:
    for _ in range(500):  # at most 5 s
        if (await instances(stack)).get(instance_id) == status:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{instance_id} never became {status}")


async def test_the_timer_purges_old_finished_instances_only(start_stack: Callable[..., Any]) -> None:
    now = datetime.now(UTC)
    clock = VirtualClock(now - timedelta(days=60))
    document = [("files", name, sample("invoice-contoso.txt")) for name in ("a.txt", "b.txt")]
    # One document per batch: the jobs have sub-orchestrations (their batches), purged with them.
    async with start_stack(clock=clock, INSTANCE_HISTORY_RETENTION_DAYS="30", JOB_BATCH_SIZE="1") as stack:
        stack: AppStack  # type: ignore[no-redef]
        # 60 days ago: a job that finished, and one that is suspended (not finished) ever since.
        old_done = await stack.submit(document)
        assert (await stack.wait(old_done))["status"] == "succeeded"
        async with stack.host.holding_orchestrations():
            # One document: its one batch runs inside it, so no child of it finishes meanwhile.
            old_suspended = await stack.submit(document[:1])
            suspend = await stack.http.post(f"{stack.host.base_url}{DURABLE}/{old_suspended}/suspend")
            assert suspend.status_code == 202
        await eventually_status(stack, old_suspended, "Suspended")
        before = await instances(stack)
        old_children = [i for i in before if i.startswith(f"{old_done}:")]
        assert old_children  # the job's batches, its sub-orchestrations
        assert stack.host.timers.runs[TIMER] == 0

        # Two months later (yesterday): the timer's occurrences have passed, it runs once.
        clock.set(now - timedelta(days=1))
        await stack.host.timers.wait_for_runs(TIMER, 1)
        after = await instances(stack)
        assert set(after) == set(before) - {old_done, *old_children}
        assert after[old_suspended] == "Suspended"
        assert (await stack.http.get(f"/api/analyses/{old_done}")).status_code == 404

        # A job finished yesterday is younger than the retention: the next run keeps it.
        recent_done = await stack.submit(document)
        assert (await stack.wait(recent_done))["status"] == "succeeded"
        kept = await instances(stack)
        assert [i for i in kept if i.startswith(f"{recent_done}:")]
        clock.set(stack.host.timers.schedules[TIMER].next_after(clock.now()))
        await stack.host.timers.wait_for_runs(TIMER, 2)
        assert await instances(stack) == kept
        assert (await stack.http.get(f"/api/analyses/{recent_done}/result")).status_code == 200
        assert stack.host.timers.runs[TIMER] == 2
