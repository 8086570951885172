"""Sub-orchestration: make sure an analyzer exists in Content Understanding with this definition.

1. Ingest the reference documents, if any (pro mode), to learn their content hashes.
2. Fingerprint definition + references; an analyzer tagged with the same fingerprint is reused.
3. Otherwise build the knowledge base (pro mode): analyse each reference with the prebuilt
   document analyzer, write ``<file>.result.json`` and ``sources.jsonl`` under a prefix, grant CU
   read+list on it.
4. Create (or replace) the analyzer and poll the creation operation with durable timers.
   A ``409`` means someone else is creating it: wait for theirs, then check its fingerprint.

The output is ``{"ok": true, ...EnsureAnalyzerResult}``, or ``{"ok": false, "analyzerId", "error"}``
when a step failed for good. A step the host gave up on after its retries (storage or CU down for
minutes) fails the orchestration instead (``HostGaveUp``), so that ``PUT /api/analyzers`` starts
it again next time.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, TypeVar

import azure.durable_functions as df

from core.contracts import activities as steps
from core.contracts.activities import (
    AddReferenceFileRequest,
    AnalysisInput,
    AnalyzerState,
    BeginAnalysisRequest,
    BeginCreateAnalyzerRequest,
    CreateSasRequest,
    GetAnalyzerStateRequest,
    KnowledgeBaseTarget,
    KnowledgeSource,
    StoredInput,
    WriteKnowledgeBaseRequest,
)
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    EnsureAnalyzerResult,
    MonitorRequest,
    ReferenceDigest,
)
from core.contracts.wire import from_wire, to_wire
from core.errors import ErrorInfo
from core.jobs import KNOWLEDGE_BASE_ANALYZER_ID, definition_hash, next_poll_interval, seconds
from core.layout import knowledge_base_prefix
from orchestrators.context import OrchestrationContext
from orchestrators.tasks import (
    Failed,
    HostGaveUp,
    Outcome,
    Pending,
    Succeeded,
    call_activity,
    call_sub_orchestrator,
    settle,
    wait,
)

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
    try:
        references = yield from _ingest_references(context, request)
        fingerprint = definition_hash(spec["definition"], [ref.sha256 for ref in references])
        context.set_custom_status({"stage": "checking analyzer", "definitionHash": fingerprint})
        created = yield from _create_if_needed(context, request, references, fingerprint)
    except _Stop as stop:
        if stop.error["transient"]:
            raise HostGaveUp(stop.error["message"]) from None
        return {"ok": False, "analyzerId": spec["analyzerId"], "error": stop.error}
    result = EnsureAnalyzerResult(
        analyzer_id=spec["analyzerId"],
        definition_hash=fingerprint,
        created=created,
        references=[ReferenceDigest(name=ref.name, sha256=ref.sha256) for ref in references],
    )
    return {"ok": True, **to_wire(result)}


def _ingest_references(
    context: OrchestrationContext, request: EnsureAnalyzerRequest
) -> Generator[Any, Any, list[StoredInput]]:
    """Copy the references into this job's knowledge-base folder; their hashes feed the fingerprint."""
    prefix = knowledge_base_prefix(request.analyzer["analyzerId"], request.job_id)
    added = yield from settle(
        context,
        [
            call_activity(
                context,
                steps.ADD_REFERENCE_FILE,
                AddReferenceFileRequest(job_id=request.job_id, prefix=prefix, index=index, source=source),
            )
            for index, source in enumerate(request.references)
        ],
    )
    return [result.file for result in _values(added, "Adding a reference document")]


def _create_if_needed(
    context: OrchestrationContext,
    request: EnsureAnalyzerRequest,
    references: list[StoredInput],
    fingerprint: str,
) -> Generator[Any, Any, bool]:
    spec = request.analyzer
    knowledge_source = None
    for _attempt in range(CREATE_ATTEMPTS):
        state = yield from _wait_until_settled(context, request)
        if state.exists and state.definition_hash == fingerprint and state.status == "ready":
            return False
        if references and knowledge_source is None:
            knowledge_source = yield from _build_knowledge_base(context, request, references)
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
                    knowledge_source=knowledge_source,
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


def _build_knowledge_base(
    context: OrchestrationContext, request: EnsureAnalyzerRequest, references: list[StoredInput]
) -> Generator[Any, Any, KnowledgeSource]:
    """Analyse every reference, write the knowledge base, grant read+list: returns the source spec."""
    spec = request.analyzer
    job_id = request.job_id
    prefix = knowledge_base_prefix(spec["analyzerId"], job_id)
    context.set_custom_status({"stage": "building knowledge base", "references": len(references)})
    granted = yield from settle(
        context,
        [
            call_activity(
                context, steps.CREATE_SAS, CreateSasRequest(job_id=job_id, kind="reference", blob=ref.blob)
            )
            for ref in references
        ],
    )
    grants = _values(granted, "Granting read access to a reference")
    begun = yield from settle(
        context,
        [
            call_activity(
                context,
                steps.BEGIN_ANALYSIS,
                BeginAnalysisRequest(
                    job_id=job_id,
                    key=f"reference-{index}",
                    analyzer_id=KNOWLEDGE_BASE_ANALYZER_ID,
                    api_version=spec["apiVersion"],
                    inputs=[AnalysisInput(grant=grant.grant.name, name=ref.name)],
                    model_deployments={},
                ),
            )
            for index, (ref, grant) in enumerate(zip(references, grants, strict=True))
        ],
    )
    started = _values(begun, "Analysing a reference document")
    monitored = yield from settle(
        context,
        [
            call_sub_orchestrator(
                context,
                MONITOR_OPERATION,
                MonitorRequest(
                    job_id=job_id,
                    key=f"reference-{index}",
                    kind="reference",
                    operation_location=operation.operation_location,
                    polling=request.polling,
                    knowledge_base=KnowledgeBaseTarget(prefix=prefix, file_name=ref.name),
                ),
            )
            for index, (ref, operation) in enumerate(zip(references, started, strict=True))
        ],
    )
    for ref, outcome in zip(references, monitored, strict=True):
        if isinstance(outcome, Succeeded) and outcome.value.status == "Succeeded":
            continue
        error = outcome.error if isinstance(outcome, Failed) else outcome.value.error
        raise _Stop(
            {
                "code": "ReferenceAnalysisFailed",
                "message": f"Reference {ref.name!r} could not be analysed: "
                f"{error['message'] if error else 'failed'}",
                "transient": False,
            }
        )
    written = yield from _required(
        context, call_activity(context, steps.WRITE_KNOWLEDGE_BASE, WriteKnowledgeBaseRequest(prefix))
    )
    knowledge_base = written.knowledge_base
    container_grant = yield from _required(
        context,
        call_activity(
            context,
            steps.CREATE_SAS,
            CreateSasRequest(
                job_id=job_id, kind="container", container=knowledge_base.container, prefix=prefix
            ),
        ),
    )
    return KnowledgeSource(
        grant=container_grant.grant.name, prefix=prefix, file_list_path=knowledge_base.file_list_path
    )


def _required(context: OrchestrationContext, pending: Pending[_T]) -> Generator[Any, Any, _T]:
    """Wait for ``pending``; its failure ends the sub-orchestration with its error."""
    outcome = yield from wait(context, pending)
    if isinstance(outcome, Failed):
        raise _Stop(outcome.error)
    return outcome.value


def _values(outcomes: Sequence[Outcome[_T]], what: str) -> list[_T]:
    """Every outcome's value; the first failure ends the sub-orchestration, saying ``what`` failed."""
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            raise _Stop({**outcome.error, "message": f"{what} failed: {outcome.error['message']}"})
    return [outcome.value for outcome in outcomes if isinstance(outcome, Succeeded)]
