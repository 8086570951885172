"""ensure_analyzer driven directly: reuse, create, replace, a 409 from a concurrent creator, failed
creation, the wait for someone else's creation."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from core.contracts import activities as steps
from core.contracts.activities import BeginCreateAnalyzerRequest, GetAnalyzerStateRequest
from core.contracts.orchestrations import MONITOR_OPERATION, EnsureAnalyzerRequest, MonitorRequest
from core.contracts.wire import to_wire
from core.jobs import AnalyzerSpec, PollingPolicy, definition_hash
from orchestrators.ensure_analyzer import CREATE_ATTEMPTS, run_ensure_analyzer
from orchestrators.tasks import HostGaveUp
from tests.orchestrators.fake_context import (
    START,
    FakeContext,
    Reply,
    host_failure,
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
FINGERPRINT = definition_hash(SPEC["definition"])
LOCATION = "https://cu.example/analyzerResults/op-1"


def request() -> dict[str, Any]:
    return to_wire(EnsureAnalyzerRequest(job_id="job-1", analyzer=SPEC, polling=POLICY))


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
