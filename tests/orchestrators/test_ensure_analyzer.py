"""ensure_analyzer driven directly: reuse, create, replace, a 409 from a concurrent creator, failed
creation, the wait for someone else's creation, and pro mode's knowledge base."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from core.contracts import activities as steps
from core.contracts.activities import (
    AddReferenceFileRequest,
    AnalysisInput,
    BeginAnalysisRequest,
    BeginCreateAnalyzerRequest,
    CreateSasRequest,
    GetAnalyzerStateRequest,
    KnowledgeBaseTarget,
    KnowledgeSource,
)
from core.contracts.orchestrations import MONITOR_OPERATION, EnsureAnalyzerRequest, MonitorRequest
from core.contracts.wire import to_wire
from core.jobs import KNOWLEDGE_BASE_ANALYZER_ID, AnalyzerSpec, InputSource, PollingPolicy, definition_hash
from orchestrators.ensure_analyzer import CREATE_ATTEMPTS, run_ensure_analyzer
from orchestrators.tasks import HostGaveUp
from tests.orchestrators.fake_context import (
    START,
    Call,
    FakeContext,
    Reply,
    host_failure,
    names_of,
    ok,
    permanent,
    returns,
)

POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}
SPEC: AnalyzerSpec = {
    "analyzerId": "invoices",
    "apiVersion": "2025-11-01",
    "definition": {"baseAnalyzerId": "prebuilt-document", "fieldSchema": {"fields": {}}},
}
FINGERPRINT = definition_hash(SPEC["definition"], [])
LOCATION = "https://cu.example/analyzerResults/op-1"


def request(references: list[InputSource] | None = None) -> dict[str, Any]:
    return to_wire(
        EnsureAnalyzerRequest(job_id="job-1", analyzer=SPEC, references=references or [], polling=POLICY)
    )


def state(exists: bool, status: str | None = None, fingerprint: str | None = None) -> Reply:
    return ok(exists=exists, status=status, definitionHash=fingerprint)


def monitored(status: str, **extra: Any) -> Reply:
    return returns({"key": "analyzer-invoices", "status": status, "polls": 2, **extra})


def test_an_analyzer_with_the_same_fingerprint_is_reused() -> None:
    context = FakeContext(input=request(), answers={"get_analyzer_state": state(True, "ready", FINGERPRINT)})

    output = context.run(run_ensure_analyzer)

    assert output == {
        "ok": True,
        "analyzerId": "invoices",
        "definitionHash": FINGERPRINT,
        "created": False,
        "references": [],
    }
    assert context.names() == ["get_analyzer_state"]
    assert context.calls[0].request(steps.GET_ANALYZER_STATE) == GetAnalyzerStateRequest(
        "invoices", "2025-11-01"
    )
    assert context.statuses == [{"stage": "checking analyzer", "definitionHash": FINGERPRINT}]


def test_a_missing_analyzer_is_created_and_its_creation_monitored() -> None:
    context = FakeContext(
        input=request(),
        answers={
            "get_analyzer_state": state(False),
            "begin_create_analyzer": ok(operationLocation=LOCATION),
            "monitor_operation": monitored("Succeeded"),
        },
    )

    output = context.run(run_ensure_analyzer)

    assert output["ok"] is True
    assert output["created"] is True
    assert context.names() == ["get_analyzer_state", "begin_create_analyzer", "monitor_operation"]
    assert context.calls[1].request(steps.BEGIN_CREATE_ANALYZER) == BeginCreateAnalyzerRequest(
        analyzer_id="invoices",
        api_version="2025-11-01",
        definition=SPEC["definition"],
        definition_hash=FINGERPRINT,
        replace=False,
        knowledge_source=None,
    )
    assert context.calls[2].request(MONITOR_OPERATION) == MonitorRequest(
        job_id="job-1", key="analyzer-invoices", kind="analyzer", operation_location=LOCATION, polling=POLICY
    )
    assert context.statuses[-1] == {"stage": "creating analyzer", "definitionHash": FINGERPRINT}


def test_an_analyzer_with_another_definition_is_replaced() -> None:
    context = FakeContext(
        input=request(),
        answers={
            "get_analyzer_state": state(True, "ready", "another-fingerprint"),
            "begin_create_analyzer": ok(operationLocation=LOCATION),
            "monitor_operation": monitored("Succeeded"),
        },
    )

    assert context.run(run_ensure_analyzer)["created"] is True
    assert context.calls_to("begin_create_analyzer")[0].input["replace"] is True


def test_a_409_waits_for_the_concurrent_creator_then_reuses_its_analyzer() -> None:
    context = FakeContext(
        input=request(),
        answers={
            "get_analyzer_state": [state(False), state(True, "creating"), state(True, "ready", FINGERPRINT)],
            "begin_create_analyzer": ok(conflict=True),
        },
    )

    output = context.run(run_ensure_analyzer)

    assert output["ok"] is True
    assert output["created"] is False
    assert context.names() == [
        "get_analyzer_state",
        "begin_create_analyzer",
        "get_analyzer_state",
        "get_analyzer_state",
    ]
    assert [(moment - START).total_seconds() for moment in context.timers] == [1]


def test_an_analyzer_that_keeps_being_taken_is_a_conflict() -> None:
    context = FakeContext(
        input=request(),
        answers={"get_analyzer_state": state(False), "begin_create_analyzer": ok(conflict=True)},
    )

    output = context.run(run_ensure_analyzer)

    assert output["ok"] is False
    assert output["error"]["code"] == "AnalyzerConflict"
    assert len(context.calls_to("begin_create_analyzer")) == CREATE_ATTEMPTS


@pytest.mark.parametrize(
    ("monitor", "error"),
    [
        (
            monitored(
                "Failed", error={"code": "InvalidFieldSchema", "message": "bad schema", "transient": False}
            ),
            {"code": "InvalidFieldSchema", "message": "bad schema", "transient": False},
        ),
        (
            monitored("TimedOut"),
            {"code": "AnalyzerCreationFailed", "message": "Analyzer creation TimedOut", "transient": False},
        ),
    ],
)
def test_a_failed_creation_is_reported(monitor: Reply, error: dict[str, Any]) -> None:
    context = FakeContext(
        input=request(),
        answers={
            "get_analyzer_state": state(False),
            "begin_create_analyzer": ok(operationLocation=LOCATION),
            "monitor_operation": monitor,
        },
    )

    assert context.run(run_ensure_analyzer) == {"ok": False, "analyzerId": "invoices", "error": error}


def test_a_refused_creation_is_reported() -> None:
    context = FakeContext(
        input=request(),
        answers={
            "get_analyzer_state": state(False),
            "begin_create_analyzer": permanent("InvalidAnalyzerDefinition", "fieldSchema is required"),
        },
    )

    output = context.run(run_ensure_analyzer)

    assert output["error"] == {
        "code": "InvalidAnalyzerDefinition",
        "message": "fieldSchema is required",
        "transient": False,
    }
    assert "monitor_operation" not in context.names()


def test_a_step_the_host_gave_up_on_fails_the_orchestration() -> None:
    """So that PUT /api/analyzers, which restarts only a Failed instance, tries again later."""
    context = FakeContext(
        input=request(), answers={"get_analyzer_state": host_failure("TransientError: CU did not answer")}
    )

    with pytest.raises(HostGaveUp, match="CU did not answer"):
        context.run(run_ensure_analyzer)


def test_someone_elses_creation_is_awaited_until_the_deadline() -> None:
    context = FakeContext(input=request(), answers={"get_analyzer_state": state(True, "creating")})

    output = context.run(run_ensure_analyzer)

    assert output["error"] == {
        "code": "DeadlineExceeded",
        "message": "Analyzer 'invoices' stayed 'creating' past the deadline",
        "transient": False,
    }
    moments = [START, *context.timers]
    waits = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]
    assert waits[:5] == [1, 2, 4, 8, 8]  # backoff up to the maximum
    assert (context.now - START).total_seconds() >= POLICY["deadlineSeconds"]


# ---- pro mode: reference documents and the knowledge base ------------------------------------

REFERENCES: list[InputSource] = [{"blob": "references/terms.pdf"}, {"blob": "references/prices.pdf"}]
REFERENCE_NAMES = ["terms.pdf", "prices.pdf"]
PRO_FINGERPRINT = definition_hash(SPEC["definition"], ["sha-terms.pdf", "sha-prices.pdf"])
PREFIX = "invoices/job-1/"


def added(call: Call) -> Reply:
    index = call.input["index"]
    name = REFERENCE_NAMES[index]
    file = {
        "index": index,
        "name": name,
        "blob": f"{PREFIX}{name}",
        "size": 100,
        "contentType": "application/pdf",
        "etag": '"0x1"',
        "sha256": f"sha-{name}",
    }
    return ok(file=file)


def granted(call: Call) -> Reply:
    target = call.input.get("blob") or call.input["prefix"]
    return ok(grant={"grant": f"grant-of-{target}", "expiresAt": "2026-01-01T13:00:00Z"})


def monitor_answer(call: Call) -> Reply:
    status = {"key": call.input["key"], "status": "Succeeded", "polls": 1}
    return returns(status)


def pro_answers(**overrides: Any) -> dict[str, Any]:
    answers = {
        "add_reference_file": added,
        "get_analyzer_state": state(False),
        "create_sas": granted,
        "begin_analysis": lambda call: ok(
            operationLocation=f"https://cu.example/{call.input['key']}",
            operationId=call.input["key"],
            attempts=1,
        ),
        "monitor_operation": monitor_answer,
        "write_knowledge_base": ok(
            knowledgeBase={
                "container": "references",
                "prefix": PREFIX,
                "fileListPath": "sources.jsonl",
                "files": REFERENCE_NAMES,
            }
        ),
        "begin_create_analyzer": ok(operationLocation=LOCATION),
    }
    return {**answers, **overrides}


def test_pro_mode_builds_the_knowledge_base_then_creates_the_analyzer() -> None:
    context = FakeContext(input=request(REFERENCES), answers=pro_answers())

    output = context.run(run_ensure_analyzer)

    assert output == {
        "ok": True,
        "analyzerId": "invoices",
        "definitionHash": PRO_FINGERPRINT,
        "created": True,
        "references": [{"name": name, "sha256": f"sha-{name}"} for name in REFERENCE_NAMES],
    }
    assert [names_of(wave) for wave in context.waves] == [
        ["add_reference_file", "add_reference_file"],
        ["get_analyzer_state"],
        ["create_sas", "create_sas"],
        ["begin_analysis", "begin_analysis"],
        ["monitor_operation", "monitor_operation"],
        ["write_knowledge_base"],
        ["create_sas"],
        ["begin_create_analyzer"],
        ["monitor_operation"],
    ]
    adds, _, grants, analyses, monitors, _, container, create, _ = context.waves
    assert [call.request(steps.ADD_REFERENCE_FILE) for call in adds] == [
        AddReferenceFileRequest(job_id="job-1", prefix=PREFIX, index=i, source=REFERENCES[i])
        for i in range(2)
    ]
    assert [call.request(steps.CREATE_SAS) for call in grants] == [
        CreateSasRequest(job_id="job-1", kind="reference", blob=f"{PREFIX}{name}") for name in REFERENCE_NAMES
    ]
    assert analyses[1].request(steps.BEGIN_ANALYSIS) == BeginAnalysisRequest(
        job_id="job-1",
        key="reference-1",
        analyzer_id=KNOWLEDGE_BASE_ANALYZER_ID,
        api_version="2025-11-01",
        inputs=[AnalysisInput(grant=f"grant-of-{PREFIX}prices.pdf", name="prices.pdf")],
        model_deployments={},
    )
    assert monitors[0].request(MONITOR_OPERATION).knowledge_base == KnowledgeBaseTarget(PREFIX, "terms.pdf")
    assert container[0].request(steps.CREATE_SAS) == CreateSasRequest(
        job_id="job-1", kind="container", container="references", prefix=PREFIX
    )
    assert create[0].request(steps.BEGIN_CREATE_ANALYZER).knowledge_source == KnowledgeSource(
        grant=f"grant-of-{PREFIX}", prefix=PREFIX, file_list_path="sources.jsonl"
    )
    assert [status["stage"] for status in context.statuses] == [
        "checking analyzer",
        "building knowledge base",
        "creating analyzer",
    ]


def test_a_reference_that_cannot_be_added_is_reported() -> None:
    answers = pro_answers(
        add_reference_file=lambda call: (
            added(call) if call.input["index"] == 0 else permanent("UnsupportedType", "not a PDF")
        )
    )
    context = FakeContext(input=request(REFERENCES), answers=answers)

    output = context.run(run_ensure_analyzer)

    assert output["error"] == {
        "code": "UnsupportedType",
        "message": "Adding a reference document failed: not a PDF",
        "transient": False,
    }
    assert context.names() == ["add_reference_file", "add_reference_file"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (returns({"key": "reference-1", "status": "Failed", "polls": 3}), "failed"),
        (
            host_failure("the monitor crashed"),
            "Orchestrator function 'monitor_operation' failed: the monitor crashed",
        ),
    ],
)
def test_a_reference_whose_analysis_fails_is_reported(reply: Reply, reason: str) -> None:
    answers = pro_answers(
        monitor_operation=lambda call: monitor_answer(call) if call.input["key"] == "reference-0" else reply
    )
    context = FakeContext(input=request(REFERENCES), answers=answers)

    output = context.run(run_ensure_analyzer)

    assert output["error"] == {
        "code": "ReferenceAnalysisFailed",
        "message": f"Reference 'prices.pdf' could not be analysed: {reason}",
        "transient": False,
    }
    assert "write_knowledge_base" not in context.names()
