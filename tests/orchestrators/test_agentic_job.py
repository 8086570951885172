"""agentic_job driven directly: one wave of ingests and the analyzer, the fan-in, the package, one
analysis and its monitor, saving and clean-up; a lost document, a package over the limits, CU's
inner error, an analyzer that is not ready."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.cancellation import CANCEL_EVENT, CANCELED_CODE, canceled_error
from core.contracts import activities as steps
from core.contracts.activities import (
    AnalysisInput,
    BeginAnalysisRequest,
    CreateSasRequest,
    IngestInputRequest,
    OperationRecord,
    PackageInputsRequest,
    PackagePart,
    PartRole,
    SaveResultsRequest,
)
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    MonitorRequest,
)
from core.jobs import AnalyzerSpec, InputSource, JobSpec, PollingPolicy
from orchestrators.agentic_job import run_agentic_job
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
    statuses_of,
)

PREVIEW = "2026-06-01-preview"
POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}
INPUTS: list[InputSource] = [
    {"staged": "job-1/u1-invoice.pdf", "name": "invoice.pdf"},
    {"url": "https://files.example/notes.md", "name": "notes.md"},
]
REFERENCES: list[InputSource] = [{"blob": "references/contract.txt", "name": "contract.txt"}]
NAMES = ["invoice.pdf", "notes.md", "contract.txt"]
ROLES: list[PartRole] = ["input", "input", "reference"]
TYPES = ["application/pdf", "text/markdown", "text/plain"]
ANALYZER: AnalyzerSpec = {
    "analyzerId": "contract-check",
    "apiVersion": PREVIEW,
    "definition": {"config": {"workflow": "agentic"}, "fieldSchema": {"fields": {}}},
}
PACKAGE = {
    "name": "package.pdf",
    "blob": "job-1/package.pdf",
    "size": 5000,
    "pages": 5,
    "sha256": "sha-package",
    "parts": [
        {"name": "invoice.pdf", "role": "input", "firstPage": 2, "pages": 2},
        {"name": "notes.md", "role": "input", "firstPage": 4, "pages": 1},
        {"name": "contract.txt", "role": "reference", "firstPage": 5, "pages": 1},
    ],
}
INNER_FAILURE = {
    "code": "InvalidRequest",
    "message": "Invalid Request. (ContentSourceNotAccessible: The content could not be read)",
    "transient": False,
    "innerError": {"code": "ContentSourceNotAccessible", "message": "The content could not be read"},
}


def job(**changes: Any) -> JobSpec:
    spec: dict[str, Any] = {
        "jobId": "job-1",
        "analyzerId": "contract-check",
        "mode": "agentic",
        "apiVersion": PREVIEW,
        "inputs": INPUTS,
        "references": REFERENCES,
        "partialFailure": "fail",
        "analyzer": ANALYZER,
        "modelDeployments": {"prebuilt-analyzer-completion": "gpt"},
        "polling": POLICY,
        "origin": "http",
    }
    return JobSpec(**{**spec, **changes})  # type: ignore[typeddict-item]


def stored(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "name": NAMES[index],
        "blob": f"job-1/{index}-{NAMES[index]}",
        "size": 100 + index,
        "contentType": TYPES[index],
        "etag": '"0x1"',
        "sha256": f"sha-{index}",
    }


def ingested(call: Call) -> Reply:
    return ok(input=stored(call.input["index"]))


def answers(**overrides: Any) -> dict[str, Any]:
    default = {
        "ingest_input": ingested,
        "ensure_analyzer": returns(
            {"ok": True, "analyzerId": "contract-check", "definitionHash": "h", "created": True}
        ),
        "package_inputs": ok(package=PACKAGE),
        "create_sas": ok(grant={"grant": "job-1/blob-g.json", "expiresAt": "2026-01-01T13:00:00Z"}),
        "begin_analysis": ok(
            operationLocation="https://cu.example/analyzerResults/op-a", operationId="op-a", attempts=1
        ),
        "monitor_operation": returns(
            {
                "key": "agentic",
                "status": "Succeeded",
                "polls": 3,
                "resultBlob": "job-1/operation-agentic.json",
            }
        ),
        "save_results": ok(resultBlob="job-1/result.json"),
        "cleanup_job": ok(deleted=2),
    }
    return {**default, **overrides}


def test_an_agentic_job_packages_every_document_and_analyses_the_package_once() -> None:
    context = FakeContext(input=job(), answers=answers())

    summary = context.run(run_agentic_job)

    # Ingests and the analyzer in one wave; then one package, one grant, one analysis, one monitor.
    assert [names_of(wave) for wave in context.waves] == [
        ["ingest_input", "ingest_input", "ingest_input", "ensure_analyzer"],
        ["package_inputs"],
        ["create_sas"],
        ["begin_analysis"],
        ["monitor_operation"],
        ["save_results"],
        ["cleanup_job"],
    ]
    first, (package,), (grant,), (begin,), (monitor,), (save,), _ = context.waves
    sources = [*INPUTS, *REFERENCES]
    assert [call.request(steps.INGEST_INPUT) for call in first[:3]] == [
        IngestInputRequest(job_id="job-1", index=i, source=sources[i], packaged=True, api_version=PREVIEW)
        for i in range(3)
    ]
    assert first[3].request(ENSURE_ANALYZER) == EnsureAnalyzerRequest(
        job_id="job-1", analyzer=ANALYZER, polling=POLICY
    )
    # Inputs first, then references: the package's order.
    assert package.request(steps.PACKAGE_INPUTS) == PackageInputsRequest(
        job_id="job-1",
        api_version=PREVIEW,
        parts=[
            PackagePart(name=NAMES[i], role=role, blob=f"job-1/{i}-{NAMES[i]}", content_type=TYPES[i])
            for i, role in enumerate(ROLES)
        ],
    )
    assert grant.request(steps.CREATE_SAS) == CreateSasRequest(job_id="job-1", blob="job-1/package.pdf")
    assert begin.request(steps.BEGIN_ANALYSIS) == BeginAnalysisRequest(
        job_id="job-1",
        key="agentic",
        analyzer_id="contract-check",
        api_version=PREVIEW,
        inputs=[AnalysisInput(grant="job-1/blob-g.json", name="package.pdf")],
        model_deployments={"prebuilt-analyzer-completion": "gpt"},
    )
    assert monitor.instance_id == "job-1:op-agentic"
    assert monitor.request(MONITOR_OPERATION) == MonitorRequest(
        job_id="job-1",
        key="agentic",
        kind="analysis",
        operation_location="https://cu.example/analyzerResults/op-a",
        polling=POLICY,
    )
    # The result document's one entry names every packaged document, in order.
    assert save.request(steps.SAVE_RESULTS) == SaveResultsRequest(
        job_id="job-1",
        analyzer_id="contract-check",
        mode="agentic",
        operations=[OperationRecord(key="agentic", inputs=NAMES, operation_id="op-a", status="Succeeded")],
    )
    assert summary["status"] == "succeeded"
    assert (summary["mode"], summary["apiVersion"]) == ("agentic", PREVIEW)
    assert [(line["name"], line["status"]) for line in summary["inputs"]] == [
        ("invoice.pdf", "succeeded"),
        ("notes.md", "succeeded"),
    ]
    assert [(line["name"], line["operationId"]) for line in summary["references"]] == [
        ("contract.txt", "op-a")
    ]
    assert summary["operations"] == [{"key": "agentic", "operationId": "op-a", "status": "Succeeded"}]
    assert summary["package"]["pages"] == 5
    assert [part["firstPage"] for part in summary["package"]["parts"]] == [2, 4, 5]
    assert summary["resultBlob"] == "job-1/result.json"
    assert "error" not in summary
    assert [status["stage"] for status in context.statuses] == [
        "ingesting",
        "ingested",
        "packaging",
        "analyzing",
        "analyzing",
        "saving",
        "completed",
    ]
    analysing = context.statuses[4]
    assert (analysing["polling"], analysing["package"]) == (["agentic"], {"pages": 5, "size": 5000})
    assert (analysing["total"], analysing["analyzing"], context.statuses[-1]["done"]) == (3, 3, 3)


def test_a_lost_reference_stops_the_job_before_anything_is_packaged() -> None:
    lost = permanent("UnsupportedContentType", "File 'contract.txt' is image/png")
    context = FakeContext(
        input=job(),
        answers=answers(ingest_input=lambda call: lost if call.input["index"] == 2 else ingested(call)),
    )

    summary = context.run(run_agentic_job)

    assert "package_inputs" not in context.names()
    assert "begin_analysis" not in context.names()
    assert summary["status"] == "failed"
    assert summary["error"]["code"] == "InputFailed"
    assert [line["status"] for line in summary["inputs"]] == ["skipped", "skipped"]
    assert summary["references"][0]["status"] == "failed"
    assert summary["references"][0]["error"]["code"] == "UnsupportedContentType"
    assert summary["operations"] == []
    assert context.calls_to("save_results")[0].request(steps.SAVE_RESULTS).operations == []
    assert "cleanup_job" in context.names()


def test_continue_packages_the_documents_that_made_it() -> None:
    lost = permanent("BlobNotFound", "gone")
    context = FakeContext(
        input=job(partialFailure="continue"),
        answers=answers(ingest_input=lambda call: lost if call.input["index"] == 1 else ingested(call)),
    )

    summary = context.run(run_agentic_job)

    (package,) = context.calls_to("package_inputs")
    assert [part.name for part in package.request(steps.PACKAGE_INPUTS).parts] == [
        "invoice.pdf",
        "contract.txt",
    ]
    assert summary["status"] == "succeeded"
    assert [line["status"] for line in summary["inputs"]] == ["succeeded", "failed"]


def test_no_input_made_it_though_references_did() -> None:
    lost = permanent("BlobNotFound", "gone")
    context = FakeContext(
        input=job(partialFailure="continue"),
        answers=answers(ingest_input=lambda call: lost if call.input["index"] < 2 else ingested(call)),
    )

    summary = context.run(run_agentic_job)

    assert summary["error"]["code"] == "NoUsableInputs"
    assert "package_inputs" not in context.names()


def test_a_package_over_the_limits_fails_the_job_before_cu_is_called() -> None:
    too_large = permanent("PackageTooLarge", "The package would have 301 pages; at most 300")
    context = FakeContext(input=job(), answers=answers(package_inputs=too_large))

    summary = context.run(run_agentic_job)

    assert summary["status"] == "failed"
    assert summary["error"] == {
        "code": "PackageTooLarge",
        "message": "The package would have 301 pages; at most 300",
        "transient": False,
    }
    assert "begin_analysis" not in context.names()
    assert "create_sas" not in context.names()
    assert {line["status"] for line in summary["inputs"] + summary["references"]} == {"skipped"}


def test_a_failed_analysis_reports_cu_s_inner_error_for_every_document() -> None:
    failed = returns({"key": "agentic", "status": "Failed", "polls": 2, "error": INNER_FAILURE})
    context = FakeContext(input=job(), answers=answers(monitor_operation=failed))

    summary = context.run(run_agentic_job)

    assert summary["status"] == "failed"
    assert summary["error"] == INNER_FAILURE
    assert {line["status"] for line in summary["inputs"] + summary["references"]} == {"failed"}
    assert summary["inputs"][0]["error"]["innerError"]["code"] == "ContentSourceNotAccessible"
    (record,) = context.calls_to("save_results")[0].request(steps.SAVE_RESULTS).operations
    assert (record.status, record.error) == ("Failed", INNER_FAILURE)
    assert summary["operations"] == [{"key": "agentic", "operationId": "op-a", "status": "Failed"}]


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (
            returns(
                {
                    "ok": False,
                    "analyzerId": "contract-check",
                    "error": {"code": "InvalidDefinition", "message": "no", "transient": False},
                }
            ),
            "InvalidDefinition",
            "Analyzer not ready: no",
        ),
        (
            host_failure("CU is down"),
            "ActivityFailed",
            "Analyzer not ready: Orchestrator function 'ensure_analyzer' failed: CU is down",
        ),
    ],
)
def test_an_analyzer_that_is_not_ready_stops_the_job(reply: Reply, code: str, message: str) -> None:
    context = FakeContext(input=job(), answers=answers(ensure_analyzer=reply))

    summary = context.run(run_agentic_job)

    assert (summary["error"]["code"], summary["error"]["message"]) == (code, message)
    assert "package_inputs" not in context.names()
    assert summary["status"] == "failed"


def test_a_cancel_while_packaging_starts_no_analysis_and_writes_no_result() -> None:
    """The cancel arrives while ``package_inputs`` runs: it is drained, nothing new starts (no grant,
    no analysis), no result document is written, the job cleans up and ends ``canceled``."""
    cancel_at = START + timedelta(seconds=5)
    context = FakeContext(
        input=job(),
        answers=answers(package_inputs=ok(package=PACKAGE, after=10)),
        events={CANCEL_EVENT: (cancel_at, None)},
    )

    summary = context.run(run_agentic_job)

    assert context.names() == ["ingest_input"] * 3 + ["ensure_analyzer", "package_inputs", "cleanup_job"]
    assert summary["status"] == "canceled"
    assert summary["error"]["code"] == CANCELED_CODE
    assert summary["resultBlob"] is None
    assert {fate["status"] for fate in [*summary["inputs"], *summary["references"]]} == {"skipped"}
    assert statuses_of(context, "stage")[-2:] == ["canceling", "canceled"]


def test_a_cancel_during_the_analysis_reports_the_monitor_s_end_and_saves_nothing() -> None:
    """The monitor (told through the same event) ends ``Canceled``; the job reports ``canceled``."""
    context = FakeContext(
        input=job(),
        answers=answers(
            monitor_operation=returns(
                {"key": "agentic", "status": "Canceled", "polls": 1, "error": canceled_error("The job")},
                after=30,
            )
        ),
        events={CANCEL_EVENT: (START + timedelta(seconds=10), None)},
    )

    summary = context.run(run_agentic_job)

    assert "save_results" not in context.names()
    assert context.names()[-1] == "cleanup_job"
    assert summary["status"] == "canceled"
    assert summary["operations"] == [{"key": "agentic", "operationId": "op-a", "status": "Canceled"}]
