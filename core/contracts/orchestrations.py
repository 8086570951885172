"""The request and result of each sub-orchestration, and the contract that names each one.

``ensure_analyzer`` answers ``{"ok": true, ...EnsureAnalyzerResult}`` or
``{"ok": false, "analyzerId", "error"}`` (the ``PUT /api/analyzers`` route starts it on its own
too); ``monitor_operation`` answers a ``MonitorResult``: an operation that failed at CU is a
result, not a failure of the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import function_names as names
from core.contracts.activities import OperationKind
from core.contracts.named import OrchestratorContract
from core.contracts.wire import NonEmptyStr
from core.errors import ErrorInfo
from core.jobs import AnalyzerSpec, PollingPolicy


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


ENSURE_ANALYZER = OrchestratorContract(names.ENSURE_ANALYZER, EnsureAnalyzerRequest, EnsureAnalyzerResult)
MONITOR_OPERATION = OrchestratorContract(names.MONITOR_OPERATION, MonitorRequest, MonitorResult)
