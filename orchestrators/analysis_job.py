"""The analysis job: fan out ingest and SAS grants, fan in, ensure the analyzer, analyse, monitor, save.

Stages (each ends with a custom-status update, visible in the portal and the status API):

1. **ingesting**: one ``ingest_input`` and one ``create_sas`` per input, and the ``ensure_analyzer``
   sub-orchestration (which needs nothing from the inputs). Each group is awaited in turn (a task
   is scheduled when it is yielded): ingests, then grants, then the analyzer.
2. Fan in. The partial-failure policy decides: ``fail`` stops at the first lost input, ``continue``
   goes on with the inputs that made it. Every input's fate is in the summary.
3. **analyzing**: ``begin_analysis`` per input, then a ``monitor_operation`` sub-orchestration per
   operation; progress counts as each finishes. (Agentic jobs have their own orchestrator,
   ``orchestrators/agentic_job.py``.)
4. **saving**: ``save_results`` writes the result document; the output is a small summary.

A cancel (``orchestrators/cancellation.py``) can arrive at any stage: the job then starts nothing
new (no further stage, no monitor), drains what is in flight (its steps refuse at once), lets its
monitors end (they are told too), skips the result document, cleans up (grants and staged
uploads) and reports ``canceled`` with every input that had already succeeded.

Every call goes through ``orchestrators.tasks`` and comes back as an ``Outcome`` (``Succeeded`` or
``Failed``). Only a result document or clean-up the host could not do after its retries fails the
whole orchestration (``HostGaveUp``); every other failure is an input's or the job's reported fate.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypedDict

import azure.durable_functions as df

from core import function_names as names
from core.cancellation import CANCELED_CODE, canceled_error
from core.contracts import activities as steps
from core.contracts.activities import (
    AnalysisInput,
    BeginAnalysisRequest,
    CleanupJobRequest,
    CreateSasRequest,
    IngestInputRequest,
    OperationRecord,
    SaveResultsRequest,
    StoredInput,
)
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    MonitorRequest,
    MonitorResult,
)
from core.errors import ErrorInfo, InputError
from core.jobs import InputFate, InputSource, JobSpec, job_outcome, monitor_instance_id, to_iso
from core.layout import input_blob
from core.naming import display_name
from core.telemetry_fields import log_job_finished
from orchestrators.cancellation import CancelSignal
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import (
    Failed,
    Outcome,
    Pending,
    Succeeded,
    call_activity,
    call_sub_orchestrator,
    raise_if_host_gave_up,
    wait,
)

bp = df.Blueprint()
logger = logging.getLogger(__name__)


class OperationPlan(TypedDict):
    key: str
    inputs: list[int]  # indexes of the inputs this operation analyses


@dataclass
class _Operation:
    """One CU operation of the job, as it goes: started (``operation_id``), then ended (``status``)."""

    key: str
    inputs: list[int]
    status: str = "Failed"
    operation_id: str | None = None
    result_blob: str | None = None

    def summary(self) -> dict[str, Any]:
        line: dict[str, Any] = {"key": self.key}
        if self.operation_id is not None:
            line["operationId"] = self.operation_id
        line["status"] = self.status
        return line


@bp.function_name(names.ANALYSIS_JOB)
@bp.orchestration_trigger(context_name="context")
def analysis_job(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from run_analysis_job(context))


def run_analysis_job(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    job: JobSpec = context.get_input()
    started_at = to_iso(context.current_utc_datetime)
    fates: list[InputFate] = [
        {"index": index, "name": _name_or_placeholder(source, index), "status": "pending"}
        for index, source in enumerate(job["inputs"])
    ]
    progress = _Progress(context, job, fates)
    progress.update("ingesting")
    cancel = CancelSignal(context)

    grants, analyzer_error = yield from _prepare(context, job, fates, progress, cancel)
    stop_reason = _canceled(fates, cancel) or _stop_reason(job, fates, grants, analyzer_error)
    if stop_reason is not None:
        for fate in fates:
            if fate["status"] != "failed":
                fate["status"] = "skipped"
        return (yield from _finish(context, job, fates, [], progress, started_at, stop_reason))

    operations = yield from _analyse(context, job, fates, grants, progress, cancel)
    return (
        yield from _finish(context, job, fates, operations, progress, started_at, _canceled(fates, cancel))
    )


def _canceled(fates: list[InputFate], cancel: CancelSignal) -> dict[str, Any] | None:
    """When the job was canceled: every input that had not succeeded is skipped (with why)."""
    if not cancel.requested:
        return None
    for fate in fates:
        if fate["status"] != "succeeded":
            fate["status"] = "skipped"
            fate["error"] = canceled_error("The job")
    return dict(canceled_error("The job"))


def _prepare(
    context: OrchestrationContext,
    job: JobSpec,
    fates: list[InputFate],
    progress: _Progress,
    cancel: CancelSignal,
) -> Generator[Any, Any, tuple[dict[int, str], ErrorInfo | None]]:
    """Stage 1: ingest each input, grant CU read access to where it will be stored (the blob name
    is known in advance, and a SAS can be signed before its blob exists), and ensure the analyzer.
    Returns the grant of each input that made it, and the analyzer's error if any."""
    ingests = [
        call_activity(
            context,
            steps.INGEST_INPUT,
            IngestInputRequest(job_id=job["jobId"], index=index, source=source),
        )
        for index, source in enumerate(job["inputs"])
    ]
    grant_calls = {
        index: call_activity(context, steps.CREATE_SAS, CreateSasRequest(job_id=job["jobId"], blob=blob))
        for index, blob in _target_blobs(job).items()
    }
    ensure = None
    if job["analyzer"] is not None:
        ensure = call_sub_orchestrator(
            context,
            ENSURE_ANALYZER,
            EnsureAnalyzerRequest(job_id=job["jobId"], analyzer=job["analyzer"], polling=job["polling"]),
        )
    ingested = yield from cancel.settle(ingests)
    granted = yield from cancel.settle(list(grant_calls.values()))
    grant_outcomes = dict(zip(grant_calls, granted, strict=True))
    grants: dict[int, str] = {}
    for fate, ingest in zip(fates, ingested, strict=True):
        grant = grant_outcomes.get(fate["index"])
        if isinstance(ingest, Failed):
            _fail(fate, ingest.error)
        elif grant is None:
            _fail(fate, _unnamed_error())
        elif isinstance(grant, Failed):
            _fail(fate, grant.error)
        else:
            _record_ingest(fate, ingest.value.input)
            grants[fate["index"]] = grant.value.grant.name
    progress.update("checking analyzer" if ensure else "ingested")

    analyzer_error = None
    if ensure is not None:
        (ensured,) = yield from cancel.settle([ensure])
        if isinstance(ensured, Failed):
            analyzer_error = ensured.error
    return grants, analyzer_error


def _stop_reason(
    job: JobSpec, fates: list[InputFate], grants: dict[int, str], analyzer_error: ErrorInfo | None
) -> dict[str, Any] | None:
    """Stage 2, the fan-in: why the job cannot go on to analysis (None: it can)."""
    lost = [fate for fate in fates if fate["status"] == "failed"]
    if analyzer_error is not None:
        return {**analyzer_error, "message": f"Analyzer not ready: {analyzer_error['message']}"}
    if lost and job["partialFailure"] == "fail":
        return {
            "code": "InputFailed",
            "message": f"{len(lost)} of {len(fates)} inputs could not be prepared "
            "and partialFailure is 'fail'",
            "transient": False,
        }
    if not grants:
        return {"code": "NoUsableInputs", "message": "No input could be prepared", "transient": False}
    return None


def _analyse(
    context: OrchestrationContext,
    job: JobSpec,
    fates: list[InputFate],
    grants: dict[int, str],
    progress: _Progress,
    cancel: CancelSignal,
) -> Generator[Any, Any, list[_Operation]]:
    """Stage 3: start every operation, monitor each in a sub-orchestration, record how each ended.
    After a cancel no monitor starts: an operation already running at CU is left to end there
    (CU has no call to stop one) and reported Canceled."""
    plans = _plan_operations(job, sorted(grants))
    for plan in plans:
        for index in plan["inputs"]:
            fates[index]["status"] = "analyzing"
    progress.update("analyzing")
    begun = yield from cancel.settle(
        [
            call_activity(
                context,
                steps.BEGIN_ANALYSIS,
                BeginAnalysisRequest(
                    job_id=job["jobId"],
                    key=plan["key"],
                    analyzer_id=job["analyzerId"],
                    api_version=job["apiVersion"],
                    inputs=[AnalysisInput(grant=grants[i], name=fates[i]["name"]) for i in plan["inputs"]],
                    model_deployments=job["modelDeployments"],
                ),
            )
            for plan in plans
        ],
    )
    monitors: dict[str, Pending[MonitorResult]] = {}
    operations: dict[str, _Operation] = {}
    for plan, outcome in zip(plans, begun, strict=True):
        operation = operations[plan["key"]] = _Operation(plan["key"], plan["inputs"])
        if isinstance(outcome, Failed):
            for index in plan["inputs"]:
                _fail(fates[index], outcome.error)
            continue
        started = outcome.value
        operation.operation_id = started.operation_id
        for index in plan["inputs"]:
            fates[index]["operationId"] = started.operation_id
            if started.attempts > 1:
                fates[index]["analysisAttempts"] = started.attempts
        if cancel.requested:
            operation.status = "Canceled"
            continue
        monitors[plan["key"]] = call_sub_orchestrator(
            context,
            MONITOR_OPERATION,
            MonitorRequest(
                job_id=job["jobId"],
                key=plan["key"],
                kind="analysis",
                operation_location=started.operation_location,
                polling=job["polling"],
            ),
            instance_id=monitor_instance_id(job["jobId"], plan["key"]),
        )

    # Wait for each operation, updating progress as each one ends.
    pending = dict(monitors)
    while pending:
        progress.polling = list(pending)
        progress.update("analyzing")
        finished = yield context.task_any([monitor.task for monitor in pending.values()])
        key = next(k for k, monitor in pending.items() if monitor.task is finished)
        _record_monitored(operations[key], fates, pending.pop(key).outcome())
    return list(operations.values())


def _record_monitored(
    operation: _Operation, fates: list[InputFate], monitored: Outcome[MonitorResult]
) -> None:
    """How an operation ended; a monitor that crashed counts as a failed operation."""
    if isinstance(monitored, Succeeded):
        result = monitored.value
        operation.status, operation.result_blob, error = result.status, result.result_blob, result.error
    else:
        operation.status, error = "Failed", monitored.error
    for index in operation.inputs:
        if operation.status == "Succeeded":
            fates[index]["status"] = "succeeded"
        else:
            _fail(fates[index], error or _operation_error(operation.status))


def _record_ingest(fate: InputFate, ingested: StoredInput) -> None:
    fate["status"] = "ingested"
    fate["name"] = ingested.name
    fate["blob"] = ingested.blob
    fate["size"] = ingested.size
    fate["contentType"] = ingested.content_type
    fate["sha256"] = ingested.sha256


def _target_blobs(job: JobSpec) -> dict[int, str]:
    """Where each input will be ingested (inputs whose name is unusable get no grant: ingest says why)."""
    targets = {}
    for index, source in enumerate(job["inputs"]):
        try:
            targets[index] = input_blob(job["jobId"], index, display_name(source)).name
        except InputError:
            continue
    return targets


def _name_or_placeholder(source: InputSource, index: int) -> str:
    try:
        return display_name(source)
    except InputError:
        return f"input-{index}"


def _unnamed_error() -> ErrorInfo:
    return {"code": "InvalidName", "message": "The input has no usable name", "transient": False}


def _plan_operations(job: JobSpec, ready: list[int]) -> list[OperationPlan]:
    return [{"key": str(index), "inputs": [index]} for index in ready]


def _finish(
    context: OrchestrationContext,
    job: JobSpec,
    fates: list[InputFate],
    operations: list[_Operation],
    progress: _Progress,
    started_at: str,
    stop_reason: dict[str, Any] | None,
) -> Generator[Any, Any, dict[str, Any]]:
    canceled = stop_reason is not None and stop_reason.get("code") == CANCELED_CODE
    progress.polling = []
    progress.update("canceling" if canceled else "saving")
    saved: Outcome[Any] | None = None
    if not canceled:  # a canceled job has no result document (GET .../result answers 409)
        saved = yield from _save(context, job, fates, operations)
    cleaned = yield from wait(
        context, call_activity(context, steps.CLEANUP_JOB, CleanupJobRequest(job["jobId"]))
    )
    raise_if_host_gave_up(cleaned)
    status = "failed" if stop_reason is not None else job_outcome(fates)
    if canceled:
        status = "canceled"
    if status == "partially_succeeded" and job["partialFailure"] == "fail":
        status = "failed"  # "fail": the job only succeeds if every input does
    summary: dict[str, Any] = {
        "jobId": job["jobId"],
        "status": status,
        "analyzerId": job["analyzerId"],
        "mode": job["mode"],
        "apiVersion": job["apiVersion"],
        "inputs": fates,
        "operations": [op.summary() for op in operations],
        "resultBlob": saved.value.result_blob if isinstance(saved, Succeeded) else None,
        "startedAt": started_at,
        "finishedAt": to_iso(context.current_utc_datetime),
    }
    if stop_reason is not None:
        summary["error"] = stop_reason
    progress.update(status if status in ("failed", "canceled") else "completed")
    log_job_finished(logger, summary)  # telemetry: after the last yield, so once per job
    return summary


def _save(
    context: OrchestrationContext, job: JobSpec, fates: list[InputFate], operations: list[_Operation]
) -> Generator[Any, Any, Outcome[Any]]:
    saved = yield from wait(
        context,
        call_activity(
            context,
            steps.SAVE_RESULTS,
            SaveResultsRequest(
                job_id=job["jobId"],
                analyzer_id=job["analyzerId"],
                mode=job["mode"],
                operations=_result_records(fates, operations),
            ),
        ),
    )
    raise_if_host_gave_up(saved)  # a permanent failure only leaves resultBlob null
    return saved


def _result_records(fates: list[InputFate], operations: list[_Operation]) -> list[OperationRecord]:
    """The result's entries, in input order: each operation with its error, and each input that
    never reached an analysis (lost before it, or skipped), so that every document has its line."""
    analysed = {index for op in operations for index in op.inputs}
    lines: list[tuple[int, OperationRecord]] = [
        (
            min(op.inputs),
            OperationRecord(
                key=op.key,
                inputs=[fates[i]["name"] for i in op.inputs],
                operation_id=op.operation_id,
                status=op.status,
                result_blob=op.result_blob,
                error=None if op.status == "Succeeded" else fates[op.inputs[0]].get("error"),
            ),
        )
        for op in operations
        if op.inputs
    ]
    lines += [
        (
            fate["index"],
            OperationRecord(
                key=str(fate["index"]),
                inputs=[fate["name"]],
                operation_id=None,
                status="Skipped" if fate["status"] == "skipped" else "Failed",
                error=fate.get("error"),
            ),
        )
        for fate in fates
        if fate["index"] not in analysed
    ]
    return [record for _, record in sorted(lines, key=lambda line: line[0])]


def _fail(fate: InputFate, error: ErrorInfo) -> None:
    fate["status"] = "failed"
    fate["error"] = error


def _operation_error(status: str) -> ErrorInfo:
    return {
        "code": f"Operation{status}",
        "message": f"The analysis operation ended {status}",
        "transient": False,
    }


class _Progress:
    """Writes the job's custom status: stage and per-input counts."""

    def __init__(self, context: OrchestrationContext, job: JobSpec, fates: list[InputFate]) -> None:
        self._context = context
        self._job = job
        self._fates = fates
        self.polling: list[str] = []  # keys of the operations being monitored

    def update(self, stage: str) -> None:
        counts = {"total": len(self._fates), "ingested": 0, "failed": 0, "analyzing": 0, "done": 0}
        for fate in self._fates:
            status = fate["status"]
            if status in ("ingested", "analyzing", "succeeded"):
                counts["ingested"] += 1
            if status == "failed":
                counts["failed"] += 1
            if status == "analyzing":
                counts["analyzing"] += 1
            if status == "succeeded":
                counts["done"] += 1
        custom: dict[str, Any] = {
            "stage": stage,
            "mode": self._job["mode"],
            "analyzerId": self._job["analyzerId"],
            **counts,
        }
        if self.polling:
            custom["polling"] = self.polling
        self._context.set_custom_status(custom)
