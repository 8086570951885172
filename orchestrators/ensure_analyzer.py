"""Sub-orchestration: make sure an analyzer exists in Content Understanding with this definition.

1. Ingest the reference documents, if any (pro mode), to learn their content hashes.
2. Fingerprint definition + references; an analyzer tagged with the same fingerprint is reused.
3. Otherwise build the knowledge base (pro mode): analyse each reference with the prebuilt
   document analyzer, write ``<file>.result.json`` and ``sources.jsonl`` under a prefix, grant CU
   read+list on it.
4. Create (or replace) the analyzer and poll the creation operation with durable timers.
   A ``409`` means someone else is creating it: wait for theirs, then check its fingerprint.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NotRequired, TypedDict

import azure.durable_functions as df

from core import function_names as names
from core.jobs import (
    KNOWLEDGE_BASE_ANALYZER_ID,
    AnalyzerSpec,
    InputSource,
    PollingPolicy,
    definition_hash,
    next_poll_interval,
    seconds,
)
from core.layout import knowledge_base_prefix
from orchestrators.monitor_operation import MonitorRequest
from orchestrators.tasks import ACTIVITY_RETRY, Outcome, settle

bp = df.Blueprint()

CREATE_ATTEMPTS = 3


class EnsureRequest(TypedDict):
    jobId: str
    analyzer: AnalyzerSpec
    references: list[InputSource]
    polling: PollingPolicy


class EnsureResult(TypedDict):
    ok: bool
    analyzerId: str
    definitionHash: NotRequired[str]
    created: NotRequired[bool]
    references: NotRequired[list[dict[str, Any]]]
    error: NotRequired[dict[str, Any]]


class AnalyzerFailed(Exception):
    """Ends the sub-orchestration with a failure report (caught below, never escapes)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", "analyzer failed"))
        self.error = error


@bp.function_name(names.ENSURE_ANALYZER)
@bp.orchestration_trigger(context_name="context")
def ensure_analyzer(context: df.DurableOrchestrationContext) -> Generator[Any, Any, EnsureResult]:
    return (yield from run_ensure_analyzer(context))


def run_ensure_analyzer(context: Any) -> Generator[Any, Any, EnsureResult]:
    request: EnsureRequest = context.get_input()
    spec = request["analyzer"]
    try:
        references = yield from _ingest_references(context, request)
        fingerprint = definition_hash(spec["definition"], [ref["sha256"] for ref in references])
        context.set_custom_status({"stage": "checking analyzer", "definitionHash": fingerprint})
        created = yield from _create_if_needed(context, request, references, fingerprint)
    except AnalyzerFailed as failure:
        return {"ok": False, "analyzerId": spec["analyzerId"], "error": failure.error}
    return {
        "ok": True,
        "analyzerId": spec["analyzerId"],
        "definitionHash": fingerprint,
        "created": created,
        "references": [{"name": ref["name"], "sha256": ref["sha256"]} for ref in references],
    }


def _ingest_references(context: Any, request: EnsureRequest) -> Generator[Any, Any, list[dict[str, Any]]]:
    """Copy the references into this job's knowledge-base folder; their hashes feed the fingerprint."""
    prefix = knowledge_base_prefix(request["analyzer"]["analyzerId"], request["jobId"])
    tasks = [
        context.call_activity_with_retry(
            names.ADD_REFERENCE_FILE,
            ACTIVITY_RETRY,
            {"jobId": request["jobId"], "prefix": prefix, "index": index, "source": source},
        )
        for index, source in enumerate(request["references"])
    ]
    outcomes: list[Outcome] = yield from settle(context, tasks)
    _raise_first_failure(outcomes, "Adding a reference document")
    return [outcome.value["file"] for outcome in outcomes]


def _create_if_needed(
    context: Any, request: EnsureRequest, references: list[dict[str, Any]], fingerprint: str
) -> Generator[Any, Any, bool]:
    spec = request["analyzer"]
    knowledge_source = None
    for _attempt in range(CREATE_ATTEMPTS):
        state = yield from _wait_until_settled(context, request)
        if state["exists"] and state.get("definitionHash") == fingerprint and state["status"] == "ready":
            return False
        if references and knowledge_source is None:
            knowledge_source = yield from _build_knowledge_base(context, request, references)
        context.set_custom_status({"stage": "creating analyzer", "definitionHash": fingerprint})
        begun = yield context.call_activity_with_retry(
            names.BEGIN_CREATE_ANALYZER,
            ACTIVITY_RETRY,
            {
                "analyzerId": spec["analyzerId"],
                "apiVersion": spec["apiVersion"],
                "definition": spec["definition"],
                "definitionHash": fingerprint,
                "replace": state["exists"],
                "knowledgeSource": knowledge_source,
            },
        )
        if begun.get("conflict"):
            continue  # a concurrent creator won the race: wait for it, then check it is ours
        if not begun.get("ok"):
            raise AnalyzerFailed(begun["error"])
        monitored = yield context.call_sub_orchestrator(
            names.MONITOR_OPERATION,
            MonitorRequest(
                jobId=request["jobId"],
                key=f"analyzer-{spec['analyzerId']}",
                kind="analyzer",
                operationLocation=begun["operationLocation"],
                polling=request["polling"],
            ),
        )
        if monitored["status"] != "Succeeded":
            raise AnalyzerFailed(
                monitored.get("error")
                or {"code": "AnalyzerCreationFailed", "message": f"Analyzer creation {monitored['status']}"}
            )
        return True
    raise AnalyzerFailed(
        {
            "code": "AnalyzerConflict",
            "message": f"Analyzer {spec['analyzerId']!r} kept being replaced by another definition "
            f"({CREATE_ATTEMPTS} attempts); is another app or job using the same analyzer id?",
            "transient": False,
        }
    )


def _wait_until_settled(context: Any, request: EnsureRequest) -> Generator[Any, Any, dict[str, Any]]:
    """The analyzer's state once it is not being created (or deleted) by someone else."""
    spec = request["analyzer"]
    polls = 0
    deadline = context.current_utc_datetime + seconds(request["polling"]["deadlineSeconds"])
    while True:
        state = yield context.call_activity_with_retry(
            names.GET_ANALYZER_STATE,
            ACTIVITY_RETRY,
            {"analyzerId": spec["analyzerId"], "apiVersion": spec["apiVersion"]},
        )
        if not state.get("ok"):
            raise AnalyzerFailed(state["error"])
        if not state["exists"] or state["status"] not in ("creating", "deleting"):
            return dict(state)
        polls += 1
        if context.current_utc_datetime >= deadline:
            raise AnalyzerFailed(
                {
                    "code": "DeadlineExceeded",
                    "message": f"Analyzer {spec['analyzerId']!r} stayed {state['status']!r} "
                    "past the deadline",
                    "transient": False,
                }
            )
        wait = next_poll_interval(request["polling"], polls, None)
        yield context.create_timer(context.current_utc_datetime + seconds(wait))


def _build_knowledge_base(
    context: Any, request: EnsureRequest, references: list[dict[str, Any]]
) -> Generator[Any, Any, dict[str, Any]]:
    """Analyse every reference, write the knowledge base, grant read+list: returns the source spec."""
    spec = request["analyzer"]
    job_id = request["jobId"]
    prefix = knowledge_base_prefix(request["analyzer"]["analyzerId"], request["jobId"])
    context.set_custom_status({"stage": "building knowledge base", "references": len(references)})
    grants: list[Outcome] = yield from settle(
        context,
        [
            context.call_activity_with_retry(
                names.CREATE_SAS, ACTIVITY_RETRY, {"jobId": job_id, "kind": "reference", "blob": ref["blob"]}
            )
            for ref in references
        ],
    )
    _raise_first_failure(grants, "Granting read access to a reference")
    begun: list[Outcome] = yield from settle(
        context,
        [
            context.call_activity_with_retry(
                names.BEGIN_ANALYSIS,
                ACTIVITY_RETRY,
                {
                    "jobId": job_id,
                    "key": f"reference-{index}",
                    "analyzerId": KNOWLEDGE_BASE_ANALYZER_ID,
                    "apiVersion": spec["apiVersion"],
                    "inputs": [{"grant": grant.value["grant"]["grant"], "name": ref["name"]}],
                    "modelDeployments": {},
                },
            )
            for index, (ref, grant) in enumerate(zip(references, grants, strict=True))
        ],
    )
    _raise_first_failure(begun, "Analysing a reference document")
    monitored: list[Outcome] = yield from settle(
        context,
        [
            context.call_sub_orchestrator(
                names.MONITOR_OPERATION,
                MonitorRequest(
                    jobId=job_id,
                    key=f"reference-{index}",
                    kind="reference",
                    operationLocation=started.value["operationLocation"],
                    polling=request["polling"],
                    knowledgeBase={"prefix": prefix, "fileName": ref["name"]},
                ),
            )
            for index, (ref, started) in enumerate(zip(references, begun, strict=True))
        ],
    )
    for ref, outcome in zip(references, monitored, strict=True):
        if not outcome.ok or outcome.value["status"] != "Succeeded":
            error = outcome.value.get("error") if outcome.ok else outcome.error_info
            raise AnalyzerFailed(
                {
                    "code": "ReferenceAnalysisFailed",
                    "message": f"Reference {ref['name']!r} could not be analysed: "
                    f"{(error or {}).get('message', 'failed')}",
                    "transient": False,
                }
            )
    written = yield context.call_activity_with_retry(
        names.WRITE_KNOWLEDGE_BASE, ACTIVITY_RETRY, {"prefix": prefix}
    )
    if not written.get("ok"):
        raise AnalyzerFailed(written["error"])
    knowledge_base = written["knowledgeBase"]
    container_grant = yield context.call_activity_with_retry(
        names.CREATE_SAS,
        ACTIVITY_RETRY,
        {"jobId": job_id, "kind": "container", "container": knowledge_base["container"], "prefix": prefix},
    )
    if not container_grant.get("ok"):
        raise AnalyzerFailed(container_grant["error"])
    return {
        "grant": container_grant["grant"]["grant"],
        "prefix": prefix,
        "fileListPath": knowledge_base["fileListPath"],
    }


def _raise_first_failure(outcomes: list[Outcome], what: str) -> None:
    for outcome in outcomes:
        if not outcome.succeeded:
            error = outcome.error_info
            raise AnalyzerFailed({**error, "message": f"{what} failed: {error.get('message')}"})
