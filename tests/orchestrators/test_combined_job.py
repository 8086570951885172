"""The combined job (``orchestrators/combined_job.py``), driven through analysis_job: its stages as
before the per-document job moved to batches (combined mode is being replaced; kept working)."""

from __future__ import annotations

from typing import Any

from core.contracts import activities as steps
from core.jobs import AnalyzerSpec, InputSource, JobSpec, PollingPolicy
from orchestrators.analysis_job import run_analysis_job
from tests.orchestrators.fake_context import (
    Call,
    FakeContext,
    Reply,
    host_failure,
    ok,
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


def test_fail_stops_at_a_lost_input() -> None:
    context = FakeContext(
        input=job(mode="combined", partialFailure="fail"),
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


def test_a_combined_job_analyses_every_input_in_one_operation() -> None:
    context = FakeContext(input=job(mode="combined", partialFailure="fail"), answers=answers())

    summary = context.run(run_analysis_job)

    assert all(call.input["proMode"] is True for call in context.calls_to("ingest_input"))
    (analysis,) = context.calls_to("begin_analysis")
    assert analysis.request(steps.BEGIN_ANALYSIS).key == "combined"
    assert [item.name for item in analysis.request(steps.BEGIN_ANALYSIS).inputs] == NAMES
    assert [call.instance_id for call in context.calls_to("monitor_operation")] == ["job-1:op-combined"]
    assert summary["operations"] == [{"key": "combined", "operationId": "op-combined", "status": "Succeeded"}]
    assert [line["operationId"] for line in summary["inputs"]] == ["op-combined", "op-combined"]
