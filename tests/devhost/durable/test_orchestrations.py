"""Durable semantics end to end: the test app, started and managed over HTTP with the SDK's client."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devhost import DevHost, VirtualClock
from devhost.durable.wire import EventType, parse_timestamp
from tests.devhost.conftest import eventually, start


def rows(host: DevHost, instance_id: str, *kinds: EventType) -> list[dict[str, Any]]:
    return [e for e in host.history(instance_id) if e["EventType"] in kinds]


async def app_status(http: httpx.AsyncClient, instance_id: str) -> dict[str, Any]:
    """The status as the SDK's `get_status` returns it to the app."""
    response = await http.get(f"/api/instances/{instance_id}")
    result: dict[str, Any] = response.json()
    return result


async def test_activity_chain_gets_one_id_per_step(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "chain", {"start": 10, "steps": 4})
    status = await host.wait_for(instance_id)
    assert status["output"] == 14
    scheduled = rows(host, instance_id, EventType.TASK_SCHEDULED)
    assert [(e["EventId"], e["Name"], e["Input"]) for e in scheduled] == [
        (0, "add_one", "10"),
        (1, "add_one", "11"),
        (2, "add_one", "12"),
        (3, "add_one", "13"),
    ]
    assert (await app_status(http, instance_id))["runtimeStatus"] == "Completed"


async def test_completions_that_arrive_together_share_one_episode(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    gates = host.app_module.GATES
    gates.enabled = True
    names = [f"f{i}" for i in range(12)]
    instance_id = await start(http, "orch", {"files": names})
    await eventually(lambda: len(gates.waiting) == 3)  # maxConcurrentActivityFunctions is 3
    async with host.holding_orchestrations():
        for name in names:
            gates.open(name)
        await eventually(lambda: host.engine.queued(instance_id) == 12)
    await host.wait_for(instance_id)
    kinds = [e["EventType"] for e in host.history(instance_id)]
    episode_starts = [i for i, kind in enumerate(kinds) if kind == EventType.ORCHESTRATOR_STARTED]
    second_episode = kinds[episode_starts[1] : episode_starts[1] + 14]
    assert second_episode == [
        EventType.ORCHESTRATOR_STARTED,
        *[EventType.TASK_COMPLETED] * 12,
        EventType.TIMER_CREATED,
    ]


async def test_retries_write_the_hosts_rows(host: DevHost, http: httpx.AsyncClient) -> None:
    spec = {"key": "retry-ok", "failures": 2, "attempts": 3}
    instance_id = await start(http, "flaky_orch", spec)
    status = await host.wait_for(instance_id)
    assert status["output"] == {"first": "ok after 3 attempts", "after": 42}
    history = host.history(instance_id)
    summary = [
        (EventType(e["EventType"]).dotnet_name, e.get("TaskScheduledId", e.get("TimerId", e["EventId"])))
        for e in history
        if e["EventType"] not in (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED)
    ]
    assert summary == [
        ("ExecutionStarted", -1),
        ("TaskScheduled", 0),
        ("TaskFailed", 0),
        ("TimerCreated", 1),
        ("TimerFired", 1),
        ("TaskScheduled", 2),
        ("TaskFailed", 2),
        ("TimerCreated", 3),
        ("TimerFired", 3),
        ("TaskScheduled", 4),
        ("TaskCompleted", 4),
        ("TaskScheduled", 5),
        ("TaskCompleted", 5),
        ("ExecutionCompleted", 6),
    ]
    for created in rows(host, instance_id, EventType.TIMER_CREATED):
        delay = parse_timestamp(created["FireAt"]) - parse_timestamp(created["Timestamp"])
        assert delay == timedelta(seconds=5)  # constant: Python's RetryOptions has no backoff


async def test_exhausted_retries_fail_after_the_dummy_timer(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "flaky_orch", {"key": "retry-fail", "failures": 9, "attempts": 2})
    status = await host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'flaky_orch' failed: "
        "Activity function 'flaky' failed:  ConnectionError: attempt 2 failed \n "
    )
    timers = rows(host, instance_id, EventType.TIMER_CREATED)
    assert [t["EventId"] for t in timers] == [1, 3]
    assert timers[1]["FireAt"] == timers[1]["Timestamp"]  # "Dummy timer for back-compat" fires now
    assert host.app_module.CALLS["retry-fail"] == 2


async def test_task_all_drain_and_empty_task_all(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "drain")
    output = (await host.wait_for(instance_id))["output"]
    assert output["first_error"].startswith(
        "Activity function 'maybe_fail' failed:  ValueError: input bad is bad \n "
    )
    assert [(o["ok"], o["value"][:20]) for o in output["outcomes"]] == [
        (True, "A"),
        (False, "Activity function 'm"),
        (True, "C"),
    ]
    assert output["empty"] is None  # task_all([]) returns None in SDK 1.7


async def test_a_failed_task_all_fails_only_when_every_child_is_done(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    gates = host.app_module.GATES
    gates.enabled = True
    instance_id = await start(http, "all_or_nothing")
    await eventually(lambda: sorted(gates.waiting) == ["bad", "slow"])
    gates.open("bad")
    await eventually(lambda: bool(rows(host, instance_id, EventType.TASK_FAILED)))
    await eventually(lambda: host.engine.queued(instance_id) == 0)
    await asyncio.sleep(0.05)
    # The SDK raised already, but the host's Task.WhenAll still waits for "slow".
    assert (await app_status(http, instance_id))["runtimeStatus"] == "Running"
    gates.open("slow")
    status = await host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "input bad is bad" in status["output"]


async def test_task_any_returns_the_winner_and_a_cancelled_timer_does_not_hold(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    instance_id = await start(http, "race", "quick")
    status = await host.wait_for(instance_id)
    assert status["output"] == {"winner": "work", "value": "QUICK"}
    assert len(rows(host, instance_id, EventType.TIMER_CREATED)) == 1
    assert rows(host, instance_id, EventType.TIMER_FIRED) == []


@pytest.mark.parametrize("clock", [VirtualClock(auto_advance=False)])
async def test_task_any_timeout_wins_when_the_timer_fires_first(
    host: DevHost, http: httpx.AsyncClient, clock: VirtualClock
) -> None:
    gates = host.app_module.GATES
    gates.enabled = True
    instance_id = await start(http, "race", "stuck")
    await eventually(lambda: gates.waiting == ["stuck"])
    clock.advance(timedelta(hours=1))
    await eventually(lambda: bool(rows(host, instance_id, EventType.TIMER_FIRED)))
    await eventually(lambda: host.engine.queued(instance_id) == 0)
    # The orchestrator returned, but the losing activity is an open task: DTFx keeps it Running.
    assert (await app_status(http, instance_id))["runtimeStatus"] == "Running"
    gates.open("stuck")
    status = await host.wait_for(instance_id)
    assert status["output"] == {"winner": "timer"}


async def test_activity_failure_carries_reason_and_details(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "activity_fails")
    status = await host.wait_for(instance_id)
    (failed,) = rows(host, instance_id, EventType.TASK_FAILED)
    assert failed["Reason"] == "Activity function 'maybe_fail' failed:  ValueError: input bad is bad"
    assert "ValueError: input bad is bad" in failed["Details"]
    assert status["output"] == (
        f"Orchestrator function 'activity_fails' failed: {failed['Reason']} \n {failed['Details']}"
    )


async def test_orchestrator_failure_uses_out_of_proc_state_and_keeps_custom_status(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    instance_id = await start(http, "failing")
    status = await host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == "Orchestrator function 'failing' failed: the orchestrator broke"
    assert status["customStatus"] == {"stage": "about to fail"}
    (completed,) = rows(host, instance_id, EventType.EXECUTION_COMPLETED)
    assert completed["OrchestrationStatus"] == 3
    assert completed["EventId"] == 1


async def test_sub_orchestrations_with_explicit_and_default_ids(
    host: DevHost, http: httpx.AsyncClient
) -> None:
    instance_id = await start(http, "parent", instance_id="family")
    output = (await host.wait_for(instance_id))["output"]
    execution_id = host.history(instance_id)[1]["OrchestrationInstance"]["ExecutionId"]
    assert output["explicit"] == {"value": 2, "instance": "family-child", "parent": "family"}
    assert output["default"] == {"value": 3, "instance": f"{execution_id}:1", "parent": "family"}
    assert output["failure"].startswith(
        "Orchestrator function 'child' failed: child 3 was told to fail \n Message: child 3 was told to fail"
    )
    created = rows(host, instance_id, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    assert [(e["EventId"], e["InstanceId"], e["Input"]) for e in created] == [
        (0, "family-child", '"{\\"n\\": 1}"'),
        (1, f"{execution_id}:1", '"{\\"n\\": 2}"'),
        (2, f"{execution_id}:2", '"{\\"n\\": 3, \\"fail\\": true}"'),
    ]
    child = await app_status(http, "family-child")
    assert (child["runtimeStatus"], child["input"]) == ("Completed", '{"n": 1}')
    child_start = host.history("family-child")[1]
    assert child_start["ParentInstance"]["OrchestrationInstance"]["InstanceId"] == "family"
    assert (await app_status(http, f"{execution_id}:2"))["runtimeStatus"] == "Failed"


async def test_continue_as_new_restarts_with_a_fresh_history(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "counter", 0)
    status = await host.wait_for(instance_id)
    assert status["output"] == {"final": 3}
    assert status["input"] == "3"
    history = host.history(instance_id)
    assert [e["EventType"] for e in history] == [12, 0, 1, 13]
    assert history[1]["Input"] == '"3"'


async def test_long_timers_are_split_as_on_azure_storage(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "long_timer")
    output = (await host.wait_for(instance_id))["output"]
    started, woke = parse_timestamp(output["started"]), parse_timestamp(output["woke"])
    assert woke - started == timedelta(days=7)
    fire_times = [
        parse_timestamp(e["FireAt"]) - started for e in rows(host, instance_id, EventType.TIMER_CREATED)
    ]
    assert fire_times == [timedelta(days=3), timedelta(days=7)]


async def test_external_events_are_encoded_as_the_host_does(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "approval")
    response = await http.post(f"/api/instances/{instance_id}/events/approval", json={"ok": True})
    assert response.status_code == 202
    # Straight to the Durable HTTP API, the way curl or Event Grid would post JSON:
    direct = await http.post(
        f"/runtime/webhooks/durabletask/instances/{instance_id}/raiseEvent/approval", json={"ok": 2}
    )
    assert direct.status_code == 202
    output = (await host.wait_for(instance_id))["output"]
    # The SDK's client double-encodes (issue #295): the orchestrator gets JSON text, not a dict.
    assert output == {"first": '{"ok": true}', "second": {"ok": 2}}
    raised = rows(host, instance_id, EventType.EVENT_RAISED)
    assert [e["Input"] for e in raised] == ['"{\\"ok\\": true}"', '{"ok": 2}']


async def test_custom_status_keeps_the_last_truthy_value(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "custom_status", "small")
    status = await host.wait_for(instance_id)
    assert (status["runtimeStatus"], status["customStatus"]) == ("Completed", {"stage": "one"})


async def test_custom_status_over_16_kb_fails_the_instance(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "custom_status", "too big")
    status = await host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert "The current payload size is 17 KB." in status["output"]  # 18,004 bytes of UTF-16
    assert status["customStatus"] == {"stage": "one"}


async def test_terminate(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "approval")
    response = await http.post(f"/api/instances/{instance_id}/terminate", params={"reason": "user asked"})
    assert response.status_code == 202
    status = await host.wait_for(instance_id)
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "user asked")
    again = await http.post(f"/api/instances/{instance_id}/terminate")
    assert again.status_code == 202  # 410 from the host, which the SDK accepts
    unknown = await http.post("/api/instances/nobody/terminate")
    assert unknown.json() == {"error": "No instance with ID 'nobody' found."}


async def test_suspend_holds_events_until_resume(host: DevHost, http: httpx.AsyncClient) -> None:
    instance_id = await start(http, "approval")
    await eventually(lambda: len(host.history(instance_id)) >= 3)
    assert (await http.post(f"/api/instances/{instance_id}/suspend")).status_code == 202
    await eventually(lambda: host.status(instance_id)["runtimeStatus"] == "Suspended")  # type: ignore[index]
    await http.post(f"/api/instances/{instance_id}/events/approval", json=1)
    await http.post(f"/api/instances/{instance_id}/events/approval", json=2)
    await asyncio.sleep(0.1)
    assert (await app_status(http, instance_id))["runtimeStatus"] == "Suspended"
    assert rows(host, instance_id, EventType.EVENT_RAISED) == []
    assert (await http.post(f"/api/instances/{instance_id}/resume")).status_code == 202
    status = await host.wait_for(instance_id)
    assert status["output"] == {"first": "1", "second": "2"}
    kinds = [e["EventType"] for e in host.history(instance_id)]
    assert kinds.index(EventType.EXECUTION_SUSPENDED) < kinds.index(EventType.EXECUTION_RESUMED)


async def test_purge_removes_finished_instances_only(host: DevHost, http: httpx.AsyncClient) -> None:
    done = await start(http, "chain", {"start": 0, "steps": 1})
    await host.wait_for(done)
    waiting = await start(http, "approval")
    assert (await http.delete(f"/api/instances/{waiting}")).json() == {"deleted": 0}
    assert (await http.delete(f"/api/instances/{done}")).json() == {"deleted": 1}
    gone = await http.get(f"/api/instances/{done}")
    assert (gone.status_code, gone.json()) == (404, {"found": False, "runtimeStatus": None})
    assert host.history(done) == []


async def test_non_determinism_fails_the_instance_with_dtfx_message(
    host: DevHost, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = await start(http, "drifting")
    await eventually(lambda: bool(rows(host, instance_id, EventType.TASK_COMPLETED)))
    await eventually(lambda: host.engine.queued(instance_id) == 0 and len(host.history(instance_id)) >= 7)
    monkeypatch.setenv("DEVHOST_TEST_VARIANT", "2")  # the "code" now calls add_two first
    await http.post(f"/api/instances/{instance_id}/events/go", json=True)
    status = await host.wait_for(instance_id)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == (
        "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an "
        "activity task with sequence number 0 named 'add_one', but the current orchestration replay instead "
        "scheduled an activity task named 'add_two' with this sequence number.  Was a change made to the "
        "orchestrator code after this instance had already started running?"
    )
