"""core.contracts: typed requests and results to and from the plain JSON of orchestration history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from core.contracts import activities, orchestrations
from core.contracts.activities import (
    BeginAnalysisResult,
    CreateSasResult,
    GetOperationRequest,
    IngestInputRequest,
    IssuedGrant,
)
from core.contracts.named import ActivityContract, OrchestratorContract
from core.contracts.orchestrations import MonitorRequest
from core.contracts.wire import ContractError, NonEmptyStr, from_wire, to_wire
from core.jobs import PollingPolicy

POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}


def test_fields_travel_as_camel_case_or_their_wire_name() -> None:
    result = CreateSasResult(grant=IssuedGrant(name="job-1/g.json", expires_at="2026-01-01T13:00:00Z"))

    assert to_wire(result) == {"grant": {"grant": "job-1/g.json", "expiresAt": "2026-01-01T13:00:00Z"}}
    assert from_wire(CreateSasResult, {"ok": True, **to_wire(result)}) == result  # unknown keys are ignored


def test_an_optional_field_left_out_is_its_default_and_none_is_not_written() -> None:
    request = GetOperationRequest(job_id="j", key="0", kind="analysis", operation_location="https://cu/op")

    assert to_wire(request) == {
        "jobId": "j",
        "key": "0",
        "kind": "analysis",
        "operationLocation": "https://cu/op",
    }
    ingest = IngestInputRequest(job_id="j", index=0, source={"url": "https://x/a.pdf"})
    assert "apiVersion" not in to_wire(ingest)
    assert from_wire(IngestInputRequest, {**to_wire(ingest), "apiVersion": None}) == ingest
    assert from_wire(BeginAnalysisResult, {"operationLocation": "l", "operationId": "o"}).attempts == 1


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (None, "the payload must be a JSON object"),
        ([], "the payload must be a JSON object"),
        ({}, "'jobId' is missing"),
        ({"jobId": "", "index": 0, "source": {}}, "'jobId' must not be empty"),
        ({"jobId": 7, "index": 0, "source": {}}, "'jobId' must be a string"),
        ({"jobId": "j", "index": "0", "source": {}}, "'index' must be an integer"),
        ({"jobId": "j", "index": True, "source": {}}, "'index' must be an integer"),
        ({"jobId": "j", "index": 0, "source": "https://x/a.pdf"}, "'source' must be a JSON object"),
        ({"jobId": "j", "index": 0, "source": {}, "packaged": "yes"}, "'packaged' must be true or false"),
    ],
)
def test_a_payload_that_does_not_fit_names_the_field(payload: Any, problem: str) -> None:
    with pytest.raises(ContractError) as raised:
        from_wire(IngestInputRequest, payload)
    assert str(raised.value) == problem


def test_nested_fields_literals_and_typed_dicts_are_checked() -> None:
    with pytest.raises(ContractError, match=r"'parts\[0\].role' must be one of 'input', 'reference'"):
        from_wire(
            activities.PackageInputsRequest,
            {
                "jobId": "j",
                "apiVersion": "v",
                "parts": [{"name": "a", "role": "x", "blob": "j/0-a", "contentType": "text/plain"}],
            },
        )
    with pytest.raises(ContractError, match=r"'grant.expiresAt' is missing"):
        from_wire(CreateSasResult, {"grant": {"grant": "g"}})
    with pytest.raises(ContractError, match="'polling' lacks 'deadlineSeconds'"):
        from_wire(
            MonitorRequest,
            {
                "jobId": "j",
                "key": "0",
                "kind": "analysis",
                "operationLocation": "l",
                "polling": {"initialIntervalSeconds": 1, "maxIntervalSeconds": 2},
            },
        )
    with pytest.raises(ContractError, match=r"'inputs\[0\].name' must not be empty"):
        from_wire(
            activities.BeginAnalysisRequest,
            {
                "jobId": "j",
                "key": "0",
                "analyzerId": "a",
                "apiVersion": "v",
                "modelDeployments": {},
                "inputs": [{"grant": "g", "name": ""}],
            },
        )


def test_numbers_become_floats_where_a_float_is_declared() -> None:
    state = from_wire(activities.OperationState, {"status": "Running", "retryAfterSeconds": 3})
    assert state.retry_after_seconds == 3.0
    assert isinstance(state.retry_after_seconds, float)


@dataclass(frozen=True)
class _Unsupported:
    value: set[str] = field(default_factory=set)


def test_a_type_a_contract_may_not_use_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="unsupported type"):
        from_wire(_Unsupported, {"value": []})


def every_contract() -> list[ActivityContract[Any, Any] | OrchestratorContract[Any, Any]]:
    found = [*vars(activities).values(), *vars(orchestrations).values()]
    return [item for item in found if isinstance(item, ActivityContract | OrchestratorContract)]


def test_every_activity_and_sub_orchestration_has_a_contract_named_once() -> None:
    from core import function_names

    contracts = every_contract()
    declared = {value for key, value in vars(function_names).items() if key.isupper()}
    jobs = {function_names.ANALYSIS_JOB, function_names.AGENTIC_JOB}  # orchestrations taking a JobSpec
    assert sorted(c.name for c in contracts) == sorted(declared - jobs)


# One example of every request and result, as it would travel: each must survive the round trip.
EXAMPLES: dict[type, dict[str, Any]] = {
    activities.IngestInputRequest: {
        "jobId": "j",
        "index": 0,
        "source": {"url": "https://x/a.pdf"},
        "packaged": True,
        "apiVersion": "v",
    },
    activities.IngestInputResult: {
        "input": {
            "index": 0,
            "name": "a.pdf",
            "blob": "j/0-a.pdf",
            "size": 3,
            "contentType": "application/pdf",
            "etag": "e",
            "sha256": "s",
        }
    },
    activities.CreateSasRequest: {"jobId": "j", "blob": "j/package.pdf"},
    activities.CreateSasResult: {"grant": {"grant": "g", "expiresAt": "t"}},
    activities.SaveResultsRequest: {
        "jobId": "j",
        "analyzerId": "a",
        "mode": "agentic",
        "operations": [
            {
                "key": "agentic",
                "inputs": ["a.pdf", "r.md"],
                "operationId": "o",
                "status": "Failed",
                "error": {
                    "code": "InvalidRequest",
                    "message": "Invalid Request. (ContentSourceNotAccessible: m)",
                    "transient": False,
                    "innerError": {"code": "ContentSourceNotAccessible", "message": "m"},
                },
            }
        ],
        "batchRecords": ["j/batch-0.json"],
        "index": False,
        "inputs": [{"index": 0, "name": "a.pdf", "status": "succeeded"}],
    },
    activities.SaveResultsResult: {"resultBlob": None, "summaryBlob": "j/summary.json"},
    activities.PrepareInputsRequest: {
        "jobId": "j",
        "items": [{"index": 2, "source": {"staged": "j/u-a.pdf", "name": "a.pdf"}}],
        "analyze": {"analyzerId": "a", "apiVersion": "v", "modelDeployments": {"m": "d"}},
    },
    activities.PrepareInputsResult: {
        "items": [
            {
                "index": 2,
                "input": {
                    "index": 2,
                    "name": "a.pdf",
                    "blob": "j/2-a.pdf",
                    "size": 3,
                    "contentType": "application/pdf",
                    "etag": "e",
                    "sha256": "s",
                },
                "grant": {"grant": "g", "expiresAt": "t"},
                "started": {"key": "2", "operationLocation": "l", "operationId": "o", "attempts": 1},
            },
            {"index": 3, "error": {"code": "Timeout", "message": "m", "transient": True}},
        ]
    },
    activities.BeginAnalysesRequest: {
        "jobId": "j",
        "analyzerId": "a",
        "apiVersion": "v",
        "items": [{"key": "0", "grant": "g", "name": "a.pdf"}],
        "modelDeployments": {},
        "extraPages": 4,
    },
    activities.BeginAnalysesResult: {
        "started": [{"key": "0", "operationLocation": "l", "operationId": "o", "attempts": 2}],
        "failed": [{"key": "1", "error": {"code": "c", "message": "m", "transient": False}}],
        "deferred": ["2"],
        "retryAt": "2026-01-01T12:00:05.000000Z",
    },
    activities.PollOperationsRequest: {
        "jobId": "j",
        "items": [{"key": "0", "operationLocation": "l"}],
        "extraPages": 0,
    },
    activities.PollOperationsResult: {
        "polled": [
            {"key": "0", "status": "Succeeded", "resultBlob": "r", "pages": 3},
            {"key": "1", "status": "Unknown", "pollError": "GET failed"},
        ],
        "deferred": [],
    },
    activities.SaveBatchRequest: {
        "jobId": "j",
        "batch": 3,
        "inputs": [{"index": 0, "name": "a.pdf", "status": "skipped"}],
        "operations": [
            {"key": "0", "inputs": ["a.pdf"], "operationId": "o", "status": "Succeeded", "resultBlob": "r"}
        ],
    },
    activities.SaveBatchResult: {"recordBlob": "j/batch-3.json"},
    activities.PackageInputsRequest: {
        "jobId": "j",
        "apiVersion": "v",
        "parts": [
            {"name": "a.pdf", "role": "input", "blob": "j/0-a.pdf", "contentType": "application/pdf"},
            {"name": "r.md", "role": "reference", "blob": "j/1-r.md", "contentType": "text/markdown"},
        ],
    },
    activities.PackageInputsResult: {
        "package": {
            "name": "package.pdf",
            "blob": "j/package.pdf",
            "size": 9,
            "pages": 4,
            "sha256": "s",
            "parts": [
                {"name": "a.pdf", "role": "input", "firstPage": 2, "pages": 2},
                {"name": "r.md", "role": "reference", "firstPage": 4, "pages": 1},
            ],
        }
    },
    activities.CleanupJobRequest: {"jobId": "j"},
    activities.CleanupJobResult: {"deleted": 2},
    activities.GetAnalyzerStateRequest: {"analyzerId": "a", "apiVersion": "2025-11-01"},
    activities.AnalyzerState: {"exists": False, "status": None, "definitionHash": None},
    activities.BeginCreateAnalyzerRequest: {
        "analyzerId": "a",
        "apiVersion": "v",
        "definition": {"x": [1]},
        "definitionHash": "h",
        "replace": True,
    },
    activities.BeginCreateAnalyzerResult: {"conflict": True},
    activities.BeginAnalysisRequest: {
        "jobId": "j",
        "key": "0",
        "analyzerId": "a",
        "apiVersion": "v",
        "inputs": [{"grant": "g", "name": "a.pdf"}],
        "modelDeployments": {"m": "d"},
    },
    activities.BeginAnalysisResult: {"operationLocation": "l", "operationId": "o", "attempts": 2},
    activities.GetOperationRequest: {
        "jobId": "j",
        "key": "agentic",
        "kind": "analysis",
        "operationLocation": "l",
    },
    activities.OperationState: {
        "status": "Failed",
        "retryAfterSeconds": None,
        "error": {"code": "c", "message": "m", "transient": False},
    },
    orchestrations.EnsureAnalyzerRequest: {
        "jobId": "j",
        "analyzer": {"analyzerId": "a", "apiVersion": "v", "definition": {}},
        "polling": POLICY,
    },
    orchestrations.EnsureAnalyzerResult: {
        "analyzerId": "a",
        "definitionHash": "h",
        "created": False,
    },
    orchestrations.MonitorRequest: {
        "jobId": "j",
        "key": "0",
        "kind": "analysis",
        "operationLocation": "l",
        "polling": POLICY,
        "deadlineAt": "2026-01-01T12:00:00.000000Z",
        "polls": 40,
    },
    orchestrations.MonitorResult: {"key": "0", "status": "Succeeded", "polls": 3, "resultBlob": "j/op.json"},
    orchestrations.BatchRequest: {
        "jobId": "j",
        "batch": 0,
        "analyzerId": "a",
        "apiVersion": "v",
        "modelDeployments": {},
        "polling": POLICY,
        "documents": [
            {
                "index": 0,
                "name": "a.pdf",
                "status": "pending",
                "source": {"url": "https://x/a.pdf"},
                "attempts": 1,
                "polls": 0,
                "prepareAttempts": 0,
            },
            {
                "index": 1,
                "name": "b.pdf",
                "status": "analyzing",
                "grant": "g",
                "operationId": "o",
                "operationLocation": "l",
                "attempts": 1,
                "polls": 4,
                "nextPollAt": "2026-01-01T12:00:05.000000Z",
                "deadlineAt": "2026-01-01T12:30:00.000000Z",
                "prepareAttempts": 0,
            },
        ],
        "prepareOnly": False,
        "rounds": 60,
        "extraPages": 2,
    },
    orchestrations.BatchResult: {
        "batch": 0,
        "counts": {"total": 2, "ingested": 2, "failed": 0, "done": 2, "polls": 5, "started": 2},
        "recordBlob": "j/batch-0.json",
        "documents": [],
        "canceled": True,
    },
}


@pytest.mark.parametrize("contract", every_contract(), ids=lambda c: c.name)
def test_every_request_and_result_round_trips_as_plain_json(
    contract: ActivityContract[Any, Any] | OrchestratorContract[Any, Any],
) -> None:
    for kind in (contract.request, contract.result):
        wire = EXAMPLES[kind]
        typed = from_wire(kind, wire)
        assert json.loads(json.dumps(to_wire(typed))) == wire


def test_non_empty_strings_are_marked_in_the_type() -> None:
    @dataclass(frozen=True)
    class Named:
        name: NonEmptyStr
        kind: Literal["a"] = "a"

    assert from_wire(Named, {"name": "x"}) == Named("x")
    with pytest.raises(ContractError):
        from_wire(Named, {"name": ""})
