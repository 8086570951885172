"""One orchestration episode: which queued messages it takes, and what it writes back.

An episode is what the Durable extension runs for a batch of messages: `OrchestratorStarted`,
every message that arrived (completions that arrive together share one episode), a call to the
orchestrator with the whole history, the shim's replay of the returned actions (`devhost.durable.replay`),
the new scheduling rows, and `OrchestratorCompleted`. Terminate, suspend and resume are handled
here without calling the orchestrator. Nothing in this module does I/O.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import chain
from typing import Any

from devhost.durable import wire
from devhost.durable.replay import (
    ReplayError,
    ReplayResult,
    ScheduledActivity,
    ScheduledSubOrchestration,
    ScheduledTimer,
    replay,
)
from devhost.durable.store import (
    EVENT,
    RESUME,
    START,
    SUSPEND,
    TERMINATE,
    EpisodeCommit,
    Instance,
    Message,
    NewMessage,
    NewWorkItem,
)
from devhost.durable.wire import Event, RuntimeStatus
from devhost.errors import missing_function_message
from devhost.functions.invoke import OrchestratorOutcome

# The extension serializes custom status with a 16 KB limit (`DurableOrchestrationContext.
# SetCustomStatus` -> `MessagePayloadDataConverter.Serialize(value, 16)`), measured as
# `(int)(UTF-16 bytes / 1024.0) > 16`: the first size refused is 17 x 1024 = 17,408 bytes.
CUSTOM_STATUS_LIMIT_KB = 16


@dataclass
class EpisodePlan:
    """What an episode takes from the queue, decided before the orchestrator runs."""

    instance: Instance
    history: Sequence[Event]  # the current execution's events so far (not to be changed)
    now: datetime
    history_texts: Sequence[str] | None = None  # each history event's stored JSON text, if known
    consumed: list[int] = field(default_factory=list)
    new_events: list[Event] = field(default_factory=list)  # after OrchestratorStarted
    terminate_reason: str | None = None
    terminated: bool = False
    suspended: bool = False

    @property
    def calls_orchestrator(self) -> bool:
        """True when something reaches the orchestrator (a start or an event for it)."""
        lifecycle = (wire.EventType.EXECUTION_SUSPENDED, wire.EventType.EXECUTION_RESUMED)
        return not self.terminated and any(e["EventType"] not in lifecycle for e in self.new_events)

    @property
    def episode_events(self) -> list[Event]:
        return [wire.orchestrator_started(self.now), *self.new_events]


@dataclass
class Settlement:
    """An episode's outcome: the commit, and the lifecycle lines to log (portal-style)."""

    commit: EpisodeCommit
    log_lines: list[str] = field(default_factory=list)


def plan_episode(
    instance: Instance,
    history: Sequence[Event],
    messages: list[Message],
    now: datetime,
    *,
    history_texts: Sequence[str] | None = None,
) -> EpisodePlan:
    plan = EpisodePlan(instance=replace(instance), history=history, now=now, history_texts=history_texts)
    suspended = instance.runtime_status is RuntimeStatus.SUSPENDED
    for message in messages:
        stale = message.execution_id is not None and message.execution_id != instance.execution_id
        if stale or instance.runtime_status.is_terminal:
            plan.consumed.append(message.id)  # for an execution that is over: dropped, as in DTFx
            continue
        if message.kind == TERMINATE:
            plan.consumed = [m.id for m in messages]  # everything else dies with the instance
            plan.terminate_reason = message.body.get("reason")
            plan.terminated = True
            return plan
        if message.kind == RESUME:
            plan.consumed.append(message.id)
            if suspended:
                suspended = False
                plan.new_events.append(wire.execution_resumed(now, message.body.get("reason")))
            continue
        if suspended:
            continue  # held until resumed
        plan.consumed.append(message.id)
        if message.kind == SUSPEND:
            suspended = True
            plan.new_events.append(wire.execution_suspended(now, message.body.get("reason")))
        elif message.kind == START:
            if not history:
                plan.new_events.append(_execution_started(instance, now))
        elif message.kind == EVENT:
            plan.new_events.append(wire.with_timestamp(message.body, now))
    plan.suspended = suspended
    return plan


def context_json(plan: EpisodePlan) -> str:
    """The orchestration trigger payload the extension sends (reference §3.1)."""
    instance = plan.instance
    payload_input = None if instance.input is None else json.loads(instance.input)
    rest = json.dumps(
        {
            "input": payload_input,
            "instanceId": instance.instance_id,
            "isReplaying": False,
            "parentInstanceId": instance.parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": wire.LONG_RUNNING_TIMER_INTERVAL_DURATION,
            "maximumShortTimerDuration": wire.MAXIMUM_SHORT_TIMER_DURATION,
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
    )
    # The same text as json.dumps of the whole object with "history" first, but the stored events
    # are not encoded again every episode: their rows already hold json.dumps of each.
    texts = plan.history_texts
    if texts is None or len(texts) != len(plan.history):
        texts = [json.dumps(event) for event in plan.history]
    events = [*texts, *(json.dumps(event) for event in plan.episode_events)]
    return '{"history": [' + ", ".join(events) + "], " + rest[1:]


def settle_without_orchestrator(plan: EpisodePlan) -> Settlement:
    """Terminate, suspend or resume: no orchestrator call."""
    instance, now = plan.instance, plan.now
    if plan.terminated:
        reason = wire.jtoken_text(plan.terminate_reason) if plan.terminate_reason is not None else None
        events = [
            wire.execution_terminated(now, plan.terminate_reason),
            wire.execution_completed(now, -1, RuntimeStatus.TERMINATED, reason),
        ]
        settlement = _finish(plan, events, RuntimeStatus.TERMINATED, reason)
        settlement.log_lines.append(
            f"{_who(instance)} was terminated. Reason: {plan.terminate_reason}. State: Terminated."
        )
        if instance.parent_instance_id is not None:
            message = wire.sub_orchestration_failed(
                now, instance.parent_task_id or 0, plan.terminate_reason or "", None
            )
            settlement.commit.messages.append(_to_parent(instance, message, now))
        return settlement
    status = instance.runtime_status
    if plan.suspended:
        status = RuntimeStatus.SUSPENDED
    elif status is RuntimeStatus.SUSPENDED:
        status = RuntimeStatus.RUNNING
    settlement = _finish(plan, [], status, instance.output)
    if status is not instance.runtime_status:
        settlement.log_lines.append(f"{_who(instance)} is {status.value.lower()}. State: {status.value}.")
    return settlement


def settle_episode(
    plan: EpisodePlan,
    outcome: OrchestratorOutcome | None,
    *,
    activity_exists: Callable[[str], bool],
    orchestrator_exists: Callable[[str], bool],
) -> Settlement:
    """Turn the orchestrator's answer into history, work and status (the shim's job)."""
    instance, now = plan.instance, plan.now
    name = instance.name
    if outcome is None:
        return _fail(
            plan, f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
        )
    if outcome.state is None:
        return _fail(
            plan,
            f"Orchestrator function '{name}' failed: {outcome.crash}",
            f"Message: {outcome.crash}, StackTrace: {outcome.stack}",
        )
    state = outcome.state
    custom_status = state.get("customStatus")
    if custom_status is not None:
        text = wire.dumps_compact(custom_status)
        size_kb = len(text.encode("utf-16-le")) // 1024
        if size_kb > CUSTOM_STATUS_LIMIT_KB:
            return _fail(
                plan,
                f"Orchestrator function '{name}' failed: The UTF-16 size of the JSON-serialized payload "
                f"must not exceed {CUSTOM_STATUS_LIMIT_KB} KB. The current payload size is {size_kb:,} KB.",
            )
        instance.custom_status = text
    try:
        schema = int(state.get("schemaVersion") or 0)
        result = replay(chain(plan.history, plan.episode_events), _action_list(state), schema)
        _check_functions_exist(result, activity_exists, orchestrator_exists)
    except ReplayError as exc:
        message = str(exc)
        if not message.startswith("Non-Deterministic"):
            message = f"Orchestrator function '{name}' failed: {message}"
        return _fail(plan, message)

    events, messages, work, children = _schedule(instance, result, now)
    error = state.get("error")
    # DTFx ends an instance only when the shim has walked every action AND no scheduled task is
    # still open (a timer or activity that lost a task_any): until then it stays Running.
    ended = result.finished and not result.open_tasks
    if ended and error:
        details = f"Message: {error}, StackTrace: {outcome.stack}"  # the extension's exception details
        settlement = _fail(plan, f"Orchestrator function '{name}' failed: {error}", details, events, result)
        settlement.commit.messages += messages
        return settlement
    if ended and state.get("isDone") and result.continue_as_new:
        return _continue_as_new(plan, result)
    if ended and state.get("isDone"):
        output = wire.dumps_compact(state["output"]) if "output" in state else None
        events.append(wire.execution_completed(now, result.next_event_id, RuntimeStatus.COMPLETED, output))
        settlement = _finish(plan, events, RuntimeStatus.COMPLETED, output, messages, work, children)
        settlement.log_lines.append(
            f"{_who(instance)} completed. ContinuedAsNew: False. IsReplay: False. "
            f"Output: ({_size(output)} bytes). State: Completed."
        )
        if instance.parent_instance_id is not None:
            done = wire.sub_orchestration_completed(now, instance.parent_task_id or 0, output)
            settlement.commit.messages.append(_to_parent(instance, done, now))
        return settlement
    status = RuntimeStatus.SUSPENDED if plan.suspended else RuntimeStatus.RUNNING
    return _finish(plan, events, status, instance.output, messages, work, children)


def _action_list(state: dict[str, Any]) -> list[dict[str, Any]]:
    actions = state.get("actions") or [[]]
    if len(actions) != 1:
        raise ReplayError(
            f"With OOProc schema V3, expected actions array to be of length 1 in outer layer but got size: "
            f"{len(actions)}"
        )
    return list(actions[0])


def _check_functions_exist(
    result: ReplayResult, activity_exists: Callable[[str], bool], orchestrator_exists: Callable[[str], bool]
) -> None:
    # The real host would leave the instance waiting forever; failing it says why.
    for item in result.scheduled:
        if isinstance(item, ScheduledActivity) and not activity_exists(item.name):
            raise ReplayError(missing_function_message(item.name, "activity"))
        if isinstance(item, ScheduledSubOrchestration) and not orchestrator_exists(item.name):
            raise ReplayError(missing_function_message(item.name, "orchestrator"))


def _schedule(
    instance: Instance, result: ReplayResult, now: datetime
) -> tuple[list[Event], list[NewMessage], list[NewWorkItem], list[Instance]]:
    events: list[Event] = []
    messages: list[NewMessage] = []
    work: list[NewWorkItem] = []
    children: list[Instance] = []
    for item in result.scheduled:
        if isinstance(item, ScheduledActivity):
            events.append(wire.task_scheduled(now, item.task_id, item.name, item.input))
            work.append(
                NewWorkItem(instance.instance_id, instance.execution_id, item.task_id, item.name, item.input)
            )
        elif isinstance(item, ScheduledTimer):
            events.append(wire.timer_created(now, item.task_id, item.fire_at))
            fired = wire.timer_fired(now, item.task_id, item.fire_at)
            messages.append(
                NewMessage(
                    instance.instance_id, instance.execution_id, EVENT, fired, wire.to_epoch(item.fire_at)
                )
            )
        else:
            raw_input = None if item.input is None else wire.jtoken_text(item.input)
            events.append(
                wire.sub_orchestration_created(now, item.task_id, item.name, item.instance_id, raw_input)
            )
            children.append(
                Instance.pending(
                    item.instance_id,
                    item.name,
                    raw_input,
                    wire.to_epoch(now),
                    parent_instance_id=instance.instance_id,
                    parent_execution_id=instance.execution_id,
                    parent_name=instance.name,
                    parent_task_id=item.task_id,
                )
            )
    return events, messages, work, children


def _continue_as_new(plan: EpisodePlan, result: ReplayResult) -> Settlement:
    instance = plan.instance
    started = _started_lines(plan)
    new_input = (
        None if result.continue_as_new_input is None else wire.jtoken_text(result.continue_as_new_input)
    )
    instance.execution_id = uuid.uuid4().hex
    instance.input = new_input
    instance.runtime_status = RuntimeStatus.CONTINUED_AS_NEW
    instance.last_updated_time = wire.to_epoch(plan.now)
    start = NewMessage(instance.instance_id, instance.execution_id, START, {}, wire.to_epoch(plan.now))
    commit = EpisodeCommit(instance=instance, consumed=plan.consumed, history_reset=True, messages=[start])
    line = (
        f"{_who(instance)} completed. ContinuedAsNew: True. IsReplay: False. "
        f"Output: ({_size(new_input)} bytes). State: ContinuedAsNew."
    )
    return Settlement(commit, [*started, line])


def _fail(
    plan: EpisodePlan,
    message: str,
    details: str | None = None,
    events: list[Event] | None = None,
    result: ReplayResult | None = None,
) -> Settlement:
    instance, now = plan.instance, plan.now
    output = wire.jtoken_text(message)
    event_id = -1 if result is None else result.next_event_id
    completed = wire.execution_completed(now, event_id, RuntimeStatus.FAILED, output, failure=message)
    settlement = _finish(plan, [*(events or []), completed], RuntimeStatus.FAILED, output)
    settlement.log_lines.append(
        f"{_who(instance)} failed with an error. Reason: {message}. IsReplay: False. State: Failed."
    )
    if instance.parent_instance_id is not None:
        failed = wire.sub_orchestration_failed(now, instance.parent_task_id or 0, message, details)
        settlement.commit.messages.append(_to_parent(instance, failed, now))
    return settlement


def _finish(
    plan: EpisodePlan,
    events: list[Event],
    status: RuntimeStatus,
    output: str | None,
    messages: list[NewMessage] | None = None,
    work: list[NewWorkItem] | None = None,
    children: list[Instance] | None = None,
) -> Settlement:
    instance, now = plan.instance, plan.now
    lines = _started_lines(plan)
    instance.runtime_status = status
    instance.output = output
    instance.last_updated_time = wire.to_epoch(now)
    history = [*plan.episode_events, *events, wire.orchestrator_completed(now)]
    commit = EpisodeCommit(
        instance=instance,
        consumed=plan.consumed,
        history_append=history,
        history_length=len(plan.history),
        messages=messages or [],
        work_items=work or [],
        children=children or [],
    )
    return Settlement(commit, lines)


def _started_lines(plan: EpisodePlan) -> list[str]:
    if not any(e["EventType"] == wire.EventType.EXECUTION_STARTED for e in plan.new_events):
        return []
    size = _size(plan.instance.input)
    return [f"{_who(plan.instance)} started. IsReplay: False. Input: ({size} bytes). State: Started."]


def _execution_started(instance: Instance, now: datetime) -> Event:
    parent = None
    if instance.parent_instance_id is not None:
        parent = wire.parent_instance(
            instance.parent_name or "",
            instance.parent_instance_id,
            instance.parent_execution_id or "",
            instance.parent_task_id or 0,
        )
    return wire.execution_started(
        now,
        name=instance.name,
        raw_input=instance.input,
        instance_id=instance.instance_id,
        execution_id=instance.execution_id,
        parent=parent,
    )


def _to_parent(instance: Instance, event: Event, now: datetime) -> NewMessage:
    assert instance.parent_instance_id is not None
    return NewMessage(
        instance.parent_instance_id, instance.parent_execution_id, EVENT, event, wire.to_epoch(now)
    )


def _who(instance: Instance) -> str:
    return f"{instance.instance_id}: Function '{instance.name} (Orchestrator)'"


def _size(text: str | None) -> int:
    return 0 if text is None else len(text.encode())
