"""The shim/DTFx replay simulation on hand-built histories (reference §2-§3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devhost.durable import wire
from devhost.durable.replay import (
    NonDeterminismError,
    ScheduledActivity,
    ScheduledSubOrchestration,
    ScheduledTimer,
    UnsupportedActionError,
    replay,
)

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def started(execution_id: str = "e1") -> list[wire.Event]:
    return [
        wire.orchestrator_started(T0),
        wire.execution_started(
            T0, name="orch", raw_input=None, instance_id="i", execution_id=execution_id, parent=None
        ),
    ]


def activity(name: str, input_text: str = "null") -> dict[str, Any]:
    return {"actionType": 0, "functionName": name, "input": input_text}


def timer(moment: datetime, canceled: bool = False) -> dict[str, Any]:
    return {"actionType": 5, "fireAt": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "isCanceled": canceled}


def when_all(*children: dict[str, Any]) -> dict[str, Any]:
    return {"actionType": 12, "compoundActions": list(children)}


def with_retry(name: str, attempts: int, interval_ms: int = 5000) -> dict[str, Any]:
    options = {"firstRetryIntervalInMilliseconds": interval_ms, "maxNumberOfAttempts": attempts}
    return {"actionType": 1, "functionName": name, "input": "1", "retryOptions": options}


def test_ids_follow_scheduling_order_across_a_fan_out_and_a_timer() -> None:
    actions = [when_all(activity("upload"), activity("upload"), activity("upload"))]
    first = replay(started(), actions)
    assert [s.task_id for s in first.scheduled] == [0, 1, 2]
    assert not first.finished

    history = [
        *started(),
        *(wire.task_scheduled(T0, i, "upload", "null") for i in range(3)),
        wire.orchestrator_completed(T0),
        wire.orchestrator_started(at(8)),
        *(wire.task_completed(at(8), i, '"x"') for i in (2, 0, 1)),
    ]
    second = replay(history, [*actions, timer(at(38))])
    assert second.scheduled == [ScheduledTimer(3, at(38))]
    assert second.next_event_id == 4


def test_when_all_waits_for_every_child_even_after_one_failed() -> None:
    actions = [when_all(activity("a"), activity("b"))]
    history = [
        *started(),
        wire.task_scheduled(T0, 0, "a", "null"),
        wire.task_scheduled(T0, 1, "b", "null"),
        wire.orchestrator_completed(T0),
        wire.orchestrator_started(at(1)),
        wire.task_failed(at(1), 0, "Activity function 'a' failed: boom", "trace"),
    ]
    # The SDK already raised (fail-fast), but .NET Task.WhenAll still waits for b.
    assert not replay(history, actions).finished
    done = [*history, wire.orchestrator_completed(at(1)), wire.orchestrator_started(at(2))]
    done.append(wire.task_completed(at(2), 1, '"B"'))
    assert replay(done, actions).finished


def test_retries_schedule_a_timer_after_each_failure_and_a_dummy_timer_after_the_last() -> None:
    actions = [with_retry("flaky", attempts=2)]
    history = [*started(), wire.task_scheduled(T0, 0, "flaky", "1"), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(1)), wire.task_failed(at(1), 0, "r1", "d1")]
    assert replay(history, actions).scheduled == [ScheduledTimer(1, at(1) + timedelta(seconds=5))]

    history += [wire.timer_created(at(1), 1, at(6)), wire.orchestrator_completed(at(1))]
    history += [wire.orchestrator_started(at(6)), wire.timer_fired(at(6), 1, at(6))]
    assert replay(history, actions).scheduled == [ScheduledActivity(2, "flaky", "1")]

    history += [wire.task_scheduled(at(6), 2, "flaky", "1"), wire.orchestrator_completed(at(6))]
    history += [wire.orchestrator_started(at(7)), wire.task_failed(at(7), 2, "r2", "d2")]
    last = replay(history, actions)
    assert last.scheduled == [ScheduledTimer(3, at(7))]  # fires "now": the back-compat dummy timer
    assert not last.finished

    history += [wire.timer_created(at(7), 3, at(7)), wire.orchestrator_completed(at(7))]
    history += [wire.orchestrator_started(at(7)), wire.timer_fired(at(7), 3, at(7))]
    assert replay(history, actions).finished


def test_a_retry_that_succeeds_hands_the_next_id_to_the_next_activity() -> None:
    actions = [with_retry("flaky", attempts=3), activity("next")]
    history = [*started(), wire.task_scheduled(T0, 0, "flaky", "1"), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(1)), wire.task_failed(at(1), 0, "r", "d")]
    history += [wire.timer_created(at(1), 1, at(6)), wire.orchestrator_completed(at(1))]
    history += [wire.orchestrator_started(at(6)), wire.timer_fired(at(6), 1, at(6))]
    history += [wire.task_scheduled(at(6), 2, "flaky", "1"), wire.orchestrator_completed(at(6))]
    history += [wire.orchestrator_started(at(7)), wire.task_completed(at(7), 2, '"ok"')]
    assert replay(history, actions).scheduled == [ScheduledActivity(3, "next", "null")]


def test_a_renamed_activity_is_non_deterministic_with_dtfx_message() -> None:
    history = [*started(), wire.task_scheduled(T0, 0, "upload", "null"), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(1)), wire.task_completed(at(1), 0, "1")]
    with pytest.raises(NonDeterminismError) as failure:
        replay(history, [activity("analyze_RENAMED")])
    assert str(failure.value) == (
        "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an "
        "activity task with sequence number 0 named 'upload', but the current orchestration replay instead "
        "scheduled an activity task named 'analyze_RENAMED' with this sequence number.  Was a change made to "
        "the orchestrator code after this instance had already started running?"
    )


def test_names_are_compared_ignoring_case() -> None:
    history = [*started(), wire.task_scheduled(T0, 0, "Upload", "null"), wire.orchestrator_completed(T0)]
    assert replay(history, [activity("upload")]).scheduled == []


def test_a_timer_where_an_activity_was_is_non_deterministic() -> None:
    history = [*started(), wire.task_scheduled(T0, 0, "upload", "null"), wire.orchestrator_completed(T0)]
    with pytest.raises(NonDeterminismError, match="instead produced a CreateTimerOrchestratorAction action"):
        replay(history, [timer(at(5))])


def test_a_row_the_replay_never_reaches_is_non_deterministic() -> None:
    history = [*started(), wire.timer_created(T0, 0, at(5)), wire.orchestrator_completed(T0)]
    with pytest.raises(NonDeterminismError, match="hasn't \\(yet\\?\\) scheduled this task"):
        replay(history, [])


def test_default_sub_orchestration_id_is_execution_id_and_sequence_id() -> None:
    actions = [activity("a"), {"actionType": 2, "functionName": "child", "input": "{}", "instanceId": None}]
    history = [*started("exec42"), wire.task_scheduled(T0, 0, "a", "null"), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(1)), wire.task_completed(at(1), 0, "1")]
    assert replay(history, actions).scheduled == [ScheduledSubOrchestration(1, "child", "exec42:1", "{}")]


def test_a_sub_orchestration_retry_reuses_an_explicit_instance_id() -> None:
    options = {"firstRetryIntervalInMilliseconds": 1000, "maxNumberOfAttempts": 2}
    action = {
        "actionType": 3,
        "functionName": "child",
        "input": "{}",
        "instanceId": "kid",
        "retryOptions": options,
    }
    history = [*started(), wire.sub_orchestration_created(T0, 0, "child", "kid", '"{}"')]
    history += [wire.orchestrator_completed(T0), wire.orchestrator_started(at(1))]
    history += [wire.sub_orchestration_failed(at(1), 0, "Orchestrator function 'child' failed: no", "d")]
    history += [wire.timer_created(at(1), 1, at(2)), wire.orchestrator_completed(at(1))]
    history += [wire.orchestrator_started(at(2)), wire.timer_fired(at(2), 1, at(2))]
    assert replay(history, [action]).scheduled == [ScheduledSubOrchestration(2, "child", "kid", "{}")]


def test_events_raised_before_the_wait_are_buffered_in_order() -> None:
    waits = [{"actionType": 6, "externalEventName": "go", "reason": "ExternalEvent"}] * 2
    history = [*started(), wire.event_raised(T0, "go", '"1"'), wire.event_raised(T0, "go", '"2"')]
    assert replay(history, [*waits, activity("after")]).scheduled == [ScheduledActivity(0, "after", "null")]
    assert not replay(history, [*waits, *waits]).finished  # a third wait stays open


def test_a_cancelled_timer_lets_the_shim_move_on() -> None:
    race = {"actionType": 11, "compoundActions": [activity("work"), timer(at(3600), canceled=True)]}
    history = [*started(), wire.task_scheduled(T0, 0, "work", "null"), wire.timer_created(T0, 1, at(3600))]
    history += [
        wire.orchestrator_completed(T0),
        wire.orchestrator_started(at(1)),
        wire.task_completed(at(1), 0, "1"),
    ]
    result = replay(history, [race, activity("next")])
    assert result.scheduled == [ScheduledActivity(2, "next", "null")]


def test_continue_as_new_takes_the_completion_id() -> None:
    actions = [timer(at(60)), {"actionType": 4, "input": "4"}]
    history = [*started(), wire.timer_created(T0, 0, at(60)), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(60)), wire.timer_fired(at(60), 0, at(60))]
    result = replay(history, actions)
    assert result.finished
    assert result.continue_as_new
    assert result.continue_as_new_input == "4"
    assert result.next_event_id == 1


def test_long_timer_pieces_each_take_an_id() -> None:
    first_piece = when_all(timer(at(3 * 86400)))
    history = [*started(), wire.timer_created(T0, 0, at(3 * 86400)), wire.orchestrator_completed(T0)]
    history += [wire.orchestrator_started(at(3 * 86400)), wire.timer_fired(at(3 * 86400), 0, at(3 * 86400))]
    result = replay(history, [first_piece, timer(at(7 * 86400))])
    assert result.scheduled == [ScheduledTimer(1, at(7 * 86400))]


def test_entity_and_http_actions_are_refused_clearly() -> None:
    with pytest.raises(
        UnsupportedActionError, match="does not support the Durable Functions 'call_http' API"
    ):
        replay(started(), [{"actionType": 8, "httpRequest": {}}])
