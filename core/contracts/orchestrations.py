"""The request and result of each sub-orchestration, and the contract that names each one.

``ensure_analyzer`` answers ``{"ok": true, ...EnsureAnalyzerResult}`` or
``{"ok": false, "analyzerId", "error"}`` (the ``PUT /api/analyzers`` route starts it on its own
too); ``monitor_operation`` answers a ``MonitorResult``: an operation that failed at CU is a
result, not a failure of the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core import function_names as names
from core.contracts.activities import OperationKind, StoredInput
from core.contracts.named import OrchestratorContract
from core.contracts.wire import NonEmptyStr
from core.errors import ErrorInfo
from core.jobs import AnalyzerSpec, InputSource, PollingPolicy


@dataclass(frozen=True)
class EnsureAnalyzerRequest:
    job_id: NonEmptyStr  # the job (or registration) that needs the analyzer
    analyzer: AnalyzerSpec
    polling: PollingPolicy


@dataclass(frozen=True)
class EnsureAnalyzerResult:
    analyzer_id: str
    definition_hash: str  # the fingerprint of the definition the analyzer is tagged with
    created: bool  # False: an analyzer with this fingerprint already existed and is reused


@dataclass(frozen=True)
class MonitorRequest:
    job_id: NonEmptyStr
    key: NonEmptyStr  # which operation of the job: "0", "1", ..., "agentic", "analyzer-<id>"
    kind: OperationKind
    operation_location: NonEmptyStr
    polling: PollingPolicy
    # Carried through continue_as_new: the deadline set by the first execution, the polls so far.
    deadline_at: str | None = None
    polls: int = 0


@dataclass(frozen=True)
class MonitorResult:
    key: str
    status: str  # Succeeded | Failed | Canceled | TimedOut
    polls: int
    result_blob: str | None = None
    error: ErrorInfo | None = None


DocumentStatus = Literal["pending", "prepared", "analyzing", "succeeded", "failed", "skipped"]


@dataclass(frozen=True)
class BatchDocument:
    """One document of a batch as far as it got; carried through ``continue_as_new`` and returned.

    ``pending`` (has ``source``) -> ``prepared`` (ingested, has ``stored`` and ``grant``) ->
    ``analyzing`` (has the operation, polled at ``next_poll_at``) -> ``succeeded``/``failed``;
    ``skipped`` when the job stopped before analysing it.
    """

    index: int
    name: str
    status: DocumentStatus
    source: InputSource | None = None
    stored: StoredInput | None = None
    grant: str | None = None
    operation_id: str | None = None
    operation_location: str | None = None
    attempts: int = 1
    polls: int = 0
    next_poll_at: str | None = None
    deadline_at: str | None = None
    operation_status: str | None = None  # CU's last word: Succeeded | Failed | Canceled | TimedOut
    result_blob: str | None = None
    poll_error: str | None = None
    error: ErrorInfo | None = None
    # A pending document whose last preparation failed for now: how many tries so far, and when next.
    prepare_attempts: int = 0
    prepare_after: str | None = None


@dataclass(frozen=True)
class BatchRequest:
    """A slice of a per-document job: each document goes ingest+grant -> begin -> polls on its own.

    ``prepare_only``: stop once every document is prepared (the job's ``fail`` policy needs every
    input before any analysis). ``rounds``: poll rounds of earlier executions (continue_as_new).
    """

    job_id: NonEmptyStr
    batch: int
    analyzer_id: NonEmptyStr
    api_version: NonEmptyStr
    model_deployments: dict[str, str]
    polling: PollingPolicy
    documents: list[BatchDocument]
    prepare_only: bool = False
    rounds: int = 0
    extra_pages: int = 0


@dataclass(frozen=True)
class BatchCounts:
    total: int = 0
    ingested: int = 0
    failed: int = 0
    done: int = 0
    polls: int = 0
    started: int = 0  # analyses started (operations)


@dataclass(frozen=True)
class BatchResult:
    """How a batch ended: counts, and its record blob (``save_batch``), or its prepared documents
    (``prepare_only``)."""

    batch: int
    counts: BatchCounts
    record_blob: str | None = None
    documents: list[BatchDocument] = field(default_factory=list)
    canceled: bool = False  # it stopped for the job's cancel (its event, or a step that refused)


ENSURE_ANALYZER = OrchestratorContract(names.ENSURE_ANALYZER, EnsureAnalyzerRequest, EnsureAnalyzerResult)
MONITOR_OPERATION = OrchestratorContract(names.MONITOR_OPERATION, MonitorRequest, MonitorResult)
ANALYSIS_BATCH = OrchestratorContract(names.ANALYSIS_BATCH, BatchRequest, BatchResult)
