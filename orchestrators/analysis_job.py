"""The analysis job: fan out ingest and SAS grants, fan in, ensure the analyzer, analyse, monitor, save.

Stages (each ends with a custom-status update, visible in the portal and the status API):

1. **ingesting**: one ``ingest_input`` and one ``create_sas`` per input, all at once, alongside the
   ``ensure_analyzer`` sub-orchestration (which needs nothing from the inputs).
2. Fan in. The partial-failure policy decides: ``fail`` stops at the first lost input, ``continue``
   goes on with the inputs that made it. Every input's fate is in the summary.
3. **analyzing**: ``begin_analysis`` per input (``per-document``) or once for all (``combined``),
   then a ``monitor_operation`` sub-orchestration per operation; progress counts as each finishes.
4. **saving**: ``save_results`` writes the result document; the output is a small summary.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypedDict

import azure.durable_functions as df

from core import function_names as names
from core.errors import InputError
from core.jobs import InputFate, InputSource, JobSpec, job_outcome, monitor_instance_id, to_iso
from core.layout import input_blob
from core.naming import display_name
from orchestrators.ensure_analyzer import EnsureRequest
from orchestrators.monitor_operation import MonitorRequest
from orchestrators.tasks import ACTIVITY_RETRY, Outcome, settle

bp = df.Blueprint()


class OperationPlan(TypedDict):
    key: str
    inputs: list[int]  # indexes of the inputs this operation analyses


@bp.function_name(names.ANALYSIS_JOB)
@bp.orchestration_trigger(context_name="context")
def analysis_job(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from run_analysis_job(context))


def run_analysis_job(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    job: JobSpec = context.get_input()
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
    context: Any, job: JobSpec, fates: list[InputFate], progress: _Progress
) -> Generator[Any, Any, tuple[dict[int, str], dict[str, Any] | None]]:
    """Stage 1, all at once: ingest each input, grant CU read access to where it will be stored
    (the blob name is known in advance, and a SAS can be signed before its blob exists), and ensure
    the analyzer. Returns the grant of each input that made it, and the analyzer's error if any."""
    ingest_tasks = [
        context.call_activity_with_retry(
            names.INGEST_INPUT,
            ACTIVITY_RETRY,
            {"jobId": job["jobId"], "index": index, "source": source, "proMode": job["mode"] == "combined"},
        )
        for index, source in enumerate(job["inputs"])
    ]
    grant_tasks = {
        index: context.call_activity_with_retry(
            names.CREATE_SAS, ACTIVITY_RETRY, {"jobId": job["jobId"], "kind": "input", "blob": blob}
        )
        for index, blob in _target_blobs(job).items()
    }
    ensure_task = None
    if job["analyzer"] is not None:
        ensure_task = context.call_sub_orchestrator(
            names.ENSURE_ANALYZER,
            EnsureRequest(
                jobId=job["jobId"],
                analyzer=job["analyzer"],
                references=job["references"],
                polling=job["polling"],
            ),
        )
    ingested: list[Outcome] = yield from settle(context, ingest_tasks)
    granted: list[Outcome] = yield from settle(context, list(grant_tasks.values()))
    grant_outcomes = dict(zip(grant_tasks, granted, strict=True))
    grants: dict[int, str] = {}
    for fate, outcome in zip(fates, ingested, strict=True):
        grant = grant_outcomes.get(fate["index"])
        if not outcome.succeeded:
            _fail(fate, outcome.error_info)
        elif grant is None or not grant.succeeded:
            _fail(fate, grant.error_info if grant is not None else _unnamed_error())
        else:
            _record_ingest(fate, outcome.value["input"])
            grants[fate["index"]] = grant.value["grant"]["grant"]
    progress.update("checking analyzer" if ensure_task else "ingested")

    analyzer_error = None
    if ensure_task is not None:
        (ensured,) = yield from settle(context, [ensure_task])
        result = ensured.value if ensured.ok else None
        if result is None or not result.get("ok"):
            analyzer_error = result["error"] if result else ensured.error_info
    return grants, analyzer_error


def _stop_reason(
    job: JobSpec, fates: list[InputFate], grants: dict[int, str], analyzer_error: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Stage 2, the fan-in: why the job cannot go on to analysis (None: it can)."""
    lost = [fate for fate in fates if fate["status"] == "failed"]
    if analyzer_error is not None:
        return {**analyzer_error, "message": f"Analyzer not ready: {analyzer_error.get('message')}"}
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
    context: Any, job: JobSpec, fates: list[InputFate], grants: dict[int, str], progress: _Progress
) -> Generator[Any, Any, list[dict[str, Any]]]:
    """Stage 3: start every operation, monitor each in a sub-orchestration, record how each ended."""
    plans = _plan_operations(job, sorted(grants))
    for plan in plans:
        for index in plan["inputs"]:
            fates[index]["status"] = "analyzing"
    progress.update("analyzing")
    begun: list[Outcome] = yield from settle(
        context,
        [
            context.call_activity_with_retry(
                names.BEGIN_ANALYSIS,
                ACTIVITY_RETRY,
                {
                    "jobId": job["jobId"],
                    "key": plan["key"],
                    "analyzerId": job["analyzerId"],
                    "apiVersion": job["apiVersion"],
                    "inputs": [{"grant": grants[i], "name": fates[i]["name"]} for i in plan["inputs"]],
                    "modelDeployments": job["modelDeployments"],
                },
            )
            for plan in plans
        ],
    )
    monitors: dict[str, Any] = {}
    operations: dict[str, dict[str, Any]] = {}
    for plan, outcome in zip(plans, begun, strict=True):
        operation: dict[str, Any] = {"key": plan["key"], "inputs": plan["inputs"], "status": "Failed"}
        operations[plan["key"]] = operation
        if not outcome.succeeded:
            for index in plan["inputs"]:
                _fail(fates[index], outcome.error_info)
            continue
        operation["operationId"] = outcome.value["operationId"]
        attempts = outcome.value.get("attempts", 1)
        for index in plan["inputs"]:
            fates[index]["operationId"] = outcome.value["operationId"]
            if attempts > 1:
                fates[index]["analysisAttempts"] = attempts
        monitors[plan["key"]] = context.call_sub_orchestrator(
            names.MONITOR_OPERATION,
            MonitorRequest(
                jobId=job["jobId"],
                key=plan["key"],
                kind="analysis",
                operationLocation=outcome.value["operationLocation"],
                polling=job["polling"],
            ),
            instance_id=monitor_instance_id(job["jobId"], plan["key"]),
        )

    # Wait for each operation, updating progress as each one ends.
    pending = dict(monitors)
    while pending:
        progress.polling = list(pending)
        progress.update("analyzing")
        finished = yield context.task_any(list(pending.values()))
        key = next(k for k, task in pending.items() if task is finished)
        del pending[key]
        monitored = _monitor_outcome(finished)
        operation = operations[key]
        operation["status"] = monitored["status"]
        if monitored.get("resultBlob"):
            operation["resultBlob"] = monitored["resultBlob"]
        for index in operation["inputs"]:
            if monitored["status"] == "Succeeded":
                fates[index]["status"] = "succeeded"
            else:
                _fail(fates[index], monitored.get("error") or _operation_error(monitored["status"]))
    return list(operations.values())


def _monitor_outcome(task: Any) -> dict[str, Any]:
    """A monitor's result; a monitor that crashed counts as a failed operation."""
    if isinstance(task.result, BaseException):
        return {"status": "Failed", "error": Outcome(ok=False, value=None, error=str(task.result)).error_info}
    return dict(task.result)


def _record_ingest(fate: InputFate, ingested: dict[str, Any]) -> None:
    fate["status"] = "ingested"
    fate["name"] = ingested["name"]
    fate["blob"] = ingested["blob"]
    fate["size"] = ingested["size"]
    fate["contentType"] = ingested["contentType"]
    fate["sha256"] = ingested["sha256"]


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


def _unnamed_error() -> dict[str, Any]:
    return {"code": "InvalidName", "message": "The input has no usable name", "transient": False}


def _plan_operations(job: JobSpec, ready: list[int]) -> list[OperationPlan]:
    if job["mode"] == "combined":
        return [{"key": "combined", "inputs": ready}]
    return [{"key": str(index), "inputs": [index]} for index in ready]


def _finish(
    context: Any,
    job: JobSpec,
    fates: list[InputFate],
    operations: list[dict[str, Any]],
    progress: _Progress,
    started_at: str,
    stop_reason: dict[str, Any] | None,
) -> Generator[Any, Any, dict[str, Any]]:
    progress.polling = []
    progress.update("saving")
    saved = yield context.call_activity_with_retry(
        names.SAVE_RESULTS,
        ACTIVITY_RETRY,
        {
            "jobId": job["jobId"],
            "analyzerId": job["analyzerId"],
            "mode": job["mode"],
            "operations": [
                {
                    "key": op["key"],
                    "inputs": [fates[i]["name"] for i in op["inputs"]],
                    "operationId": op.get("operationId"),
                    "status": op["status"],
                    "resultBlob": op.get("resultBlob"),
                }
                for op in operations
            ],
        },
    )
    yield context.call_activity_with_retry(names.CLEANUP_JOB, ACTIVITY_RETRY, {"jobId": job["jobId"]})
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
        "operations": [{k: op[k] for k in ("key", "operationId", "status") if k in op} for op in operations],
        "resultBlob": saved.get("resultBlob") if isinstance(saved, dict) else None,
        "startedAt": started_at,
        "finishedAt": to_iso(context.current_utc_datetime),
    }
    if stop_reason is not None:
        summary["error"] = stop_reason
    progress.update("completed" if status != "failed" else "failed")
    return summary


def _fail(fate: InputFate, error: dict[str, Any]) -> None:
    fate["status"] = "failed"
    fate["error"] = error


def _operation_error(status: str) -> dict[str, Any]:
    return {
        "code": f"Operation{status}",
        "message": f"The analysis operation ended {status}",
        "transient": False,
    }


class _Progress:
    """Writes the job's custom status: stage and per-input counts."""

    def __init__(self, context: Any, job: JobSpec, fates: list[InputFate]) -> None:
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
