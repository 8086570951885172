"""The agentic job: package every document into one PDF, analyse it once in agentic mode, save.

Agentic mode (API 2026-06-01-preview, ``config.workflow: "agentic"``) reasons over **one input
file per request**, which may hold several related documents: an invoice and the contract it
falls under, a claim and its policy. So the job's inputs and its reference documents become one
PDF (a contents page naming each part, then each part in order) and one analysis.

Stages (each ends with a custom-status update):

1. **ingesting**: one ``ingest_input`` per document (inputs first, then references: that is the
   package's order), and the ``ensure_analyzer`` sub-orchestration, all in one wave.
2. Fan in. ``fail`` (the default) stops at the first lost document; ``continue`` packages the
   ones that made it, as long as one input did.
3. **packaging**: ``package_inputs`` writes the package beside the inputs (``core.layout``) and
   checks it against the agentic mode's limits (one file, 200 MB, 300 pages); ``create_sas``
   grants CU read access to it.
4. **analyzing**: ``begin_analysis`` once, then a ``monitor_operation`` sub-orchestration.
5. **saving**: ``save_results`` writes the result document, whose one entry names every packaged
   document in order; ``cleanup_job``; the output is a small summary.

As in ``analysis_job``, every call comes back as an ``Outcome``; only a result document or
clean-up the host could not do fails the orchestration (``HostGaveUp``). A cancel
(``orchestrators/cancellation.py``) can arrive at any stage: the job then starts nothing new,
waits for what is in flight (whose activities refuse once the cancel marker exists), writes no
result document, cleans up and reports ``canceled``.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any, TypeVar

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
    PackagedDocument,
    PackageInputsRequest,
    PackagePart,
    PartRole,
    SaveResultsRequest,
    StoredInput,
)
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    MonitorRequest,
)
from core.errors import ErrorInfo, InputError
from core.jobs import InputFate, InputSource, JobSpec, monitor_instance_id, to_iso
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
ResultT = TypeVar("ResultT")

OPERATION_KEY = "agentic"
"""The job's one operation (its monitor is ``{jobId}:op-agentic``)."""


@bp.function_name(names.AGENTIC_JOB)
@bp.orchestration_trigger(context_name="context")
def agentic_job(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from run_agentic_job(context))


class _Job:
    """The job as it goes: every document's fate (inputs, then references), the package, the operation."""

    def __init__(self, context: OrchestrationContext, spec: JobSpec) -> None:
        self.context = context
        self.spec = spec
        self.cancel = CancelSignal(context)  # before the first yield: a cancel is seen at any stage
        sources: list[tuple[PartRole, InputSource]] = [
            *(("input", source) for source in spec["inputs"]),
            *(("reference", source) for source in spec["references"]),
        ]
        self.roles: list[PartRole] = [role for role, _ in sources]
        self.sources = [source for _, source in sources]
        self.fates: list[InputFate] = [
            {"index": index, "name": _name_or_placeholder(source, index), "status": "pending"}
            for index, source in enumerate(self.sources)
        ]
        self.stored: dict[int, StoredInput] = {}
        self.package: PackagedDocument | None = None
        self.grant: str | None = None  # the package's grant (a claim-check blob's name)
        self.operation_id: str | None = None
        self.operation_location: str | None = None
        self.operation_status = "Failed"
        self.operation_error: ErrorInfo | None = None
        self.polling = False

    def packaged_indexes(self) -> list[int]:
        return [
            fate["index"] for fate in self.fates if fate["status"] in ("ingested", "analyzing", "succeeded")
        ]

    def set_status(self, stage: str) -> None:
        counts = {"total": len(self.fates), "ingested": 0, "failed": 0, "analyzing": 0, "done": 0}
        for fate in self.fates:
            status = fate["status"]
            counts["ingested"] += status in ("ingested", "analyzing", "succeeded")
            counts["failed"] += status == "failed"
            counts["analyzing"] += status == "analyzing"
            counts["done"] += status == "succeeded"
        custom: dict[str, Any] = {
            "stage": stage,
            "mode": self.spec["mode"],
            "analyzerId": self.spec["analyzerId"],
            **counts,
        }
        if self.package is not None:
            custom["package"] = {"pages": self.package.pages, "size": self.package.size}
        if self.polling:
            custom["polling"] = [OPERATION_KEY]
        self.context.set_custom_status(custom)


def run_agentic_job(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    spec: JobSpec = context.get_input()
    job = _Job(context, spec)
    started_at = to_iso(context.current_utc_datetime)
    job.set_status("ingesting")

    stop = None
    for stage in (_ingest_and_ensure, _package, _begin, _analyse):
        stop = _canceled(job) or (yield from stage(job))
        if stop is not None:
            break
    stop = _canceled(job) or stop
    if stop is not None:
        for fate in job.fates:
            if fate["status"] != "failed":
                fate["status"] = "skipped"
    return (yield from _finish(job, started_at, stop))


def _canceled(job: _Job) -> ErrorInfo | None:
    """When the job was canceled: every document that had not succeeded is skipped (with why)."""
    if not job.cancel.requested:
        return None
    for fate in job.fates:
        if fate["status"] != "succeeded":
            fate["status"] = "skipped"
            fate["error"] = canceled_error("The job")
    return canceled_error("The job")


def _one(job: _Job, pending: Pending[ResultT]) -> Generator[Any, Any, Outcome[ResultT]]:
    """One call's outcome, or ``JobCanceled`` if a cancel came first (the call is still drained)."""
    (outcome,) = yield from job.cancel.settle([pending])
    return outcome


def _ingest_and_ensure(job: _Job) -> Generator[Any, Any, ErrorInfo | None]:
    """Stages 1 and 2: every document ingested and the analyzer ensured, in one wave; the fan-in."""
    context, spec = job.context, job.spec
    ingests = [
        call_activity(
            context,
            steps.INGEST_INPUT,
            IngestInputRequest(
                job_id=spec["jobId"],
                index=index,
                source=source,
                packaged=True,
                api_version=spec["apiVersion"],
            ),
        )
        for index, source in enumerate(job.sources)
    ]
    ensure = None
    if spec["analyzer"] is not None:
        ensure = call_sub_orchestrator(
            context,
            ENSURE_ANALYZER,
            EnsureAnalyzerRequest(job_id=spec["jobId"], analyzer=spec["analyzer"], polling=spec["polling"]),
        )
    wave: list[Pending[Any]] = [*ingests, *([ensure] if ensure is not None else [])]
    yield from job.cancel.settle(wave)  # one task_all: ingests and the analyzer check run together
    for fate, ingest in zip(job.fates, ingests, strict=True):
        outcome = ingest.outcome()
        if isinstance(outcome, Failed):
            _fail(fate, outcome.error)
        else:
            _record_ingest(fate, outcome.value.input)
            job.stored[fate["index"]] = outcome.value.input
    job.set_status("ingested")

    if ensure is not None:
        ensured = ensure.outcome()
        if isinstance(ensured, Failed):
            return {**ensured.error, "message": f"Analyzer not ready: {ensured.error['message']}"}
    lost = [fate for fate in job.fates if fate["status"] == "failed"]
    if lost and spec["partialFailure"] == "fail":
        return {
            "code": "InputFailed",
            "message": f"{len(lost)} of {len(job.fates)} documents could not be prepared "
            "and partialFailure is 'fail'",
            "transient": False,
        }
    if not any(job.roles[index] == "input" for index in job.packaged_indexes()):
        return {"code": "NoUsableInputs", "message": "No input could be prepared", "transient": False}
    return None


def _package(job: _Job) -> Generator[Any, Any, ErrorInfo | None]:
    """Stage 3: one PDF from every document that made it, in order, and CU's read access to it."""
    context, spec = job.context, job.spec
    job.set_status("packaging")
    parts = [
        PackagePart(
            name=job.stored[index].name,
            role=job.roles[index],
            blob=job.stored[index].blob,
            content_type=job.stored[index].content_type,
        )
        for index in job.packaged_indexes()
    ]
    packaged = yield from _one(
        job,
        call_activity(
            context,
            steps.PACKAGE_INPUTS,
            PackageInputsRequest(job_id=spec["jobId"], api_version=spec["apiVersion"], parts=parts),
        ),
    )
    if isinstance(packaged, Failed):
        return packaged.error
    job.package = packaged.value.package
    granted = yield from _one(
        job,
        call_activity(
            context, steps.CREATE_SAS, CreateSasRequest(job_id=spec["jobId"], blob=job.package.blob)
        ),
    )
    if isinstance(granted, Failed):
        return granted.error
    job.grant = granted.value.grant.name
    return None


def _begin(job: _Job) -> Generator[Any, Any, ErrorInfo | None]:
    """Stage 4, first half: start the one agentic analysis of the package."""
    context, spec = job.context, job.spec
    assert job.package is not None
    assert job.grant is not None
    for index in job.packaged_indexes():
        job.fates[index]["status"] = "analyzing"
    job.set_status("analyzing")
    begun = yield from _one(
        job,
        call_activity(
            context,
            steps.BEGIN_ANALYSIS,
            BeginAnalysisRequest(
                job_id=spec["jobId"],
                key=OPERATION_KEY,
                analyzer_id=spec["analyzerId"],
                api_version=spec["apiVersion"],
                inputs=[AnalysisInput(grant=job.grant, name=job.package.name)],
                model_deployments=spec["modelDeployments"],
            ),
        ),
    )
    if isinstance(begun, Failed):
        job.operation_error = begun.error
        for index in job.packaged_indexes():
            _fail(job.fates[index], begun.error)
        return begun.error
    job.operation_id = begun.value.operation_id
    for index in job.packaged_indexes():
        job.fates[index]["operationId"] = begun.value.operation_id
        if begun.value.attempts > 1:
            job.fates[index]["analysisAttempts"] = begun.value.attempts
    job.operation_location = begun.value.operation_location
    return None


def _analyse(job: _Job) -> Generator[Any, Any, ErrorInfo | None]:
    """Stage 4, second half: monitor the operation until it ends; every packaged document shares its fate."""
    context, spec = job.context, job.spec
    assert job.operation_location is not None
    job.polling = True
    job.set_status("analyzing")
    monitored = yield from _one(
        job,
        call_sub_orchestrator(
            context,
            MONITOR_OPERATION,
            MonitorRequest(
                job_id=spec["jobId"],
                key=OPERATION_KEY,
                kind="analysis",
                operation_location=job.operation_location,
                polling=spec["polling"],
            ),
            instance_id=monitor_instance_id(spec["jobId"], OPERATION_KEY),
        ),
    )
    job.polling = False
    if isinstance(monitored, Succeeded):
        job.operation_status, error = monitored.value.status, monitored.value.error
    else:
        job.operation_status, error = "Failed", monitored.error
    if job.operation_status == "Succeeded":
        for index in job.packaged_indexes():
            job.fates[index]["status"] = "succeeded"
        return None
    job.operation_error = error or {
        "code": f"Operation{job.operation_status}",
        "message": f"The agentic analysis ended {job.operation_status}",
        "transient": False,
    }
    for index in job.packaged_indexes():
        _fail(job.fates[index], job.operation_error)
    return job.operation_error


def _finish(job: _Job, started_at: str, stop: ErrorInfo | None) -> Generator[Any, Any, dict[str, Any]]:
    context, spec = job.context, job.spec
    canceled = stop is not None and stop.get("code") == CANCELED_CODE
    job.polling = False
    job.set_status("canceling" if canceled else "saving")
    operations = []
    if job.package is not None:
        operations.append(
            OperationRecord(
                key=OPERATION_KEY,
                inputs=[part.name for part in job.package.parts],
                operation_id=job.operation_id,
                status=job.operation_status,
                error=job.operation_error,
            )
        )
    saved: Any = None
    if not canceled:  # a canceled job has no result document (GET .../result answers 409)
        saved = yield from wait(
            context,
            call_activity(
                context,
                steps.SAVE_RESULTS,
                SaveResultsRequest(
                    job_id=spec["jobId"],
                    analyzer_id=spec["analyzerId"],
                    mode=spec["mode"],
                    operations=operations,
                ),
            ),
        )
        raise_if_host_gave_up(saved)  # a permanent failure only leaves resultBlob null
    cleaned = yield from wait(
        context, call_activity(context, steps.CLEANUP_JOB, CleanupJobRequest(spec["jobId"]))
    )
    raise_if_host_gave_up(cleaned)
    status = "canceled" if canceled else "failed" if stop is not None else "succeeded"
    summary: dict[str, Any] = {
        "jobId": spec["jobId"],
        "status": status,
        "analyzerId": spec["analyzerId"],
        "mode": spec["mode"],
        "apiVersion": spec["apiVersion"],
        "inputs": [fate for fate in job.fates if job.roles[fate["index"]] == "input"],
        "references": [fate for fate in job.fates if job.roles[fate["index"]] == "reference"],
        "operations": [_operation_line(job)] if job.package is not None else [],
        "resultBlob": saved.value.result_blob if isinstance(saved, Succeeded) else None,
        "startedAt": started_at,
        "finishedAt": to_iso(context.current_utc_datetime),
    }
    if job.package is not None:
        summary["package"] = {
            "name": job.package.name,
            "blob": job.package.blob,
            "size": job.package.size,
            "pages": job.package.pages,
            "sha256": job.package.sha256,
            "parts": [
                {"name": part.name, "role": part.role, "firstPage": part.first_page, "pages": part.pages}
                for part in job.package.parts
            ],
        }
    if stop is not None:
        summary["error"] = stop
    job.set_status(status if status in ("failed", "canceled") else "completed")
    log_job_finished(logger, summary)  # telemetry: after the last yield, so once per job
    return summary


def _operation_line(job: _Job) -> dict[str, Any]:
    line: dict[str, Any] = {"key": OPERATION_KEY}
    if job.operation_id is not None:
        line["operationId"] = job.operation_id
    line["status"] = job.operation_status
    return line


def _record_ingest(fate: InputFate, ingested: StoredInput) -> None:
    fate["status"] = "ingested"
    fate["name"] = ingested.name
    fate["blob"] = ingested.blob
    fate["size"] = ingested.size
    fate["contentType"] = ingested.content_type
    fate["sha256"] = ingested.sha256


def _name_or_placeholder(source: InputSource, index: int) -> str:
    try:
        return display_name(source)
    except InputError:
        return f"input-{index}"


def _fail(fate: InputFate, error: ErrorInfo) -> None:
    fate["status"] = "failed"
    fate["error"] = error
