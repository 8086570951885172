"""Timers and retry intervals: at most 6 days (the Azure Storage provider's MaximumDelayTime).

Extension AzureStorageDurabilityProvider.cs (MaximumDelayTime, ValidateDelayTime) checked by
DurableOrchestrationContext.CallDurableTaskFunctionAsync for retry intervals, and by the shim for
timers before schema V3 (OutOfProcOrchestrationShim.InvokeAPIFromAction); with V3 the SDK splits
longer timers into pieces of `longRunningTimerIntervalDuration` (3 days).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from devhost import DevHost
from devhost.durable.replay import ReplayError, replay
from devhost.durable.wire import EventType, parse_timestamp
from tests.devhost.durable.test_replay import started

MESSAGE = "The Azure Storage provider supports a maximum of 6 days for time-based delays"


async def test_a_retry_interval_over_6_days_fails_the_instance(host: DevHost) -> None:
    over = host.start_new("long_retry", 6.5)
    within = host.start_new("long_retry", 6)

    assert MESSAGE in (await host.wait_for(over))["output"]
    assert (await host.wait_for(within))["output"] == 2


async def test_a_7_day_timer_arrives_as_pieces_of_at_most_6_days(host: DevHost) -> None:
    instance_id = host.start_new("long_timer")
    await host.wait_for(instance_id)
    pieces = [
        parse_timestamp(e["FireAt"]) - parse_timestamp(e["Timestamp"])
        for e in host.history(instance_id)
        if e["EventType"] == EventType.TIMER_CREATED
    ]
    assert pieces == [timedelta(days=3), timedelta(days=4)]  # 3 days, then what is left
    assert max(pieces) <= timedelta(days=6)


def test_before_schema_v3_a_7_day_timer_is_refused() -> None:
    history = started()
    now = parse_timestamp(history[0]["Timestamp"])
    action = {"actionType": 5, "fireAt": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    with pytest.raises(ReplayError, match="maximum of 6 days"):
        replay(history, [action], schema_version=1)
    assert replay(history, [action], schema_version=2).scheduled  # V3: the SDK's job
