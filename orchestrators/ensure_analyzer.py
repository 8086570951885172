"""Sub-orchestration: make sure an analyzer exists in Content Understanding with this definition.

1. Fingerprint the definition; an analyzer tagged with the same fingerprint, ready, is reused.
2. Otherwise create (or replace) the analyzer and poll the creation operation with durable timers.
   A ``409`` means someone else is creating it: wait for theirs, then check its fingerprint.

The output is ``{"ok": true, ...EnsureAnalyzerResult}``, or ``{"ok": false, "analyzerId", "error"}``
when a step failed for good. A step the host gave up on after its retries (storage or CU down for
minutes) fails the orchestration instead (``HostGaveUp``), so that ``PUT /api/analyzers`` starts
it again next time.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar

import azure.durable_functions as df

from core.contracts import activities as steps
from core.contracts.activities import AnalyzerState, BeginCreateAnalyzerRequest, GetAnalyzerStateRequest
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    EnsureAnalyzerResult,
    MonitorRequest,
)
from core.contracts.wire import from_wire, to_wire
from core.errors import ErrorInfo
from core.jobs import definition_hash, next_poll_interval, seconds
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import Failed, HostGaveUp, Pending, call_activity, call_sub_orchestrator, wait

bp = df.Blueprint()

CREATE_ATTEMPTS = 3

_T = TypeVar("_T")


class _Stop(Exception):
    """Ends the sub-orchestration early with ``error`` (caught in ``run_ensure_analyzer``)."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error["message"])
        self.error = error


@bp.function_name(ENSURE_ANALYZER.name)
@bp.orchestration_trigger(context_name="context")
def ensure_analyzer(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from run_ensure_analyzer(context))


def run_ensure_analyzer(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    request = from_wire(EnsureAnalyzerRequest, context.get_input())
    spec = request.analyzer
    fingerprint = definition_hash(spec["definition"])
    try:
        context.set_custom_status({"stage": "checking analyzer", "definitionHash": fingerprint})
        created = yield from _create_if_needed(context, request, fingerprint)
    except _Stop as stop:
        if stop.error["transient"]:
            raise HostGaveUp(stop.error["message"]) from None
        return {"ok": False, "analyzerId": spec["analyzerId"], "error": stop.error}
    result = EnsureAnalyzerResult(
        analyzer_id=spec["analyzerId"], definition_hash=fingerprint, created=created
    )
    return {"ok": True, **to_wire(result)}


def _create_if_needed(
    context: OrchestrationContext, request: EnsureAnalyzerRequest, fingerprint: str
) -> Generator[Any, Any, bool]:
    spec = request.analyzer
    for _attempt in range(CREATE_ATTEMPTS):
        state = yield from _wait_until_settled(context, request)
        if state.exists and state.definition_hash == fingerprint and state.status == "ready":
            return False
        context.set_custom_status({"stage": "creating analyzer", "definitionHash": fingerprint})
        begun = yield from _required(
            context,
            call_activity(
                context,
                steps.BEGIN_CREATE_ANALYZER,
                BeginCreateAnalyzerRequest(
                    analyzer_id=spec["analyzerId"],
                    api_version=spec["apiVersion"],
                    definition=spec["definition"],
                    definition_hash=fingerprint,
                    replace=state.exists,
                ),
            ),
        )
        if begun.conflict or begun.operation_location is None:
            continue  # a concurrent creator won the race: wait for it, then check it is ours
        monitored = yield from _required(
            context,
            call_sub_orchestrator(
                context,
                MONITOR_OPERATION,
                MonitorRequest(
                    job_id=request.job_id,
                    key=f"analyzer-{spec['analyzerId']}",
                    kind="analyzer",
                    operation_location=begun.operation_location,
                    polling=request.polling,
                ),
            ),
        )
        if monitored.status != "Succeeded":
            raise _Stop(
                monitored.error
                or {
                    "code": "AnalyzerCreationFailed",
                    "message": f"Analyzer creation {monitored.status}",
                    "transient": False,
                }
            )
        return True
    raise _Stop(
        {
            "code": "AnalyzerConflict",
            "message": f"Analyzer {spec['analyzerId']!r} kept being replaced by another definition "
            f"({CREATE_ATTEMPTS} attempts); is another app or job using the same analyzer id?",
            "transient": False,
        }
    )


def _wait_until_settled(
    context: OrchestrationContext, request: EnsureAnalyzerRequest
) -> Generator[Any, Any, AnalyzerState]:
    """The analyzer's state once it is not being created (or deleted) by someone else."""
    spec = request.analyzer
    polls = 0
    deadline = context.current_utc_datetime + seconds(request.polling["deadlineSeconds"])
    while True:
        state = yield from _required(
            context,
            call_activity(
                context,
                steps.GET_ANALYZER_STATE,
                GetAnalyzerStateRequest(analyzer_id=spec["analyzerId"], api_version=spec["apiVersion"]),
            ),
        )
        if not state.exists or state.status not in ("creating", "deleting"):
            return state
        polls += 1
        if context.current_utc_datetime >= deadline:
            raise _Stop(
                {
                    "code": "DeadlineExceeded",
                    "message": f"Analyzer {spec['analyzerId']!r} stayed {state.status!r} past the deadline",
                    "transient": False,
                }
            )
        wait_seconds = next_poll_interval(request.polling, polls, None)
        yield context.create_timer(context.current_utc_datetime + seconds(wait_seconds))


def _required(context: OrchestrationContext, pending: Pending[_T]) -> Generator[Any, Any, _T]:
    """Wait for ``pending``; its failure ends the sub-orchestration with its error."""
    outcome = yield from wait(context, pending)
    if isinstance(outcome, Failed):
        raise _Stop(outcome.error)
    return outcome.value
