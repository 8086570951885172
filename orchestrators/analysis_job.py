"""The analysis job: batches of per-document pipelines, so that its cost grows linearly with its size.

A per-document job splits its inputs into batches of at most ``batchSize`` documents
(``JOB_BATCH_SIZE``, 50 by default) and runs each as an ``analysis_batch`` sub-orchestration
(``orchestrators/analysis_batch.py``), all started in the job's first episode (a job of one
batch runs it in its own orchestration: many small jobs at once cost half the episodes). Inside a
batch each document goes ingest+grant -> begin -> polls on its own, without waiting for its neighbours. So
the job's own history holds one entry per batch, not per document, and every batch's history is
bounded by the batch size, whatever the job's size (docs/performance.md has the numbers).

Two things need every input prepared before any analysis starts, and then the job runs in two
steps (a barrier the request asked for):

- an analyzer to ensure (``ensure_analyzer``, when the job carries a definition): analyses must
  wait for it. Stage 1 is then **one wave**: the ``ensure_analyzer`` sub-orchestration and every
  batch's ``prepare_inputs`` (ingest and grant as one step) are scheduled in the same episode;
- ``partialFailure: "fail"``: no input is analysed unless every input made it.

The first step runs the batches with ``prepare_only``; the second runs them again on the prepared
documents (or, if the job stops there, only to record every input's fate).

The job's custom status holds its stage and counts, and ``batches``: the status API adds up the
batches' own statuses while they run (``api/analyses.py``). The per-input fates and operations go
to blobs (``save_batch``, then ``save_results`` gathers them into the job's summary blob), so the
job's output stays small whatever its size; the status API merges the summary back in.

Agentic jobs have their own orchestrator (``orchestrators/agentic_job.py``).

**Cancel** (``core/cancellation.py``): ``DELETE`` writes the job's cancel marker and raises the
cancel event on the job and on every running ``{jobId}:`` child, so each batch hears it itself
(a batch run inline shares the job's ``CancelSignal``). A batch then starts nothing new, cancels
its timer, drains what is in flight (queued steps refuse at once: ``refuses_after_cancel``),
stops polling, and saves its record with every input that had not succeeded ``skipped``
(``JobCanceled``) and every operation still running at CU ``Canceled`` (CU has no call to stop
one). A batch the event missed (not yet running when DELETE listed the children) learns of the
cancel from its first refused step. The job waits for its batches, starts no further phase,
writes no result index (only the summary: ``save_results`` with ``index`` False), cleans up and
reports ``canceled`` with every input that had already succeeded.

Telemetry: ``log_job_finished`` after the job's last yield; each batch logs its failed inputs
after its own (``orchestrators/analysis_batch.py``), the job those of a batch it ran inline.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df

from core import function_names as names
from core.cancellation import CANCELED_CODE, canceled_error
from core.contracts import activities as steps
from core.contracts.activities import CleanupJobRequest, SaveResultsRequest
from core.contracts.orchestrations import (
    ANALYSIS_BATCH,
    ENSURE_ANALYZER,
    BatchCounts,
    BatchDocument,
    BatchRequest,
    BatchResult,
    EnsureAnalyzerRequest,
    EnsureAnalyzerResult,
)
from core.errors import ErrorInfo
from core.jobs import DEFAULT_BATCH_SIZE, JobSpec, batch_instance_id, to_iso
from core.telemetry_fields import log_inputs_failed, log_job_finished
from orchestrators.analysis_batch import InlineBatch, placeholder_name, run_batch_inline
from orchestrators.cancellation import CancelSignal
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import (
    Failed,
    HostGaveUp,
    Outcome,
    Pending,
    Succeeded,
    call_activity,
    call_sub_orchestrator,
    raise_if_host_gave_up,
    settle,
)

bp = df.Blueprint()
logger = logging.getLogger(__name__)


@bp.function_name(names.ANALYSIS_JOB)
@bp.orchestration_trigger(context_name="context")
def analysis_job(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from run_analysis_job(context))


def run_analysis_job(context: OrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    job: JobSpec = context.get_input()
    return (yield from _PerDocumentJob(context, job).run())


class _PerDocumentJob:
    def __init__(self, context: OrchestrationContext, job: JobSpec) -> None:
        self.context = context
        self.job = job
        self.started_at = to_iso(context.current_utc_datetime)
        size = max(1, int(job.get("batchSize") or DEFAULT_BATCH_SIZE))
        documents = [
            BatchDocument(index=index, name=placeholder_name(source, index), status="pending", source=source)
            for index, source in enumerate(job["inputs"])
        ]
        self.batches = [documents[start : start + size] for start in range(0, len(documents), size)]
        self.total = len(documents)
        # Before the first yield, so that its event joins the first wave (core/cancellation.py).
        self.cancel = CancelSignal(context)
        self.inline: InlineBatch | None = None  # the job's one batch, when it ran it itself

    def run(self) -> Generator[Any, Any, dict[str, Any]]:
        stop_reason: ErrorInfo | None = None
        batches = self.batches
        if self.job["analyzer"] is not None or self.job["partialFailure"] == "fail":
            self._status("ingesting", phase="prepare")
            batches, stop_reason = yield from self._prepare()
        if len(batches) == 1 and stop_reason is None:
            # One batch: run it here; a sub-orchestration would only add episodes and history.
            status = {"mode": self.job["mode"], "analyzerId": self.job["analyzerId"]}
            self.inline = yield from run_batch_inline(
                self.context, self._batch_request(0, batches[0]), status, self.cancel
            )
            result = self.inline.result
            return (yield from self._finish([result], self._canceled([result]) or stop_reason))
        if stop_reason is not None:
            # Nothing to analyse: the batches only record every input's fate (no cancel can stop that).
            results = yield from self._run_batches(batches, prepare_only=False, cancelable=False)
            return (yield from self._finish(results, stop_reason))
        self._status("analyzing")
        results = yield from self._run_batches(batches, prepare_only=False)
        return (yield from self._finish(results, self._canceled(results)))

    def _canceled(self, results: list[BatchResult]) -> ErrorInfo | None:
        """Why the job stops if it was canceled: its own event, or a batch that stopped for the cancel
        (a step of it refused before the event reached the job)."""
        if self.cancel.requested or any(result.canceled for result in results):
            return canceled_error("The job")
        return None

    # -- stage 1 when it must come first --------------------------------------------------------

    def _prepare(self) -> Generator[Any, Any, tuple[list[list[BatchDocument]], ErrorInfo | None]]:
        """One wave: the analyzer and every input's ingest+grant; then why the job cannot go on."""
        ensure: Pending[EnsureAnalyzerResult] | None = None
        if self.job["analyzer"] is not None:
            ensure = call_sub_orchestrator(
                self.context,
                ENSURE_ANALYZER,
                EnsureAnalyzerRequest(
                    job_id=self.job["jobId"], analyzer=self.job["analyzer"], polling=self.job["polling"]
                ),
            )
        calls: list[Pending[Any]] = [
            *([ensure] if ensure else []),
            *self._batch_calls(self.batches, prepare_only=True),
        ]
        # Scheduled together: one task_all over the analyzer and every batch (with the cancel event).
        outcomes: list[Outcome[Any]] = yield from self.cancel.settle(calls)
        analyzer = outcomes.pop(0) if ensure else None
        results = [self._batch_result(outcome) for outcome in outcomes]
        prepared = [_documents_of(result) for result in results]

        documents = [document for batch in prepared for document in batch]
        lost = sum(1 for document in documents if document.status == "failed")
        stop: ErrorInfo | None = None
        if self._canceled(results):  # each batch that heard it has skipped what had not succeeded
            stop = canceled_error("The job")
            prepared = [[_cancel(document) for document in batch] for batch in prepared]
        elif isinstance(analyzer, Failed):
            error = analyzer.error
            stop = {**error, "message": f"Analyzer not ready: {error['message']}"}
        elif lost and self.job["partialFailure"] == "fail":
            stop = {
                "code": "InputFailed",
                "message": f"{lost} of {len(documents)} inputs could not be prepared "
                "and partialFailure is 'fail'",
                "transient": False,
            }
        elif lost == len(documents):
            stop = _no_usable_inputs()
        if stop is not None and stop["code"] != CANCELED_CODE:
            prepared = [[_skip(document) for document in batch] for batch in prepared]
        return prepared, stop

    # -- the batches ------------------------------------------------------------------------------

    def _batch_request(
        self, number: int, documents: list[BatchDocument], *, prepare_only: bool = False
    ) -> BatchRequest:
        job = self.job
        return BatchRequest(
            job_id=job["jobId"],
            batch=number,
            analyzer_id=job["analyzerId"],
            api_version=job["apiVersion"],
            model_deployments=job["modelDeployments"],
            polling=job["polling"],
            documents=documents,
            prepare_only=prepare_only,
        )

    def _batch_calls(
        self, batches: list[list[BatchDocument]], *, prepare_only: bool
    ) -> list[Pending[BatchResult]]:
        return [
            call_sub_orchestrator(
                self.context,
                ANALYSIS_BATCH,
                self._batch_request(number, documents, prepare_only=prepare_only),
                instance_id=batch_instance_id(self.job["jobId"], number, prepare=prepare_only),
            )
            for number, documents in enumerate(batches)
        ]

    def _run_batches(
        self, batches: list[list[BatchDocument]], *, prepare_only: bool, cancelable: bool = True
    ) -> Generator[Any, Any, list[BatchResult]]:
        calls = self._batch_calls(batches, prepare_only=prepare_only)
        # A cancel ends the wait for new work only: the batches heard it too and drain themselves.
        outcomes = yield from (self.cancel.settle(calls) if cancelable else settle(self.context, calls))
        return [self._batch_result(outcome) for outcome in outcomes]

    def _batch_result(self, outcome: Outcome[BatchResult]) -> BatchResult:
        """A batch that failed lost its documents' fates: the job cannot report them, so it fails."""
        if isinstance(outcome, Failed):
            raise_if_host_gave_up(outcome)
            raise HostGaveUp(f"A batch of the job failed: {outcome.error['message']}")
        return outcome.value

    # -- the end ----------------------------------------------------------------------------------

    def _finish(
        self, results: list[BatchResult], stop_reason: ErrorInfo | None
    ) -> Generator[Any, Any, dict[str, Any]]:
        job = self.job
        canceled = stop_reason is not None and stop_reason["code"] == CANCELED_CODE
        counts = _add_up([result.counts for result in results])
        if stop_reason is None and counts.started == 0 and counts.failed == self.total:
            stop_reason = _no_usable_inputs()
        self._status("canceling" if canceled else "saving", counts=counts)
        save = call_activity(
            self.context,
            steps.SAVE_RESULTS,
            SaveResultsRequest(
                job_id=job["jobId"],
                analyzer_id=job["analyzerId"],
                mode=job["mode"],
                operations=self.inline.operations if self.inline else [],
                inputs=self.inline.inputs if self.inline else [],
                batch_records=[result.record_blob for result in results if result.record_blob],
                index=not canceled,  # a canceled job has no result (GET .../result answers 409)
            ),
        )
        # Side by side: the cleanup removes staging and grant blobs, which the results never read.
        cleanup = call_activity(self.context, steps.CLEANUP_JOB, CleanupJobRequest(job["jobId"]))
        pendings: list[Pending[Any]] = [save, cleanup]
        saved, cleaned = yield from settle(self.context, pendings)
        raise_if_host_gave_up(saved)  # a permanent failure only leaves resultBlob null
        raise_if_host_gave_up(cleaned)
        status = "failed" if stop_reason is not None else _outcome(counts, self.total)
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
            "counts": {
                "total": self.total,
                "succeeded": counts.done,
                "failed": counts.failed,
                "skipped": self.total - counts.done - counts.failed,
            },
            "batches": len(results),
            "resultBlob": saved.value.result_blob if isinstance(saved, Succeeded) else None,
            # The per-input fates and operations (``inputs``, ``operations``): merged in by the API.
            "summaryBlob": saved.value.summary_blob if isinstance(saved, Succeeded) else None,
            "startedAt": self.started_at,
            "finishedAt": to_iso(self.context.current_utc_datetime),
        }
        if stop_reason is not None:
            summary["error"] = stop_reason
        self._status(status if status in ("failed", "canceled") else "completed", counts=counts)
        # Telemetry after the last yield, so once per job.
        log_job_finished(logger, summary)
        if self.inline is not None:
            log_inputs_failed(logger, job["jobId"], self.inline.failures)
        return summary

    def _status(self, stage: str, *, phase: str = "batch", counts: BatchCounts | None = None) -> None:
        """The job's custom status: bounded whatever its size (counts, not lists)."""
        status: dict[str, Any] = {
            "stage": stage,
            "mode": self.job["mode"],
            "analyzerId": self.job["analyzerId"],
            "total": self.total,
        }
        if counts is None:
            status["batches"] = len(self.batches)
            status["batchPhase"] = phase
        else:
            status.update(ingested=counts.ingested, failed=counts.failed, analyzing=0, done=counts.done)
        self.context.set_custom_status(status)


def _documents_of(result: BatchResult) -> list[BatchDocument]:
    return result.documents


def _cancel(document: BatchDocument) -> BatchDocument:
    """A prepared document of a canceled job: skipped, with why (a batch did the rest already)."""
    if document.status in ("succeeded", "skipped"):
        return document
    return BatchDocument(
        index=document.index,
        name=document.name,
        status="skipped",
        stored=document.stored,
        error=canceled_error("The job"),
    )


def _skip(document: BatchDocument) -> BatchDocument:
    if document.status == "failed":
        return document
    return BatchDocument(
        index=document.index,
        name=document.name,
        status="skipped",
        stored=document.stored,
    )


def _add_up(all_counts: list[BatchCounts]) -> BatchCounts:
    return BatchCounts(
        total=sum(c.total for c in all_counts),
        ingested=sum(c.ingested for c in all_counts),
        failed=sum(c.failed for c in all_counts),
        done=sum(c.done for c in all_counts),
        polls=sum(c.polls for c in all_counts),
        started=sum(c.started for c in all_counts),
    )


def _outcome(counts: BatchCounts, total: int) -> str:
    if total and counts.done == total:
        return "succeeded"
    return "partially_succeeded" if counts.done else "failed"


def _no_usable_inputs() -> ErrorInfo:
    return {"code": "NoUsableInputs", "message": "No input could be prepared", "transient": False}
