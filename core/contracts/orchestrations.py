"""The request and result of each sub-orchestration, and the contract that names each one.

``ensure_analyzer`` answers ``{"ok": true, ...EnsureAnalyzerResult}`` or
``{"ok": false, "analyzerId", "error"}`` (the ``PUT /api/analyzers`` route starts it on its own
too); ``monitor_operation`` answers a ``MonitorResult``: an operation that failed at CU is a
result, not a failure of the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import function_names as names
from core.contracts.activities import KnowledgeBaseTarget, OperationKind
from core.contracts.named import OrchestratorContract
from core.contracts.wire import NonEmptyStr
from core.errors import ErrorInfo
from core.jobs import AnalyzerSpec, InputSource, PollingPolicy


@dataclass(frozen=True)
class EnsureAnalyzerRequest:
    job_id: NonEmptyStr  # the job (or registration) whose knowledge-base folder and grants these are
    analyzer: AnalyzerSpec
    references: list[InputSource]  # pro mode's reference documents, [] for a standard analyzer
    polling: PollingPolicy


@dataclass(frozen=True)
class ReferenceDigest:
    name: str
    sha256: str


@dataclass(frozen=True)
class EnsureAnalyzerResult:
    analyzer_id: str
    definition_hash: str  # the fingerprint of definition + references the analyzer is tagged with
    created: bool  # False: an analyzer with this fingerprint already existed and is reused
    references: list[ReferenceDigest]


@dataclass(frozen=True)
class MonitorRequest:
    job_id: NonEmptyStr
    key: NonEmptyStr  # which operation of the job: "0", "combined", "analyzer-<id>", "reference-2", ...
    kind: OperationKind
    operation_location: NonEmptyStr
    polling: PollingPolicy
    knowledge_base: KnowledgeBaseTarget | None = None  # kind "reference": where its analysis goes
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


ENSURE_ANALYZER = OrchestratorContract(names.ENSURE_ANALYZER, EnsureAnalyzerRequest, EnsureAnalyzerResult)
MONITOR_OPERATION = OrchestratorContract(names.MONITOR_OPERATION, MonitorRequest, MonitorResult)
