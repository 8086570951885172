"""The reference's worked example (§4): fan-out of 3, task_all, custom status, timer, return.

Reproduced event for event through devhost: started over HTTP with the SDK's client, the three
uploads completing at 12:00:05 (b) and 12:00:08 (c, then a, together in one episode), the timer
firing at 12:00:39. Only the ExecutionId is devhost's own (a random GUID, "e1" in the reference).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devhost import DevHost, VirtualClock
from tests.devhost.conftest import eventually, start

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


def row(event_type: int, timestamp: str, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": timestamp, **fields}


def ts(seconds: int) -> str:
    return f"2025-01-01T12:00:{seconds:02d}.0000000Z"


def expected_history(execution_id: str) -> list[dict[str, Any]]:
    upload_inputs = ['{"name": "a"}', '{"name": "b"}', '{"name": "c"}']
    return [
        row(12, ts(0)),
        row(
            0,
            ts(0),
            Name="orch",
            Version="",
            Input='"{\\"files\\": [\\"a\\", \\"b\\", \\"c\\"]}"',
            OrchestrationInstance={"InstanceId": "inst-1", "ExecutionId": execution_id},
            ParentInstance=None,
            Tags=None,
        ),
        *(row(4, ts(0), i, Name="upload", Version="", Input=upload_inputs[i]) for i in range(3)),
        row(13, ts(0)),
        row(12, ts(5)),
        row(5, ts(5), TaskScheduledId=1, Result='"blob://b"'),
        row(13, ts(5)),
        row(12, ts(8)),
        row(5, ts(8), TaskScheduledId=2, Result='"blob://c"'),
        row(5, ts(8), TaskScheduledId=0, Result='"blob://a"'),
        row(10, ts(8), 3, FireAt=ts(38)),
        row(13, ts(8)),
        row(12, ts(39)),
        row(11, ts(39), TimerId=3, FireAt=ts(38)),
        # After the reference's last step the host records the completion, id 4, then closes the episode.
        row(
            1,
            ts(39),
            4,
            OrchestrationStatus=1,
            Result='{"results":["blob://a","blob://b","blob://c"],"replaying_at_end":false}',
            FailureDetails=None,
        ),
        row(13, ts(39)),
    ]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0, auto_advance=False)


async def test_worked_example_event_for_event(
    host: DevHost, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    gates = host.app_module.GATES
    gates.enabled = True
    instance_id = await start(http, "orch", {"files": ["a", "b", "c"]}, instance_id="inst-1")
    await eventually(lambda: sorted(gates.waiting) == ["a", "b", "c"])

    clock.set(T0 + timedelta(seconds=5))
    gates.open("b")
    await eventually(lambda: len(host.history(instance_id)) == 9)

    async with host.holding_orchestrations():
        clock.set(T0 + timedelta(seconds=8))
        gates.open("c")
        await eventually(lambda: host.engine.queued(instance_id) == 1)
        gates.open("a")
        await eventually(lambda: host.engine.queued(instance_id) == 2)
    await eventually(lambda: len(host.history(instance_id)) == 14)
    running = (await http.get(f"/api/instances/{instance_id}")).json()
    assert running["runtimeStatus"] == "Running"
    assert running["customStatus"] == {"stage": "waiting", "uploaded": 3}

    clock.set(T0 + timedelta(seconds=39))
    status = await host.wait_for(instance_id, timeout=10)

    history = host.history(instance_id)
    execution_id = history[1]["OrchestrationInstance"]["ExecutionId"]
    assert history == expected_history(execution_id)
    assert status["output"] == {"results": ["blob://a", "blob://b", "blob://c"], "replaying_at_end": False}
    assert status["customStatus"] == {"stage": "waiting", "uploaded": 3}
    assert status["input"] == json.dumps({"files": ["a", "b", "c"]})
    assert (status["createdTime"], status["lastUpdatedTime"]) == (
        "2025-01-01T12:00:00Z",
        "2025-01-01T12:00:39Z",
    )
