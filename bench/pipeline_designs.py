"""The two designs the durable app replaces, built from the app's own services.

Both process a job of N documents with exactly the steps the durable job runs, calling the same
functions its activities call, so that only the orchestration differs:

1. stage the upload (``inputs.ingest.stage_upload``, what the HTTP function does);
2. ingest it (``inputs.ingest.ingest_input``: server-side copy, sniff, hash);
3. grant CU read access (``storage.grants.create_input_grant``: a claim-check grant blob);
4. begin the analysis (``activities.cu_steps.begin_analysis``, which resolves the grant);
5. poll until the operation ends (``activities.cu_steps.get_operation``, which saves the full result
   as a blob), sleeping between polls for CU's ``Retry-After`` or the app's backoff
   (``core.jobs.next_poll_interval`` with the app's ``POLL_*`` settings), as the durable
   monitor does with timers;
6. once every document is done, write the job's result document and clean up its grants
   (``write_result_document``, ``cleanup_job``), as the durable job's last two activities do.

``run_sequential`` does the per-document steps for one document after another; ``run_gather``
does them for all documents at once with ``asyncio.gather``, like the single-process FastAPI
router this app replaces.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from activities.cu_steps import begin_analysis, get_operation
from core.contracts.activities import AnalysisInput, BeginAnalysisRequest, GetOperationRequest
from core.jobs import PollingPolicy, next_poll_interval, polling_policy
from core.settings import get_settings
from inputs.ingest import ingest_input, stage_upload
from storage.grants import create_input_grant
from storage.result_document import OperationOutcome, write_result_document
from storage.results import cleanup_job

TERMINAL = ("Succeeded", "Failed", "Canceled")


@dataclass(frozen=True)
class Document:
    name: str
    data: bytes


@dataclass
class DesignRun:
    """One design processing one job of ``count`` documents, timed from the start of the job."""

    design: str
    count: int
    started_at: float = field(default_factory=time.time)  # epoch seconds, to place CU's poll times
    wall_seconds: float = 0.0
    first_done_seconds: float | None = None  # when the first document's result was saved
    first_progress_seconds: float | None = None  # durable only: first progress in the status API
    succeeded: int = 0
    failed: int = 0
    operation_ids: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# A design processes one job of documents and reports how it went.
Design = Callable[[list[Document]], Awaitable[DesignRun]]


@dataclass(frozen=True)
class DocumentOutcome:
    key: str
    name: str
    operation_id: str | None
    status: str  # Succeeded | Failed | Canceled | TimedOut, or Error (a step raised)


class _Job:
    """One baseline job: its id, the app's settings it needs, and the clock it is timed with."""

    def __init__(self, design: str, documents: list[Document]) -> None:
        settings = get_settings()
        self.job_id = f"job-bench-{design}-{uuid.uuid4().hex[:12]}"
        self.documents = documents
        self.analyzer_id = settings.content_understanding.default_analyzer_id
        self.api_version = settings.content_understanding.api_version
        self.deployments = dict(settings.content_understanding.model_deployments)
        self.policy: PollingPolicy = polling_policy(settings)
        self.run = DesignRun(design, len(documents))
        self._started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    async def process(self, index: int) -> DocumentOutcome:
        """Steps 1-5 for one document; a failing step makes the document fail, not the job."""
        document = self.documents[index]
        try:
            outcome = await self._process(index, document)
        except Exception as error:  # a baseline reports per-document failure like the durable job
            outcome = DocumentOutcome(str(index), document.name, None, f"Error: {type(error).__name__}")
        if outcome.status == "Succeeded" and self.run.first_done_seconds is None:
            self.run.first_done_seconds = self.elapsed()
        return outcome

    async def _process(self, index: int, document: Document) -> DocumentOutcome:
        key = str(index)
        staged = await stage_upload(self.job_id, document.name, document.data, max_bytes=len(document.data))
        ingested = await ingest_input(self.job_id, index, staged.source())
        grant = await create_input_grant(self.job_id, ingested.blob)
        operation = await begin_analysis(
            BeginAnalysisRequest(
                job_id=self.job_id,
                key=key,
                analyzer_id=self.analyzer_id,
                api_version=self.api_version,
                inputs=[AnalysisInput(grant=grant["grant"], name=ingested.name)],
                model_deployments=self.deployments,
            )
        )
        deadline = time.monotonic() + self.policy["deadlineSeconds"]
        polls = 0  # the emulator counts them too; this one drives the backoff
        while True:
            state = await get_operation(
                GetOperationRequest(
                    job_id=self.job_id,
                    key=key,
                    kind="analysis",
                    operation_location=operation.operation_location,
                )
            )
            polls += 1
            status = state.status
            if status in TERMINAL:
                break
            if time.monotonic() >= deadline:
                status = "TimedOut"
                break
            await asyncio.sleep(next_poll_interval(self.policy, polls, state.retry_after_seconds))
        return DocumentOutcome(key, ingested.name, operation.operation_id, status)

    async def finish(self, outcomes: list[DocumentOutcome]) -> DesignRun:
        """Step 6, then the run's totals."""
        operations: list[OperationOutcome] = [
            {
                "key": outcome.key,
                "inputs": [outcome.name],
                "operationId": outcome.operation_id,
                "status": outcome.status,
            }
            for outcome in outcomes
            if outcome.operation_id is not None
        ]
        await write_result_document(self.job_id, self.analyzer_id, "per-document", operations)
        await cleanup_job(self.job_id)
        run = self.run
        run.wall_seconds = self.elapsed()
        run.succeeded = sum(1 for outcome in outcomes if outcome.status == "Succeeded")
        run.failed = len(outcomes) - run.succeeded
        run.operation_ids = [o.operation_id for o in outcomes if o.operation_id is not None]
        run.details = {
            "jobId": self.job_id,
            "failures": [o.status for o in outcomes if o.status != "Succeeded"],
        }
        return run


async def run_sequential(documents: list[Document]) -> DesignRun:
    """One document after another, in one process."""
    job = _Job("sequential", documents)
    outcomes = [await job.process(index) for index in range(len(documents))]
    return await job.finish(outcomes)


async def run_gather(documents: list[Document]) -> DesignRun:
    """Every document at once with ``asyncio.gather``, in one process (the design being replaced)."""
    job = _Job("gather", documents)
    outcomes = list(await asyncio.gather(*(job.process(index) for index in range(len(documents)))))
    return await job.finish(outcomes)
