"""What the Durable extension and DTFx do with the actions a Python orchestrator returns.

Each episode the SDK returns *all* actions so far. The extension's out-of-process shim
(`OutOfProcOrchestrationShim.ProcessAsyncActionsV2`) replays them through DTFx's context in
order, awaiting each top-level action before it issues the next, while DTFx feeds the history
through the same context. That decides everything this module reproduces:

- Sequence ids: one counter, taken in the order things are scheduled: activities, timers,
  sub-orchestrations, each retry timer and re-attempt (DTFx `RetryInterceptor`, with the final
  "dummy timer for back-compat"), each long-timer piece.
- Non-determinism: a history row `TaskScheduled`/`TimerCreated`/`SubOrchestrationInstanceCreated`
  with id k must meet an action with id k of the same kind and name (ignoring case), already
  issued when the row is replayed; DTFx's messages are reproduced word for word.
- Blocking: `WhenAll` completes only when every child has (.NET `Task.WhenAll`), even if the SDK
  already raised on the first failure; until the shim has walked every action, the instance
  neither completes nor fails.
- External events go to the most recent waiter of that name, or wait in a buffer (FIFO).
- Open tasks: DTFx completes (or fails) an instance only when no task it scheduled is still open
  (`TaskOrchestrationExecutor.ExecuteCore`: `if (!this.context.HasOpenTasks)`), so a timer or an
  activity that lost a `task_any` keeps the instance Running until it finishes, unless the timer
  was cancelled (`TaskOrchestrationContext.CreateTimer` removes a cancelled timer from the open
  tasks). External-event waiters are the extension's, not DTFx tasks: they never keep it open.
- Limits the extension checks as it replays (`DurableOrchestrationContext`): retry intervals and
  (for schemas before V3) timers at most 6 days ahead (`AzureStorageDurabilityProvider.
  MaximumDelayTime`); a sub-orchestration id neither equal to its parent's or grandparent's nor
  starting with "@" (`CallDurableTaskFunctionAsync`). Each fails the instance with its message.

The simulation runs DTFx's `async` code as Python generators that yield `_Future`s; completing
a future resumes its waiters at once, as DTFx's single-threaded scheduler does during replay.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from devhost.durable.wire import EventType, parse_timestamp

# DTFx RetryOptions defaults for what the Python SDK never sends (reference §2.3).
_DEFAULT_BACKOFF_COEFFICIENT = 1.0
_DEFAULT_MAX_RETRY_INTERVAL = timedelta(days=6)

# .NET action class names, as DTFx's non-determinism messages print them.
_DOTNET_ACTION_NAMES = {
    "activity": "ScheduleTaskOrchestratorAction",
    "timer": "CreateTimerOrchestratorAction",
    "suborchestration": "CreateSubOrchestrationAction",
}

# AzureStorageDurabilityProvider.MaximumDelayTime and its ValidateDelayTime message.
MAXIMUM_DELAY = timedelta(days=6)
_DELAY_MESSAGE = "The Azure Storage provider supports a maximum of 6 days for time-based delays"
# OutOfProcOrchestrationShim.SchemaVersion.V3 (the SDK's ReplaySchema.V3 sends schemaVersion 2).
_SCHEMA_V3 = 2

_UNSUPPORTED_ACTIONS = {7: "call_entity", 8: "call_http", 9: "signal_entity", 10: "signal_entity"}


class ReplayError(Exception):
    """The instance cannot go on; the message is what its status output shows."""


class NonDeterminismError(ReplayError):
    """History and the orchestrator's actions disagree (DTFx NonDeterministicOrchestrationException)."""

    def __init__(self, details: str) -> None:
        super().__init__("Non-Deterministic workflow detected: " + details)


class UnsupportedActionError(ReplayError):
    """An action devhost does not implement (entities, durable HTTP)."""


@dataclass(frozen=True)
class ScheduledActivity:
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class ScheduledTimer:
    task_id: int
    fire_at: datetime


@dataclass(frozen=True)
class ScheduledSubOrchestration:
    task_id: int
    name: str
    instance_id: str
    input: str | None  # the JSON text the SDK sent (the child's input, before host encoding)


Scheduled = ScheduledActivity | ScheduledTimer | ScheduledSubOrchestration


@dataclass(frozen=True)
class ReplayResult:
    scheduled: list[Scheduled]  # new work, in sequence-id order
    finished: bool  # the shim awaited every action: the SDK's isDone/error may now take effect
    open_tasks: int  # scheduled tasks not completed yet (DTFx HasOpenTasks): no completion while > 0
    next_event_id: int  # the id DTFx gives the completion (ExecutionCompleted)
    continue_as_new: bool
    continue_as_new_input: str | None


class _State(Enum):
    PENDING = 0
    SUCCEEDED = 1
    FAILED = 2
    CANCELED = 3


class _Future:
    """A DTFx task: completes once, then resumes whoever waits on it."""

    __slots__ = ("_callbacks", "state", "value")

    def __init__(self) -> None:
        self.state = _State.PENDING
        self.value: Any = None
        self._callbacks: list[Callable[[_Future], None]] = []

    @property
    def done(self) -> bool:
        return self.state is not _State.PENDING

    def finish(self, state: _State, value: Any = None) -> None:
        if self.done:
            return
        self.state, self.value = state, value
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def on_done(self, callback: Callable[[_Future], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)


_Coroutine = Generator[_Future, _Future, Any]


class _RetryFailed(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def _drive(coroutine: _Coroutine) -> _Future:
    """Run a generator-coroutine until it waits; it resumes when the awaited future completes."""
    result = _Future()

    def step(sent: _Future | None) -> None:
        while True:
            try:
                awaited = coroutine.send(sent) if sent is not None else next(coroutine)
            except StopIteration as stop:
                result.finish(_State.SUCCEEDED, stop.value)
                return
            except _RetryFailed as failure:
                result.finish(_State.FAILED, failure.value)
                return
            if not awaited.done:
                awaited.on_done(step)
                return
            sent = awaited

    step(None)
    return result


@dataclass
class _Planned:
    kind: str  # "activity" | "timer" | "suborchestration"
    task_id: int
    name: str | None = None
    input: str | None = None
    fire_at: datetime | None = None
    instance_id: str | None = None

    def as_scheduled(self) -> Scheduled:
        if self.kind == "activity":
            return ScheduledActivity(self.task_id, self.name or "", self.input)
        if self.kind == "timer":
            assert self.fire_at is not None
            return ScheduledTimer(self.task_id, self.fire_at)
        return ScheduledSubOrchestration(self.task_id, self.name or "", self.instance_id or "", self.input)


class _Replayer:
    def __init__(self, actions: Sequence[Mapping[str, Any]], schema_version: int = _SCHEMA_V3) -> None:
        self._actions = actions
        self._schema_version = schema_version
        self._instance_id = ""
        self._parent_instance_id: str | None = None
        self._counter = 0
        self._planned: dict[int, _Planned] = {}  # issued, not yet matched by a history row
        self._open: dict[int, _Future] = {}  # issued, not yet completed
        self._event_waiters: defaultdict[str, list[_Future]] = defaultdict(list)
        self._buffered_events: defaultdict[str, deque[Any]] = defaultdict(deque)
        self._execution_id = ""
        self._now: datetime | None = None
        self._shim: _Future | None = None
        self.continue_as_new = False
        self.continue_as_new_input: str | None = None

    # -- DTFx context API, as the shim calls it ------------------------------------------------

    def _issue(self, planned: _Planned) -> _Future:
        self._planned[planned.task_id] = planned
        future = _Future()
        self._open[planned.task_id] = future
        return future

    def _next_id(self) -> int:
        task_id = self._counter
        self._counter += 1
        return task_id

    def _activity(self, name: str, input_text: str | None) -> _Future:
        return self._issue(_Planned("activity", self._next_id(), name=name, input=input_text))

    def _timer(self, fire_at: datetime, canceled: bool = False) -> _Future:
        task_id = self._next_id()
        future = self._issue(_Planned("timer", task_id, fire_at=fire_at))
        if canceled:
            # The timer is still created (DTFx keeps the action); only the wait is abandoned.
            del self._open[task_id]
            future.finish(_State.CANCELED)
        return future

    def _sub_orchestration(self, name: str, instance_id: str | None, input_text: str | None) -> _Future:
        if instance_id is not None:
            self._check_sub_orchestration_id(instance_id)
        task_id = self._next_id()
        if instance_id is None or not instance_id.strip():
            instance_id = f"{self._execution_id}:{task_id}"
        planned = _Planned("suborchestration", task_id, name=name, input=input_text, instance_id=instance_id)
        return self._issue(planned)

    def _check_sub_orchestration_id(self, instance_id: str) -> None:
        """`DurableOrchestrationContext.CallDurableTaskFunctionAsync`: a best-effort check against
        the instance itself and its parent (ignoring case), then the "@" rule."""
        family = [self._instance_id, self._parent_instance_id]
        if any(other is not None and instance_id.casefold() == other.casefold() for other in family):
            raise ReplayError(
                "The instance ID of a sub-orchestration must be different than the instance ID of a "
                "parent orchestration."
            )
        if instance_id.startswith("@"):
            raise ReplayError("Orchestration instance ids must not start with @")

    def _check_delay(self, delay: timedelta) -> None:
        """`AzureStorageDurabilityProvider.ValidateDelayTime`."""
        if delay > MAXIMUM_DELAY:
            raise ReplayError(_DELAY_MESSAGE)

    def _external_event(self, name: str) -> _Future:
        future = _Future()
        if self._buffered_events[name]:
            future.finish(_State.SUCCEEDED, self._buffered_events[name].popleft())
        else:
            self._event_waiters[name].append(future)
        return future

    def _with_retry(self, attempt: Callable[[], _Future], options: Mapping[str, Any]) -> _Coroutine:
        """DTFx `RetryInterceptor.Invoke`: timer after each failure; a zero-delay one after the last."""
        first_interval = timedelta(milliseconds=float(options.get("firstRetryIntervalInMilliseconds", 0)))
        max_attempts = int(options.get("maxNumberOfAttempts", 1))
        coefficient = float(options.get("backoffCoefficient", _DEFAULT_BACKOFF_COEFFICIENT))
        max_interval = (
            _milliseconds(options.get("maxRetryIntervalInMilliseconds")) or _DEFAULT_MAX_RETRY_INTERVAL
        )
        retry_timeout = _milliseconds(options.get("retryTimeoutInMilliseconds"))
        first_attempt = self._clock()
        last_failure: Any = None
        for retry_count in range(max_attempts):
            outcome = yield attempt()
            if outcome.state is _State.SUCCEEDED:
                return outcome.value
            last_failure = outcome.value
            if retry_count + 1 == max_attempts:
                yield self._timer(self._clock())  # "Dummy timer for back-compat"
                break
            if retry_timeout is not None and self._clock() >= first_attempt + retry_timeout:
                break
            delay = min(first_interval * (coefficient**retry_count), max_interval)
            if delay <= timedelta(0):
                break
            yield self._timer(self._clock() + delay)
        if max_attempts <= 0:
            return None
        raise _RetryFailed(last_failure)

    def _clock(self) -> datetime:
        assert self._now is not None, "OrchestratorStarted precedes every scheduling action"
        return self._now

    # -- the shim -------------------------------------------------------------------------------

    def _invoke(self, action: Mapping[str, Any]) -> _Future:
        """`OutOfProcOrchestrationShim.InvokeAPIFromAction`."""
        kind = action.get("actionType")
        if kind == 0:
            return self._activity(action["functionName"], action.get("input"))
        if kind in (1, 3):
            self._check_retry_options(action["retryOptions"])
        if kind == 1:
            name, input_text = action["functionName"], action.get("input")
            return _drive(self._with_retry(lambda: self._activity(name, input_text), action["retryOptions"]))
        if kind == 2:
            return self._sub_orchestration(
                action["functionName"], action.get("instanceId"), action.get("input")
            )
        if kind == 3:
            name, instance_id, input_text = (
                action["functionName"],
                action.get("instanceId"),
                action.get("input"),
            )
            return _drive(
                self._with_retry(
                    lambda: self._sub_orchestration(name, instance_id, input_text), action["retryOptions"]
                )
            )
        if kind == 4:
            self.continue_as_new = True
            self.continue_as_new_input = action.get("input")
            return _completed()
        if kind == 5:
            if self._schema_version < _SCHEMA_V3:  # V3: the SDK splits long timers itself
                self._check_delay(parse_timestamp(action["fireAt"]) - self._clock())
            return self._timer(parse_timestamp(action["fireAt"]), bool(action.get("isCanceled")))
        if kind == 6:
            return self._external_event(action["externalEventName"])
        if kind in (11, 12):
            children = [self._invoke(child) for child in action.get("compoundActions") or []]
            return _when_any(children) if kind == 11 else _when_all(children)
        if kind in _UNSUPPORTED_ACTIONS:
            raise UnsupportedActionError(
                f"devhost does not support the Durable Functions '{_UNSUPPORTED_ACTIONS[kind]}' API "
                f"(actionType {kind})"
            )
        raise UnsupportedActionError(f"Received an unexpected action type from the orchestrator: '{kind}'")

    def _check_retry_options(self, options: Mapping[str, Any]) -> None:
        """`CallDurableTaskFunctionAsync` validates both intervals (the maximum defaults to 6 days)."""
        for key in ("maxRetryIntervalInMilliseconds", "firstRetryIntervalInMilliseconds"):
            interval = _milliseconds(options.get(key))
            if interval is not None:
                self._check_delay(interval)

    def _walk(self) -> _Coroutine:
        """`ProcessAsyncActionsV2`: await each top-level action in turn, ignoring failures."""
        for action in self._actions:
            yield self._invoke(action)

    # -- history --------------------------------------------------------------------------------

    def replay(self, history: Iterable[Mapping[str, Any]]) -> ReplayResult:
        for event in history:
            self._apply(event)
        return ReplayResult(
            scheduled=[planned.as_scheduled() for planned in sorted(self._planned.values(), key=_task_id)],
            finished=self._shim is not None and self._shim.done,
            open_tasks=len(self._open),
            next_event_id=self._counter,
            continue_as_new=self.continue_as_new,
            continue_as_new_input=self.continue_as_new_input,
        )

    def _apply(self, event: Mapping[str, Any]) -> None:
        kind = event["EventType"]
        if kind == EventType.ORCHESTRATOR_STARTED:
            self._now = parse_timestamp(event["Timestamp"])
        elif kind == EventType.EXECUTION_STARTED:
            instance = event.get("OrchestrationInstance") or {}
            self._execution_id = instance.get("ExecutionId") or ""
            self._instance_id = instance.get("InstanceId") or ""
            parent = (event.get("ParentInstance") or {}).get("OrchestrationInstance") or {}
            self._parent_instance_id = parent.get("InstanceId")
            self._shim = _drive(self._walk())
        elif kind == EventType.TASK_SCHEDULED:
            self._match(event, "activity")
        elif kind == EventType.TIMER_CREATED:
            self._match(event, "timer")
        elif kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
            self._match(event, "suborchestration")
        elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
            self._complete(event["TaskScheduledId"], _State.SUCCEEDED, event.get("Result"))
        elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
            self._complete(event["TaskScheduledId"], _State.FAILED, event.get("Reason"))
        elif kind == EventType.TIMER_FIRED:
            self._complete(event["TimerId"], _State.SUCCEEDED, None)
        elif kind == EventType.EVENT_RAISED:
            self._raise_event(event["Name"], event.get("Input"))

    def _complete(self, task_id: int, state: _State, value: Any) -> None:
        future = self._open.pop(task_id, None)
        if future is not None:  # DTFx logs and drops completions of unknown or finished tasks
            future.finish(state, value)

    def _raise_event(self, name: str, value: Any) -> None:
        waiters = self._event_waiters[name]
        if waiters:
            waiters.pop().finish(_State.SUCCEEDED, value)  # newest waiter first, as the extension does
        else:
            self._buffered_events[name].append(value)

    def _match(self, event: Mapping[str, Any], kind: str) -> None:
        """DTFx `Handle{TaskScheduled,TimerCreated,SubOrchestrationCreated}Event`."""
        task_id = int(event["EventId"])
        planned = self._planned.get(task_id)
        name = event.get("Name")
        if planned is None:
            raise NonDeterminismError(_not_scheduled_message(kind, task_id, event))
        if planned.kind != kind:
            raise NonDeterminismError(_other_kind_message(kind, task_id, event, planned))
        if kind != "timer" and (name or "").casefold() != (planned.name or "").casefold():
            raise NonDeterminismError(_renamed_message(kind, task_id, event, planned))
        del self._planned[task_id]


def replay(
    history: Iterable[Mapping[str, Any]],
    actions: Sequence[Mapping[str, Any]],
    schema_version: int = _SCHEMA_V3,
) -> ReplayResult:
    """Replay `history` against the SDK's flat V2/V3 action list; see the module docstring.

    `schema_version` is the state's `schemaVersion` (1: V2, 2: V3). Raises ReplayError (also as
    NonDeterminismError or UnsupportedActionError), which fails the instance.
    """
    return _Replayer(actions, schema_version).replay(history)


def _completed() -> _Future:
    future = _Future()
    future.finish(_State.SUCCEEDED)
    return future


def _when_all(children: list[_Future]) -> _Future:
    result = _Future()
    remaining = [sum(1 for child in children if not child.done)]

    def finish() -> None:
        failed = any(child.state is not _State.SUCCEEDED for child in children)
        result.finish(_State.FAILED if failed else _State.SUCCEEDED)

    def child_done(_: _Future) -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            finish()

    if remaining[0] == 0:
        finish()
    for child in children:
        if not child.done:
            child.on_done(child_done)
    return result


def _when_any(children: list[_Future]) -> _Future:
    result = _Future()
    if not children:
        result.finish(_State.SUCCEEDED)
    for child in children:
        child.on_done(lambda winner: result.finish(_State.SUCCEEDED, winner))
    return result


def _milliseconds(value: Any) -> timedelta | None:
    return None if value is None else timedelta(milliseconds=float(value))


def _task_id(planned: _Planned) -> int:
    return planned.task_id


# DTFx TaskOrchestrationContext messages (Azure/durabletask, src/DurableTask.Core), word for word.
_PREVIOUSLY = "A previous execution of this orchestration scheduled"
_CHANGED = "Was a change made to the orchestrator code after this instance had already started running?"


def _sub_orchestration(task_id: int, event: Mapping[str, Any]) -> str:
    return (
        f"{_PREVIOUSLY} a sub-orchestration task with sequence ID {task_id} and name '{event.get('Name')}' "
        f"(version '{event.get('Version', '')}', instance ID '{event.get('InstanceId')}')"
    )


def _not_scheduled_message(kind: str, task_id: int, event: Mapping[str, Any]) -> str:
    tail = f"but the current replay execution hasn't (yet?) scheduled this task. {_CHANGED}"
    if kind == "activity":
        return (
            f"{_PREVIOUSLY} an activity task with sequence ID {task_id} and name '{event.get('Name')}' "
            f"(version '{event.get('Version', '')}'), {tail}"
        )
    if kind == "timer":
        return f"{_PREVIOUSLY} a timer task with sequence number {task_id} {tail}"
    return f"{_sub_orchestration(task_id, event)}, {tail}"


def _other_kind_message(kind: str, task_id: int, event: Mapping[str, Any], planned: _Planned) -> str:
    produced = _DOTNET_ACTION_NAMES[planned.kind]
    if kind == "activity":
        return (
            f"{_PREVIOUSLY} an activity task with sequence number {task_id} named '{event.get('Name')}', "
            f"but the current orchestration replay instead produced a {produced} action with this sequence "
            f"number. {_CHANGED}"
        )
    if kind == "timer":
        return (
            f"{_PREVIOUSLY} a timer task with sequence number {task_id} named but the current orchestration "
            f"replay instead produced a {produced} action with this sequence number. {_CHANGED}"
        )
    return (
        f"{_sub_orchestration(task_id, event)}, but the current orchestration replay instead produced a "
        f"{produced} action at this sequence number. {_CHANGED}"
    )


def _renamed_message(kind: str, task_id: int, event: Mapping[str, Any], planned: _Planned) -> str:
    if kind == "activity":
        return (
            f"{_PREVIOUSLY} an activity task with sequence number {task_id} named '{event.get('Name')}', "
            f"but the current orchestration replay instead scheduled an activity task named '{planned.name}' "
            f"with this sequence number.  {_CHANGED}"
        )
    return (
        f"{_sub_orchestration(task_id, event)}, but the current orchestration replay instead scheduled a "
        f"sub-orchestration task with name {planned.name} at this sequence number. {_CHANGED}"
    )
