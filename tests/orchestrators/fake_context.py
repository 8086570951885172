"""A small fake orchestration context that drives an orchestrator generator without a host.

In the spirit of durabletask-python's executor tests: the test decides what every scheduled
activity or sub-orchestration answers, and the fake records what the orchestrator scheduled, the
custom statuses it set and whether it continued as new. It keeps the semantics of
azure-functions-durable 1.7 that the orchestrators rely on (docs: durable-functions-python.md):

- a task is scheduled when it is *yielded* (alone or in ``task_all``/``task_any``), once: yielding
  an already scheduled task schedules nothing;
- ``task_all`` fails fast, at the first failed child, with that child's exception; children that
  finish later are not completed yet (so the drain pattern has something to drain);
  ``task_all([])`` returns None;
- ``task_any`` returns the first child to complete, even a failed one, without raising;
- a failed task raises at its ``yield`` and keeps the exception as its ``result``;
- time only moves when the orchestrator waits: a timer fires at its ``fire_at``, and a reply
  given ``after=`` seconds completes that long after it was scheduled;
- every input, reply and output crosses a JSON round trip, as it would through history;
- the Durable extension replays the returned actions one yield at a time and waits for each yield's
  *new* tasks (any one of them for ``task_any``, all for ``task_all``, nested as yielded) before it
  issues the next yield's (``OutOfProcOrchestrationShim.ProcessAsyncActionsV2``): a yield that
  schedules something while the previous scheduling yield is still held back fails here, since
  the host would not schedule it yet. A cancelled timer releases its yield (its task completes,
  cancelled); an external event releases it only when it arrives (``events``).

Replies: ``ok(**fields)`` (a success envelope), ``permanent(code, message)`` (a failure envelope),
``returns(value)`` (any value, e.g. a sub-orchestration's output) and ``host_failure(message)``
(the host gave up: the task fails with the host's "Activity function ... failed" text).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from core.contracts.named import ActivityContract, OrchestratorContract
from core.contracts.wire import from_wire

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # an event nobody raises


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class Reply:
    value: Any = None
    failure: str | None = None  # the host's failure text: the task fails
    after: float = 0.0  # seconds from being scheduled to completing


def returns(value: Any, *, after: float = 0.0) -> Reply:
    return Reply(value=value, after=after)


def ok(*, after: float = 0.0, **fields: Any) -> Reply:
    return Reply(value={"ok": True, **fields}, after=after)


def permanent(code: str, message: str, *, after: float = 0.0) -> Reply:
    return Reply(
        value={"ok": False, "error": {"code": code, "message": message, "transient": False}}, after=after
    )


def host_failure(message: str, *, after: float = 0.0) -> Reply:
    return Reply(failure=message, after=after)


@dataclass(frozen=True)
class Call:
    """One scheduled activity or sub-orchestration, as the host would record it."""

    kind: Literal["activity", "sub_orchestration"]
    name: str
    input: Any
    with_retry: bool
    instance_id: str | None
    at: datetime

    def request(self, contract: ActivityContract[Any, Any] | OrchestratorContract[Any, Any]) -> Any:
        """The input as ``contract``'s typed request (and a check that this call is that function)."""
        assert self.name == contract.name, f"{self.name} is not {contract.name}"
        return from_wire(contract.request, self.input)


Answer = Reply | list[Reply] | Callable[[Call], Reply]


class FakeTask:
    def __init__(self, context: FakeContext) -> None:
        self._context = context
        self.scheduled = False
        self.done_at: datetime | None = None
        self._value: Any = None
        self._error: Exception | None = None

    @property
    def is_completed(self) -> bool:
        return self.done_at is not None and self.done_at <= self._context.current_utc_datetime

    @property
    def result(self) -> Any:
        if not self.is_completed:
            return None
        return self._error if self._error is not None else self._value

    def _complete(self, at: datetime, value: Any = None, error: Exception | None = None) -> None:
        self.done_at, self._value, self._error = at, value, error


class CallTask(FakeTask):
    def __init__(self, context: FakeContext, call: Call) -> None:
        super().__init__(context)
        self.call = call


class TimerTask(FakeTask):
    def __init__(self, context: FakeContext, fire_at: datetime) -> None:
        super().__init__(context)
        self.fire_at = fire_at
        self.canceled = False

    def cancel(self) -> None:
        assert not self.is_completed, "the SDK refuses to cancel a completed timer"
        self.canceled = True


class EventTask(FakeTask):
    """An external event: it arrives when ``FakeContext.events`` says, else never."""

    def __init__(self, context: FakeContext, name: str) -> None:
        super().__init__(context)
        self.name = name


class GroupTask(FakeTask):
    def __init__(self, context: FakeContext, mode: Literal["all", "any"], children: list[FakeTask]) -> None:
        super().__init__(context)
        self.mode = mode
        self.children = children


@dataclass
class FakeContext:
    """Satisfies ``orchestrators.context.OrchestrationContext``; ``run`` drives an orchestrator."""

    input: Any
    answers: dict[str, Answer] = field(default_factory=dict)
    now: datetime = START
    calls: list[Call] = field(default_factory=list)
    waves: list[list[Call]] = field(default_factory=list)  # what each yield scheduled
    timers: list[datetime] = field(default_factory=list)
    statuses: list[Any] = field(default_factory=list)
    continued_as_new: Any = None
    events: dict[str, tuple[datetime, Any]] = field(default_factory=dict)  # name -> (raised at, value)
    held: Held | None = None  # the new tasks of the last scheduling yield, as the host awaits them

    # ---- the context the orchestrators see ----

    @property
    def current_utc_datetime(self) -> datetime:
        return self.now

    def get_input(self) -> Any:
        return _json(self.input)

    def set_custom_status(self, status: Any) -> None:
        self.statuses.append(_json(status))

    def call_activity(self, name: str, input_: Any = None) -> FakeTask:
        return self._call("activity", name, input_, with_retry=False)

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> FakeTask:
        assert retry_options is not None
        return self._call("activity", name, input_, with_retry=True)

    def call_sub_orchestrator(
        self, name: str, input_: Any = None, instance_id: str | None = None
    ) -> FakeTask:
        return self._call("sub_orchestration", name, input_, with_retry=False, instance_id=instance_id)

    def task_all(self, activities: list[Any]) -> FakeTask:
        return GroupTask(self, "all", list(activities))

    def task_any(self, activities: list[Any]) -> FakeTask:
        return GroupTask(self, "any", list(activities))

    def create_timer(self, fire_at: datetime) -> TimerTask:
        assert fire_at.tzinfo is not None, "a naive fire_at fails on the real host"
        return TimerTask(self, fire_at)

    def continue_as_new(self, input_: Any) -> None:
        self.continued_as_new = _json(input_)

    def wait_for_external_event(self, name: str) -> FakeTask:
        return EventTask(self, name)

    # ---- driving ----

    def run(self, orchestrator: Callable[[Any], Generator[Any, Any, Any]], *, as_json: bool = True) -> Any:
        """Run ``orchestrator`` to its end; its output after a JSON round trip (unless not ``as_json``:
        for helpers under test whose return value is not an orchestration's output)."""
        generator = orchestrator(self)
        send: Any = None
        throw: Exception | None = None
        while True:
            try:
                yielded = generator.throw(throw) if throw is not None else generator.send(send)
            except StopIteration as stop:
                return _json(stop.value) if as_json else stop.value
            assert self.continued_as_new is None, "nothing may be scheduled after continue_as_new"
            assert isinstance(yielded, FakeTask), f"the orchestrator yielded {yielded!r}, not a task"
            wave: list[Call] = []
            new: list[FakeTask] = []
            self._schedule(yielded, wave, new)
            if new:
                self._check_not_held_back()
                self.held = _held(yielded, set(map(id, new)))
            if wave:
                self.waves.append(wave)
            at, send, throw = self._resolve(yielded)
            self.now = max(self.now, at)

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def calls_to(self, name: str) -> list[Call]:
        return [call for call in self.calls if call.name == name]

    def _call(
        self,
        kind: Literal["activity", "sub_orchestration"],
        name: str,
        input_: Any,
        *,
        with_retry: bool,
        instance_id: str | None = None,
    ) -> FakeTask:
        # The call is recorded when it is scheduled; `at` is filled in then.
        return CallTask(self, Call(kind, name, _json(input_), with_retry, instance_id, self.now))

    def _check_not_held_back(self) -> None:
        """The host issues a yield's new tasks only once the previous scheduling yield is released."""
        assert self.held is None or _released(self.held), (
            "this yield schedules new work while the previous scheduling yield is still awaited: "
            "the Durable extension would not issue it until that yield's new tasks complete"
        )

    def _schedule(self, task: FakeTask, wave: list[Call], new: list[FakeTask]) -> None:
        if task.scheduled:
            return
        task.scheduled = True
        if isinstance(task, GroupTask):
            for child in task.children:
                self._schedule(child, wave, new)
            at, value, error = self._resolve(task)  # a group inside a group needs its own end
            task._complete(at, value, error)
            return
        new.append(task)
        if isinstance(task, TimerTask):
            self.timers.append(task.fire_at)
            task._complete(task.fire_at)
        elif isinstance(task, EventTask):
            raised_at, value = self.events.get(task.name, (NEVER, None))
            task._complete(max(raised_at, self.now), value)
        elif isinstance(task, CallTask):
            call = dataclasses.replace(task.call, at=self.now)
            task.call = call
            self.calls.append(call)
            wave.append(call)
            reply = self._answer(call)
            done = self.now + timedelta(seconds=reply.after)
            if reply.failure is not None:
                what = "Activity" if call.kind == "activity" else "Orchestrator"
                text = f"{what} function '{call.name}' failed: {reply.failure} \n Traceback: ..."
                task._complete(done, error=Exception(text))
            else:
                task._complete(done, value=_json(reply.value))

    def _answer(self, call: Call) -> Reply:
        answer = self.answers.get(call.name)
        assert answer is not None, f"unexpected call of {call.name} with {call.input}"
        if isinstance(answer, Reply):
            return answer
        if isinstance(answer, list):
            assert answer, f"no reply left for {call.name} with {call.input}"
            return answer.pop(0)
        return answer(call)

    def _resolve(self, task: FakeTask) -> tuple[datetime, Any, Exception | None]:
        """When the yield returns, and what it sends into (or throws at) the generator."""
        if isinstance(task, GroupTask):
            if not task.children:
                return self.now, None, None  # task_all([]) / task_any([]) give None
            order = sorted(range(len(task.children)), key=lambda i: _done(task.children[i]))
            if task.mode == "any":
                first = task.children[order[0]]
                return _done(first), first, None
            failed = [task.children[i] for i in order if task.children[i]._error is not None]
            if failed:
                return _done(failed[0]), None, failed[0]._error
            last = _done(task.children[order[-1]])
            return last, [child._value for child in task.children], None
        return _done(task), task._value, task._error


# A yield as the host awaits it: its new tasks only, nested as yielded (the SDK leaves tasks
# scheduled by an earlier yield out of the action, and WhenAll/WhenAny nest as task_all/task_any do).
Held = FakeTask | tuple[Literal["all", "any"], list["Held"]]


def _held(task: FakeTask, new: set[int]) -> Held | None:
    if not isinstance(task, GroupTask):
        return task if id(task) in new else None
    children = [held for child in task.children if (held := _held(child, new)) is not None]
    return (task.mode, children) if children else None


def _released(held: Held) -> bool:
    if isinstance(held, tuple):
        mode, children = held
        return (all if mode == "all" else any)(_released(child) for child in children)
    return held.is_completed or (isinstance(held, TimerTask) and held.canceled)


def _done(task: FakeTask) -> datetime:
    assert task.done_at is not None
    return task.done_at


def statuses_of(context: FakeContext, key: str) -> list[Any]:
    return [status.get(key) for status in context.statuses if isinstance(status, dict)]


def names_of(calls: Iterable[Call]) -> list[str]:
    return [call.name for call in calls]
