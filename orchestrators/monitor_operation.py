"""Sub-orchestration: poll one long-running Content Understanding operation with durable timers.

Each round calls the ``get_operation`` activity, then sleeps on a durable timer (never ``sleep``)
for the server's ``Retry-After`` or a doubling backoff, until the operation ends or the deadline
passes. A poll that fails (CU or storage down for a while) does not end the wait: the operation
runs on at CU, so the next round polls again. Every ``POLLS_PER_EXECUTION`` polls it restarts
itself with ``continue_as_new`` so that a very long wait keeps a short history.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Literal, NotRequired, TypedDict

import azure.durable_functions as df

from core import function_names as names
from core.jobs import PollingPolicy, from_iso, next_poll_interval, seconds, to_iso
from orchestrators.tasks import first_line

bp = df.Blueprint()

POLLS_PER_EXECUTION = 40


class MonitorRequest(TypedDict):
    jobId: str
    key: str  # which operation of the job: "0", "combined", "analyzer", "ref-2", ...
    kind: Literal["analysis", "analyzer", "reference"]
    operationLocation: str
    polling: PollingPolicy
    # kind "reference": where the reference's analysis goes in the knowledge base
    knowledgeBase: NotRequired[dict[str, str]]  # {"prefix", "fileName"}
    deadlineAt: NotRequired[str]  # set on the first execution, carried through continue_as_new
    polls: NotRequired[int]


class MonitorResult(TypedDict):
    key: str
    status: str  # Succeeded | Failed | Canceled | TimedOut
    polls: int
    resultBlob: NotRequired[str]
    error: NotRequired[dict[str, Any]]


@bp.function_name(names.MONITOR_OPERATION)
@bp.orchestration_trigger(context_name="context")
def monitor_operation(context: df.DurableOrchestrationContext) -> Generator[Any, Any, MonitorResult | None]:
    return (yield from run_monitor(context))


def run_monitor(context: Any) -> Generator[Any, Any, MonitorResult | None]:
    request: MonitorRequest = context.get_input()
    policy = request["polling"]
    polls = request.get("polls", 0)
    deadline_at = request.get("deadlineAt") or to_iso(
        context.current_utc_datetime + seconds(policy["deadlineSeconds"])
    )
    deadline = from_iso(deadline_at)

    for _ in range(POLLS_PER_EXECUTION):
        try:
            # No RetryOptions: the next round is the retry, after the backoff (and the deadline
            # check), so an outage costs polls, not the activity retry policy's two minutes each.
            state = yield context.call_activity(
                names.GET_OPERATION,
                {
                    "jobId": request["jobId"],
                    "key": request["key"],
                    "kind": request["kind"],
                    "operationLocation": request["operationLocation"],
                    "knowledgeBase": request.get("knowledgeBase"),
                },
            )
        except Exception as error:
            # CU or storage is unavailable (the clients' own retries failed). The operation goes
            # on at CU regardless: keep polling, more slowly, until it ends or the deadline passes.
            state = {"status": "Unknown", "pollError": first_line(str(error))}
        polls += 1
        if state.get("ok") is False:  # a permanent error reading the operation
            return {"key": request["key"], "status": "Failed", "polls": polls, "error": state["error"]}
        if state["status"] in ("Succeeded", "Failed", "Canceled"):
            result: MonitorResult = {"key": request["key"], "status": state["status"], "polls": polls}
            if "resultBlob" in state:
                result["resultBlob"] = state["resultBlob"]
            if state.get("error"):
                result["error"] = state["error"]
            return result

        now = context.current_utc_datetime
        if now >= deadline:
            return {
                "key": request["key"],
                "status": "TimedOut",
                "polls": polls,
                "error": {
                    "code": "DeadlineExceeded",
                    "message": _deadline_message(request, policy, state),
                    "transient": False,
                },
            }
        wait = next_poll_interval(policy, polls, state.get("retryAfterSeconds"))
        fire_at = min(now + seconds(wait), deadline)
        progress = {
            "stage": "polling",
            "operationStatus": state["status"],
            "polls": polls,
            "nextPollAt": to_iso(fire_at),
        }
        if "pollError" in state:
            progress["pollError"] = state["pollError"]
        context.set_custom_status(progress)
        yield context.create_timer(fire_at)

    context.continue_as_new({**request, "deadlineAt": deadline_at, "polls": polls})
    return None


def _deadline_message(request: MonitorRequest, policy: PollingPolicy, state: dict[str, Any]) -> str:
    waited = f"{policy['deadlineSeconds']:g} s (ANALYSIS_DEADLINE_SECONDS)"
    if "pollError" in state:
        return (
            f"The {request['kind']} operation could not be polled until the deadline of {waited}; "
            f"the last poll failed: {state['pollError']}"
        )
    return f"The {request['kind']} operation was still {state['status']} after {waited}; it was abandoned."
