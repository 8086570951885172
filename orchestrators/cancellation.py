"""Cancellation inside orchestrations: wait for work *or* the job's cancel request.

The orchestrator side of ``core/cancellation.py``. A ``CancelSignal`` is made once per execution,
before the first yield; its ``CANCEL_EVENT`` waiter joins the first wave, so a cancel raised at
any time afterwards is seen (an event raised before anyone waits is buffered by the runtime).

- ``settle(pendings)`` replaces ``orchestrators.tasks.settle``: it waits for every task, or for a
  cancel, whichever comes first. A cancel only ends the waiting for *new* work: tasks already
  scheduled still run (in Azure a queued activity runs whatever happened to its orchestration),
  so they are drained — their activities refuse at once after the cancel — and an instance may not
  complete while one is open anyway (DTFx's open-task rule). After a cancel, ``settle`` schedules
  nothing: every task it is given comes back ``Failed`` with ``JobCanceled``.
- ``sleep_until(fire_at)`` is a durable timer that a cancel cuts short (the timer is cancelled, so
  it does not hold the instance open).

Porting to another orchestration shape: make one ``CancelSignal(context)`` at the start, use its
``settle`` wherever work is waited for, check ``requested`` before starting a stage, and let
sub-orchestrations that poll make their own signal (they are told through the same event).
Pure: no I/O, clock, environment or randomness.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from core.cancellation import CANCEL_EVENT, CANCELED_CODE, canceled_error
from orchestrators.context import DurableTask, OrchestrationContext
from orchestrators.tasks import Failed, Outcome, Pending

ResultT = TypeVar("ResultT")


class CancelSignal:
    def __init__(self, context: OrchestrationContext) -> None:
        self._context = context
        self._event = context.wait_for_external_event(CANCEL_EVENT)

    @property
    def task(self) -> DurableTask:
        """The cancel event's task, for a wait of one's own (``task_any`` over it and the work).

        Its first yield is where the extension starts waiting for the event: it must share that
        yield with work or a timer the orchestrator will end, or the yield holds back every later
        one until a cancel comes (see ``orchestrators/analysis_batch.py``, "one live timer")."""
        return self._event

    @property
    def requested(self) -> bool:
        """Whether the cancel event has arrived (as of this point of the replay)."""
        return self._event.is_completed

    def settle(
        self, pendings: Sequence[Pending[ResultT]]
    ) -> Generator[DurableTask, Any, list[Outcome[ResultT]]]:
        """Every task's outcome, like ``tasks.settle``; see the module docstring for a cancel."""
        if not pendings:
            return []
        if self.requested:
            return [Failed(canceled_error("The step")) for _ in pendings]
        tasks = [pending.task for pending in pendings]
        # task_any resolves to the first child that ends, even a failed task_all; it never raises.
        yield self._context.task_any([self._context.task_all(tasks), self._event])
        for task in tasks:  # the rest (after a failure or a cancel), one by one: nothing new is scheduled
            if not task.is_completed:
                with contextlib.suppress(Exception):  # the task keeps the failure; outcome() reports it
                    yield task
        return [pending.outcome() for pending in pendings]

    def sleep_until(self, fire_at: datetime) -> Generator[DurableTask, Any, bool]:
        """Wait until ``fire_at``; True if a cancel came first (the timer is then cancelled)."""
        if self.requested:
            return True
        timer = self._context.create_timer(fire_at)
        winner = yield self._context.task_any([timer, self._event])
        if winner is timer or timer.is_completed:
            return False
        cancel = getattr(
            timer, "cancel", None
        )  # the SDK's TimerTask; an uncancelled timer holds the instance
        if cancel is not None:
            cancel()
        return True


def is_canceled(outcome: Outcome[Any]) -> bool:
    """Whether a step refused because its job was canceled."""
    return isinstance(outcome, Failed) and outcome.error["code"] == CANCELED_CODE
