"""One episode's orchestration trigger payload, as the Durable extension builds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from devhost.durable.episode import context_json, plan_episode
from devhost.durable.store import START, Instance, Message
from devhost.durable.wire import RuntimeStatus, jtoken_text


def test_the_trigger_payload_is_the_extensions() -> None:
    instance = Instance(
        "inst-1", "orch", "e1", RuntimeStatus.PENDING, jtoken_text('{"a": 1}'), None, None, 0, 0
    )
    start_message = Message("inst-1", "e1", START, {}, 0, id=1)
    plan = plan_episode(instance, [], [start_message], datetime(2025, 1, 1, tzinfo=UTC))
    payload = json.loads(context_json(plan))
    assert {k: v for k, v in payload.items() if k != "history"} == {
        "input": '{"a": 1}',
        "instanceId": "inst-1",
        "isReplaying": False,
        "parentInstanceId": None,
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
        "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
    }
    assert [e["EventType"] for e in payload["history"]] == [12, 0]
    assert payload["history"][1]["Input"] == '"{\\"a\\": 1}"'
