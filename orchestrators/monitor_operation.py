"""Sub-orchestration: poll one long-running Content Understanding operation with durable timers.

Each round calls the ``get_operation`` activity, then sleeps on a durable timer (never ``sleep``)
for the server's ``Retry-After`` or a doubling backoff, until the operation ends or the deadline
passes. A poll that fails (CU or storage down for a while) does not end the wait: the operation
runs on at CU, so the next round polls again. Every ``POLLS_PER_EXECUTION`` polls it restarts
itself with ``continue_as_new`` so that a very long wait keeps a short history.

It ends as ``Canceled`` when its job is canceled: the cancel event cuts its timer short (the API
raises it on the job's running sub-orchestrations), and ``get_operation`` refuses once the job's
cancel marker exists, so a monitor the event missed stops at its next poll.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from core.cancellation import canceled_error
from core.contracts import activities as steps
from core.contracts.activities import GetOperationRequest
from core.contracts.orchestrations import MONITOR_OPERATION, MonitorRequest, MonitorResult
from core.contracts.wire import from_wire, to_wire
from core.errors import ErrorInfo
from core.jobs import PollingPolicy, from_iso, next_poll_interval, seconds, to_iso
from orchestrators.cancellation import CancelSignal, is_canceled
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import Failed, call_activity, wait

bp = df.Blueprint()

POLLS_PER_EXECUTION = 40
TERMINAL = ("Succeeded", "Failed", "Canceled")


@bp.function_name(MONITOR_OPERATION.name)
@bp.orchestration_trigger(context_name="context")
def monitor_operation(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    return (yield from run_monitor(context))


def run_monitor(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    """The monitor; its output is a ``MonitorResult`` as JSON (None when it continues as new)."""
    request = from_wire(MonitorRequest, context.get_input())
    policy = request.polling
    polls = request.polls
    deadline_at = request.deadline_at or to_iso(
        context.current_utc_datetime + seconds(policy["deadlineSeconds"])
    )
    deadline = from_iso(deadline_at)
    cancel = CancelSignal(context)

    for _ in range(POLLS_PER_EXECUTION):
        # No RetryOptions: the next round is the retry, after the backoff (and the deadline check),
        # so an outage costs polls, not the activity retry policy's two minutes each.
        polled = yield from wait(
            context,
            call_activity(
                context,
                steps.GET_OPERATION,
                GetOperationRequest(
                    job_id=request.job_id,
                    key=request.key,
                    kind=request.kind,
                    operation_location=request.operation_location,
                ),
                retry=False,
            ),
        )
        polls += 1
        if is_canceled(polled):
            return to_wire(MonitorResult(request.key, "Canceled", polls, error=canceled_error("The job")))
        if isinstance(polled, Failed):
            if not polled.host_gave_up:  # a permanent error reading the operation
                return to_wire(MonitorResult(request.key, "Failed", polls, error=polled.error))
            # CU or storage is unavailable (the clients' own retries failed). The operation goes on
            # at CU regardless: keep polling, more slowly, until it ends or the deadline passes.
            status, retry_after, poll_error = "Unknown", None, polled.error["message"]
        else:
            state = polled.value
            if state.status in TERMINAL:
                result = MonitorResult(
                    request.key, state.status, polls, result_blob=state.result_blob, error=state.error
                )
                return to_wire(result)
            status, retry_after, poll_error = state.status, state.retry_after_seconds, None

        now = context.current_utc_datetime
        if now >= deadline:
            error: ErrorInfo = {
                "code": "DeadlineExceeded",
                "message": _deadline_message(request, policy, status, poll_error),
                "transient": False,
            }
            return to_wire(MonitorResult(request.key, "TimedOut", polls, error=error))
        wait_seconds = next_poll_interval(policy, polls, retry_after)
        fire_at = min(now + seconds(wait_seconds), deadline)
        progress: dict[str, Any] = {
            "stage": "polling",
            "operationStatus": status,
            "polls": polls,
            "nextPollAt": to_iso(fire_at),
        }
        if poll_error is not None:
            progress["pollError"] = poll_error
        context.set_custom_status(progress)
        if (yield from cancel.sleep_until(fire_at)):
            return to_wire(MonitorResult(request.key, "Canceled", polls, error=canceled_error("The job")))

    context.continue_as_new(to_wire(dataclasses.replace(request, deadline_at=deadline_at, polls=polls)))
    return None


def _deadline_message(
    request: MonitorRequest, policy: PollingPolicy, status: str, poll_error: str | None
) -> str:
    waited = f"{policy['deadlineSeconds']:g} s (ANALYSIS_DEADLINE_SECONDS)"
    if poll_error is not None:
        return (
            f"The {request.kind} operation could not be polled until the deadline of {waited}; "
            f"the last poll failed: {poll_error}"
        )
    return f"The {request.kind} operation was still {status} after {waited}; it was abandoned."
