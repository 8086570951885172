"""Calling activities and sub-orchestrations from orchestrator generators, with one failure idiom.

``call_activity`` / ``call_sub_orchestrator`` take a contract (``core.contracts``) and a typed
request and return a ``Pending`` task (scheduled only when yielded). Waiting for it with ``wait``
or ``settle`` gives an ``Outcome``: ``Succeeded(value)`` with the typed result, or
``Failed(error)``, however the failure arrived:

- the host gave up (the activity kept raising through ``ACTIVITY_RETRY``, or the sub-orchestration
  failed): ``{"code": "ActivityFailed", "message": <first line>, "transient": true}``;
- the activity or sub-orchestration reported a permanent failure (``{"ok": false, "error"}``):
  its own error, ``transient`` false;
- the result does not match its contract (a bug): ``InvalidResult``, ``transient`` false.

Pure: no I/O, clock, environment or randomness (tests/orchestrators/test_purity.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, Union

import azure.durable_functions as df

from core.contracts.named import ActivityContract, OrchestratorContract
from core.contracts.wire import ContractError, from_wire, to_wire
from core.errors import ErrorInfo
from orchestrators.context import DurableTask, OrchestrationContext

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")

# Transient failures raise in activities and are retried by the host with this policy. Python's
# RetryOptions has no backoff, so the delay is constant; the CU and storage clients already retry
# with backoff inside each attempt (for about 5 and 8 s). max_number_of_attempts counts the first
# attempt. Together an activity rides out an outage of about two minutes (10 attempts, 5 s apart),
# then fails with the last error (docs/reliability.md). The waits between attempts are durable
# timers: no worker is held meanwhile, and a restart keeps them.
ACTIVITY_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=10)


@dataclass(frozen=True)
class Succeeded(Generic[ResultT]):
    value: ResultT


@dataclass(frozen=True)
class Failed:
    error: ErrorInfo

    @property
    def host_gave_up(self) -> bool:
        """True when the host reported it after its retries (a later run may succeed)."""
        return self.error["transient"]


Outcome = Union[Succeeded[ResultT], Failed]  # noqa: UP007 - a generic alias needs Union on 3.11


@dataclass(frozen=True)
class Pending(Generic[ResultT]):
    """A durable task and the type its result has; yield ``task`` (or use ``wait``/``settle``)."""

    task: DurableTask
    result_type: type[ResultT]

    def outcome(self) -> Outcome[ResultT]:
        """How the (completed) task ended."""
        result = self.task.result
        if isinstance(result, BaseException):
            return Failed({"code": "ActivityFailed", "message": first_line(str(result)), "transient": True})
        if isinstance(result, Mapping) and result.get("ok") is False:
            return Failed(_reported_error(result.get("error")))
        try:
            return Succeeded(from_wire(self.result_type, result))
        except ContractError as problem:
            message = f"{self.result_type.__name__} does not match its contract: {problem}"
            return Failed({"code": "InvalidResult", "message": message, "transient": False})


def call_activity(
    context: OrchestrationContext,
    contract: ActivityContract[RequestT, ResultT],
    request: RequestT,
    *,
    retry: bool = True,
) -> Pending[ResultT]:
    """The activity ``contract`` with ``request``; the host retries it per ``ACTIVITY_RETRY`` unless
    ``retry`` is False."""
    payload = to_wire(request)
    if retry:
        task = context.call_activity_with_retry(contract.name, ACTIVITY_RETRY, payload)
    else:
        task = context.call_activity(contract.name, payload)
    return Pending(task, contract.result)


def call_sub_orchestrator(
    context: OrchestrationContext,
    contract: OrchestratorContract[RequestT, ResultT],
    request: RequestT,
    *,
    instance_id: str | None = None,
) -> Pending[ResultT]:
    task = context.call_sub_orchestrator(contract.name, to_wire(request), instance_id=instance_id)
    return Pending(task, contract.result)


def wait(
    context: OrchestrationContext, pending: Pending[ResultT]
) -> Generator[DurableTask, Any, Outcome[ResultT]]:
    """Wait for one task; a failure comes back as ``Failed``, never as an exception."""
    with contextlib.suppress(Exception):  # the task keeps the failure; outcome() reports it
        yield pending.task
    return pending.outcome()


def settle(
    context: OrchestrationContext, pendings: Sequence[Pending[ResultT]]
) -> Generator[DurableTask, Any, list[Outcome[ResultT]]]:
    """Wait for every task, even after one fails (``task_all`` fails fast), and report each.

    The "drain" pattern verified for azure-functions-durable 1.7: catch the WhenAll failure, then
    yield each unfinished task; yielding an already-scheduled task schedules nothing new.
    """
    if not pendings:
        return []  # task_all([]) would yield None, not []
    tasks = [pending.task for pending in pendings]
    try:
        yield context.task_all(tasks)
    except Exception:
        for task in tasks:
            if not task.is_completed:
                try:
                    yield task
                except Exception:  # noqa: S112 - recorded per task below
                    continue
    return [pending.outcome() for pending in pendings]


class HostGaveUp(Exception):
    """Fails the orchestration: a step it cannot do without failed after the host's retries.

    The runtime then reports it Failed, so that starting it again (or the job's status) says so.
    """


def raise_if_host_gave_up(outcome: Outcome[ResultT]) -> Outcome[ResultT]:
    if isinstance(outcome, Failed) and outcome.host_gave_up:
        raise HostGaveUp(outcome.error["message"])
    return outcome


def first_line(message: str) -> str:
    """The host reports failures as "Reason \\n Details"; the reason is the useful part."""
    reason = message.split("\n", 1)[0].strip()
    return reason[:500]


def _reported_error(error: Any) -> ErrorInfo:
    """A failure envelope's error, as ``ErrorInfo`` even if a field is missing."""
    reported = error if isinstance(error, Mapping) else {}
    return {
        "code": str(reported.get("code", "Failed")),
        "message": str(reported.get("message", "failed")),
        "transient": bool(reported.get("transient", False)),
    }
