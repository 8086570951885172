"""analysis_job driven directly: ingest, grants and the analyzer, the fan-in under both partial-failure
policies, the analyses and their monitors, saving and clean-up; summaries and custom statuses."""

from __future__ import annotations

from typing import Any

import pytest

from core.contracts import activities as steps
from core.contracts.activities import (
    AnalysisInput,
    BeginAnalysisRequest,
    CleanupJobRequest,
    CreateSasRequest,
    IngestInputRequest,
    OperationRecord,
    SaveResultsRequest,
)
from core.contracts.orchestrations import (
    ENSURE_ANALYZER,
    MONITOR_OPERATION,
    EnsureAnalyzerRequest,
    MonitorRequest,
)
from core.jobs import AnalyzerSpec, InputSource, JobSpec, PollingPolicy, to_iso
from core.layout import input_blob
from orchestrators.analysis_job import run_analysis_job
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
INPUTS: list[InputSource] = [
    {"url": "https://files.example/a.pdf", "name": "a.pdf"},
    {"url": "https://files.example/b.pdf", "name": "b.pdf"},
]
NAMES = ["a.pdf", "b.pdf"]
ANALYZER: AnalyzerSpec = {"analyzerId": "invoices", "apiVersion": "2025-11-01", "definition": {"x": 1}}


def job(**changes: Any) -> JobSpec:
    spec: dict[str, Any] = {
        "jobId": "job-1",
        "analyzerId": "prebuilt-document",
        "mode": "per-document",
        "apiVersion": "2025-11-01",
        "inputs": INPUTS,
        "references": [],
        "partialFailure": "continue",
        "analyzer": None,
        "modelDeployments": {"gpt-4.1": "my-gpt"},
        "polling": POLICY,
        "origin": "http",
    }
    return JobSpec(**{**spec, **changes})  # type: ignore[typeddict-item]


def stored(index: int) -> dict[str, Any]:
    name = NAMES[index]
    return {
        "index": index,
        "name": name,
        "blob": f"job-1/{index}-{name}",
        "size": 1000 + index,
        "contentType": "application/pdf",
        "etag": '"0x1"',
        "sha256": f"sha-{name}",
    }


def ingested(call: Call) -> Reply:
    return ok(input=stored(call.input["index"]))


def granted(call: Call) -> Reply:
    return ok(grant={"grant": f"grant:{call.input['blob']}", "expiresAt": "2026-01-01T13:00:00Z"})


def begun(call: Call) -> Reply:
    key = call.input["key"]
    return ok(
        operationLocation=f"https://cu.example/operations/op-{key}", operationId=f"op-{key}", attempts=1
    )


def succeeded(call: Call) -> Reply:
    key = call.input["key"]
    return returns(
        {"key": key, "status": "Succeeded", "polls": 2, "resultBlob": f"job-1/operation-{key}.json"}
    )


def answers(**overrides: Any) -> dict[str, Any]:
    default = {
        "ingest_input": ingested,
        "create_sas": granted,
        "begin_analysis": begun,
        "monitor_operation": succeeded,
        "save_results": ok(resultBlob="job-1/result.json"),
        "cleanup_job": ok(deleted=4),
    }
    return {**default, **overrides}


def fate(index: int, **changes: Any) -> dict[str, Any]:
    """The summary line of an input that went all the way."""
    item = stored(index)
    line = {
        "index": index,
        "name": item["name"],
        "status": "succeeded",
        "blob": item["blob"],
        "size": item["size"],
        "contentType": item["contentType"],
        "sha256": item["sha256"],
        "operationId": f"op-{index}",
    }
    return {**line, **changes}


def error_info(code: str, message: str, *, transient: bool = False) -> dict[str, Any]:
    return {"code": code, "message": message, "transient": transient}


def by_index(reply_for: dict[int, Reply], otherwise: Any) -> Any:
    """An answer that differs for some inputs (by the request's ``index``)."""
    return lambda call: reply_for.get(call.input["index"]) or otherwise(call)


def test_a_per_document_job_runs_every_stage() -> None:
    context = FakeContext(input=job(), answers=answers())

    summary = context.run(run_analysis_job)

    assert summary == {
        "jobId": "job-1",
        "status": "succeeded",
        "analyzerId": "prebuilt-document",
        "mode": "per-document",
        "apiVersion": "2025-11-01",
        "inputs": [fate(0), fate(1)],
        "operations": [
            {"key": "0", "operationId": "op-0", "status": "Succeeded"},
            {"key": "1", "operationId": "op-1", "status": "Succeeded"},
        ],
        "resultBlob": "job-1/result.json",
        "startedAt": to_iso(START),
        "finishedAt": to_iso(START),
    }
    # Each group is awaited in turn (a task is scheduled when yielded): ingests, then grants.
    assert [names_of(wave) for wave in context.waves] == [
        ["ingest_input", "ingest_input"],
        ["create_sas", "create_sas"],
        ["begin_analysis", "begin_analysis"],
        ["monitor_operation", "monitor_operation"],
        ["save_results"],
        ["cleanup_job"],
    ]
    ingests, grants, analyses, monitors, (save,), (cleanup,) = context.waves
    assert [call.request(steps.INGEST_INPUT) for call in ingests] == [
        IngestInputRequest(job_id="job-1", index=i, source=INPUTS[i]) for i in range(2)
    ]
    assert [call.request(steps.CREATE_SAS) for call in grants] == [
        CreateSasRequest(job_id="job-1", blob=input_blob("job-1", i, NAMES[i]).name) for i in range(2)
    ]
    assert analyses[0].request(steps.BEGIN_ANALYSIS) == BeginAnalysisRequest(
        job_id="job-1",
        key="0",
        analyzer_id="prebuilt-document",
        api_version="2025-11-01",
        inputs=[AnalysisInput(grant=f"grant:{input_blob('job-1', 0, NAMES[0]).name}", name="a.pdf")],
        model_deployments={"gpt-4.1": "my-gpt"},
    )
    assert monitors[1].request(MONITOR_OPERATION) == MonitorRequest(
        job_id="job-1",
        key="1",
        kind="analysis",
        operation_location="https://cu.example/operations/op-1",
        polling=POLICY,
    )
    assert [call.instance_id for call in monitors] == ["job-1:op-0", "job-1:op-1"]
    assert all(call.with_retry for call in context.calls if call.kind == "activity")
    assert save.request(steps.SAVE_RESULTS) == SaveResultsRequest(
        job_id="job-1",
        analyzer_id="prebuilt-document",
        mode="per-document",
        operations=[
            OperationRecord(
                key=str(i), inputs=[NAMES[i]], operation_id=f"op-{i}", status="Succeeded",
                result_blob=f"job-1/operation-{i}.json",
            )
            for i in range(2)
        ],
    )  # fmt: skip
    assert cleanup.request(steps.CLEANUP_JOB) == CleanupJobRequest("job-1")
    assert context.statuses == [
        status("ingesting"),
        status("ingested", ingested=2),
        status("analyzing", ingested=2, analyzing=2),
        status("analyzing", ingested=2, analyzing=2, polling=["0", "1"]),
        status("analyzing", ingested=2, analyzing=1, done=1, polling=["1"]),
        status("saving", ingested=2, done=2),
        status("completed", ingested=2, done=2),
    ]


def status(stage: str, *, polling: list[str] | None = None, **counts: int) -> dict[str, Any]:
    line: dict[str, Any] = {
        "stage": stage,
        "mode": "per-document",
        "analyzerId": "prebuilt-document",
        "total": 2,
        "ingested": 0,
        "failed": 0,
        "analyzing": 0,
        "done": 0,
        **counts,
    }
    if polling:
        line["polling"] = polling
    return line


def test_operations_are_recorded_as_their_monitors_finish() -> None:
    later = {"0": 5.0, "1": 1.0}
    context = FakeContext(
        input=job(),
        answers=answers(
            monitor_operation=lambda call: Reply(value=succeeded(call).value, after=later[call.input["key"]])
        ),
    )

    summary = context.run(run_analysis_job)

    assert [line.get("polling") for line in context.statuses[3:5]] == [["0", "1"], ["0"]]
    assert summary["status"] == "succeeded"
    assert summary["finishedAt"] == to_iso(START.replace(second=5))


def test_the_analyzer_is_ensured_after_the_inputs() -> None:
    ensured = returns({"ok": True, "analyzerId": "invoices", "definitionHash": "h", "created": True})
    context = FakeContext(
        input=job(analyzer=ANALYZER, analyzerId="invoices"), answers=answers(ensure_analyzer=ensured)
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "succeeded"
    assert [names_of(wave) for wave in context.waves][:3] == [
        ["ingest_input", "ingest_input"],
        ["create_sas", "create_sas"],
        ["ensure_analyzer"],
    ]
    assert context.waves[2][0].request(ENSURE_ANALYZER) == EnsureAnalyzerRequest(
        job_id="job-1", analyzer=ANALYZER, polling=POLICY
    )
    assert context.statuses[1]["stage"] == "checking analyzer"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            returns(
                {"ok": False, "analyzerId": "invoices", "error": error_info("AnalyzerConflict", "taken")}
            ),
            error_info("AnalyzerConflict", "Analyzer not ready: taken"),
        ),
        (
            host_failure("storage was down"),
            error_info(
                "ActivityFailed",
                "Analyzer not ready: Orchestrator function 'ensure_analyzer' failed: storage was down",
                transient=True,
            ),
        ),
    ],
)
def test_an_analyzer_that_is_not_ready_stops_the_job(reply: Reply, error: dict[str, Any]) -> None:
    context = FakeContext(
        input=job(analyzer=ANALYZER, analyzerId="invoices"), answers=answers(ensure_analyzer=reply)
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"] == error
    assert [line["status"] for line in summary["inputs"]] == ["skipped", "skipped"]
    assert summary["operations"] == []
    assert "begin_analysis" not in context.names()
    # Every input still has its line in the result index, as never analysed.
    assert context.calls_to("save_results")[0].input["operations"] == [
        {"key": "0", "inputs": ["a.pdf"], "operationId": None, "status": "Skipped"},
        {"key": "1", "inputs": ["b.pdf"], "operationId": None, "status": "Skipped"},
    ]
    assert context.statuses[-1]["stage"] == "failed"


def test_continue_goes_on_with_the_inputs_that_made_it() -> None:
    refused = permanent("UrlNotFound", "URL https://files.example/b.pdf answered HTTP 404")
    context = FakeContext(input=job(), answers=answers(ingest_input=by_index({1: refused}, ingested)))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "partially_succeeded"
    assert summary["inputs"] == [
        fate(0),
        {
            "index": 1,
            "name": "b.pdf",
            "status": "failed",
            "error": {
                "code": "UrlNotFound",
                "message": "URL https://files.example/b.pdf answered HTTP 404",
                "transient": False,
            },
        },
    ]
    assert [call.input["key"] for call in context.calls_to("begin_analysis")] == ["0"]
    assert context.statuses[1] == status("ingested", ingested=1, failed=1)


def test_fail_stops_at_a_lost_input() -> None:
    context = FakeContext(
        input=job(partialFailure="fail"),
        answers=answers(ingest_input=by_index({0: host_failure("TransientError: storage busy")}, ingested)),
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"] == {
        "code": "InputFailed",
        "message": "1 of 2 inputs could not be prepared and partialFailure is 'fail'",
        "transient": False,
    }
    assert summary["inputs"][0]["error"] == {
        "code": "ActivityFailed",
        "message": "Activity function 'ingest_input' failed: TransientError: storage busy",
        "transient": True,
    }
    assert [line["status"] for line in summary["inputs"]] == ["failed", "skipped"]
    assert "begin_analysis" not in context.names()
    assert context.names()[-2:] == ["save_results", "cleanup_job"]


def test_fail_fails_a_job_whose_analyses_partly_failed() -> None:
    failed = returns({"key": "1", "status": "Failed", "polls": 1})
    context = FakeContext(
        input=job(partialFailure="fail"),
        answers=answers(
            monitor_operation=lambda call: failed if call.input["key"] == "1" else succeeded(call)
        ),
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert "error" not in summary
    assert [line["status"] for line in summary["inputs"]] == ["succeeded", "failed"]


def test_an_input_without_a_grant_fails() -> None:
    context = FakeContext(
        input=job(),
        answers=answers(
            create_sas=lambda call: (
                permanent("GrantNotAllowed", "no") if "1-" in call.input["blob"] else granted(call)
            )
        ),
    )

    summary = context.run(run_analysis_job)

    assert summary["inputs"][1]["status"] == "failed"
    assert summary["inputs"][1]["error"] == {"code": "GrantNotAllowed", "message": "no", "transient": False}
    assert summary["status"] == "partially_succeeded"


def test_an_input_with_an_unusable_name_gets_no_grant() -> None:
    unusable: InputSource = {"staged": "staging/x", "name": "../../etc/passwd"}
    invalid = permanent("InvalidName", "File name '../../etc/passwd' contains a path")
    context = FakeContext(
        input=job(inputs=[INPUTS[0], unusable]),
        answers=answers(ingest_input=by_index({1: invalid}, ingested)),
    )

    summary = context.run(run_analysis_job)

    assert len(context.calls_to("create_sas")) == 1
    assert summary["inputs"][1]["name"] == "input-1"
    assert summary["inputs"][1]["error"]["code"] == "InvalidName"


def test_no_usable_input_ends_the_job() -> None:
    context = FakeContext(input=job(), answers=answers(ingest_input=permanent("UrlNotFound", "404")))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"] == {
        "code": "NoUsableInputs",
        "message": "No input could be prepared",
        "transient": False,
    }


def test_analyses_that_could_not_start_or_were_submitted_again_are_reported() -> None:
    again = ok(operationLocation="https://cu.example/operations/op-0", operationId="op-0", attempts=2)
    refused = permanent("AnalysisNotRecorded", "attempted 3 times")
    context = FakeContext(
        input=job(),
        answers=answers(begin_analysis=lambda call: again if call.input["key"] == "0" else refused),
    )

    summary = context.run(run_analysis_job)

    assert summary["inputs"][0] == fate(0, analysisAttempts=2)
    assert summary["inputs"][1]["error"] == {
        "code": "AnalysisNotRecorded",
        "message": "attempted 3 times",
        "transient": False,
    }
    assert summary["operations"] == [
        {"key": "0", "operationId": "op-0", "status": "Succeeded"},
        {"key": "1", "status": "Failed"},
    ]
    assert [call.input["key"] for call in context.calls_to("monitor_operation")] == ["0"]
    assert context.calls_to("save_results")[0].input["operations"][1] == {
        "key": "1",
        "inputs": ["b.pdf"],
        "operationId": None,
        "status": "Failed",
        "error": {"code": "AnalysisNotRecorded", "message": "attempted 3 times", "transient": False},
    }


@pytest.mark.parametrize(
    ("reply", "operation_status", "error"),
    [
        (
            returns(
                {"key": "1", "status": "Failed", "polls": 3, "error": error_info("InvalidContent", "corrupt")}
            ),
            "Failed",
            error_info("InvalidContent", "corrupt"),
        ),
        (
            returns({"key": "1", "status": "Canceled", "polls": 3}),
            "Canceled",
            error_info("OperationCanceled", "The analysis operation ended Canceled"),
        ),
        (
            host_failure("the monitor crashed"),
            "Failed",
            error_info(
                "ActivityFailed",
                "Orchestrator function 'monitor_operation' failed: the monitor crashed",
                transient=True,
            ),
        ),
    ],
)
def test_an_operation_that_did_not_succeed_fails_its_inputs(
    reply: Reply, operation_status: str, error: dict[str, Any]
) -> None:
    context = FakeContext(
        input=job(),
        answers=answers(
            monitor_operation=lambda call: reply if call.input["key"] == "1" else succeeded(call)
        ),
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "partially_succeeded"
    assert summary["inputs"][1]["status"] == "failed"
    assert summary["inputs"][1]["error"] == error
    assert summary["operations"][1] == {"key": "1", "operationId": "op-1", "status": operation_status}


def test_a_result_document_that_cannot_be_written_leaves_no_result_blob() -> None:
    context = FakeContext(input=job(), answers=answers(save_results=permanent("InvalidKey", "bad key")))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "succeeded"
    assert summary["resultBlob"] is None
    assert context.names()[-1] == "cleanup_job"


def test_saving_that_the_host_gave_up_on_fails_the_orchestration() -> None:
    context = FakeContext(
        input=job(), answers=answers(save_results=host_failure("TransientError: storage down"))
    )

    with pytest.raises(HostGaveUp, match="storage down"):
        context.run(run_analysis_job)
    assert "cleanup_job" not in context.names()
