"""The combined (pro-mode) job: the earlier stage-by-stage shape, kept for ``mode: "combined"`` only.

``mode: "combined"`` is being replaced by an agentic job in its own orchestrator; until then it
runs here, as it always did: ingest and SAS grants per input and the ``ensure_analyzer``
sub-orchestration, then one ``begin_analysis`` for all inputs and a ``monitor_operation``
sub-orchestration, then ``save_results``. A combined job has one operation, so none of the
per-document job's scale concerns (``orchestrators/analysis_job.py``) applies. The analysis job
calls ``run_combined_job`` for such jobs; this module registers no function of its own.

Every call goes through ``orchestrators.tasks`` and comes back as an ``Outcome`` (``Succeeded`` or
``Failed``). Only a result document or clean-up the host could not do after its retries fails the
whole orchestration (``HostGaveUp``); every other failure is an input's or the job's reported fate.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypedDict

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
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import (
    Failed,
    Outcome,
    Pending,
    Succeeded,
    call_activity,
    call_sub_orchestrator,
    raise_if_host_gave_up,
    settle,
    wait,
)


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


def run_combined_job(context: OrchestrationContext, job: JobSpec) -> Generator[Any, Any, dict[str, Any]]:
    started_at = to_iso(context.current_utc_datetime)
    fates: list[InputFate] = [
        {"index": index, "name": _name_or_placeholder(source, index), "status": "pending"}
        for index, source in enumerate(job["inputs"])
    ]
    progress = _Progress(context, job, fates)
    progress.update("ingesting")

    grants, analyzer_error = yield from _prepare(context, job, fates, progress)
    stop_reason = _stop_reason(job, fates, grants, analyzer_error)
    if stop_reason is not None:
        for fate in fates:
            if fate["status"] != "failed":
                fate["status"] = "skipped"
        return (yield from _finish(context, job, fates, [], progress, started_at, stop_reason))

    operations = yield from _analyse(context, job, fates, grants, progress)
    return (yield from _finish(context, job, fates, operations, progress, started_at, None))


def _prepare(
    context: OrchestrationContext, job: JobSpec, fates: list[InputFate], progress: _Progress
) -> Generator[Any, Any, tuple[dict[int, str], ErrorInfo | None]]:
    """Stage 1: ingest each input, then grant CU read access to it, then ensure the analyzer (each
    group awaited in turn). Returns the grant of each input that made it, and the analyzer's error."""
    ingests = [
        call_activity(
            context,
            steps.INGEST_INPUT,
            IngestInputRequest(
                job_id=job["jobId"], index=index, source=source, pro_mode=job["mode"] == "combined"
            ),
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
            EnsureAnalyzerRequest(
                job_id=job["jobId"],
                analyzer=job["analyzer"],
                references=job["references"],
                polling=job["polling"],
            ),
        )
    ingested = yield from settle(context, ingests)
    granted = yield from settle(context, list(grant_calls.values()))
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
        ensured = yield from wait(context, ensure)
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
) -> Generator[Any, Any, list[_Operation]]:
    """Stage 3: start every operation, monitor each in a sub-orchestration, record how each ended."""
    plans = _plan_operations(job, sorted(grants))
    for plan in plans:
        for index in plan["inputs"]:
            fates[index]["status"] = "analyzing"
    progress.update("analyzing")
    begun = yield from settle(
        context,
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
    if job["mode"] == "combined":
        return [{"key": "combined", "inputs": ready}]
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
    progress.polling = []
    progress.update("saving")
    saved = yield from wait(
        context,
        call_activity(
            context,
            steps.SAVE_RESULTS,
            SaveResultsRequest(
                job_id=job["jobId"],
                analyzer_id=job["analyzerId"],
                mode=job["mode"],
                operations=[
                    OperationRecord(
                        key=op.key,
                        inputs=[fates[i]["name"] for i in op.inputs],
                        operation_id=op.operation_id,
                        status=op.status,
                        result_blob=op.result_blob,
                    )
                    for op in operations
                ],
            ),
        ),
    )
    raise_if_host_gave_up(saved)  # a permanent failure only leaves resultBlob null
    cleaned = yield from wait(
        context, call_activity(context, steps.CLEANUP_JOB, CleanupJobRequest(job["jobId"]))
    )
    raise_if_host_gave_up(cleaned)
    status = "failed" if stop_reason is not None else job_outcome(fates)
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
    progress.update("completed" if status != "failed" else "failed")
    return summary


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
