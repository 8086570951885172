"""The app's telemetry pieces, each at its edge: setup, job context, activity and CU call spans.

Spans and log records are captured in memory (tests/support/telemetry.py); Content Understanding
answers through ``httpx.MockTransport``. The whole path on the local stack is in
tests/e2e/test_telemetry.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from content_understanding import AnalyzeInput, ContentUnderstandingClient
from core import telemetry_fields as fields
from core.errors import TransientError
from telemetry.activity import activity_span
from telemetry.context import JobContext, current_attributes, from_payload, job_scope
from telemetry.setup import configure_telemetry, credential_from
from tests.support.telemetry import TelemetryCapture, attributes, everything_recorded

ENDPOINT = "https://cu.example.cognitiveservices.azure.com"
KEY = "secret-cu-key-0123456789"


@pytest.fixture
def capture() -> Iterator[TelemetryCapture]:
    with TelemetryCapture.installed().capturing() as captured:
        yield captured


def test_without_a_connection_string_nothing_is_configured() -> None:
    provider = trace.get_tracer_provider()
    assert configure_telemetry({}) is False
    assert configure_telemetry({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is False
    assert trace.get_tracer_provider() is provider


def test_the_authentication_string_names_the_managed_identity() -> None:
    assert credential_from("") is None
    assert credential_from("Authorization=Key") is None
    assert isinstance(credential_from("Authorization=AAD"), ManagedIdentityCredential)
    assert isinstance(credential_from("ClientId=0000;Authorization=AAD"), ManagedIdentityCredential)


def test_the_job_context_comes_from_an_activity_payload() -> None:
    context = from_payload(
        {
            "jobId": "job-1",
            "index": 3,
            "operationLocation": "https://cu.example/contentunderstanding/analyzerResults/op-9?api-version=x",
        }
    )
    assert context == JobContext("job-1", 3, "op-9")
    assert from_payload({"jobId": "", "index": True}) == JobContext()
    assert from_payload("not a payload") == JobContext()
    with job_scope(context):
        assert current_attributes() == {
            fields.JOB_ID: "job-1",
            fields.INPUT_INDEX: 3,
            fields.CU_OPERATION_ID: "op-9",
        }
    assert current_attributes() == {}


async def test_an_activity_span_records_its_outcome(capture: TelemetryCapture) -> None:
    logger = logging.getLogger("tests.telemetry")
    with activity_span("ingest_input", {"jobId": "job-1", "index": 0}) as span:
        logger.info("working")
        logger.info("a record that names its own job", extra={fields.JOB_ID: "job-other"})
        span.finished({"ok": False, "error": {"code": "EmptyInput", "message": "empty"}})
    with pytest.raises(TransientError), activity_span("create_sas", {"jobId": "job-1"}):
        raise TransientError("storage is busy", code="StorageBusy")
    with activity_span("save_results", {"jobId": "job-1"}) as span:
        span.finished({"ok": True})

    failed, raised, succeeded = capture.spans()
    assert failed.name == "activity ingest_input"
    assert attributes(failed) == {
        fields.DEPENDENCY: fields.DEPENDENCY_ACTIVITY,
        fields.ACTIVITY: "ingest_input",
        fields.JOB_ID: "job-1",
        fields.INPUT_INDEX: 0,
        fields.OUTCOME: "failed",
        fields.ERROR_CODE: "EmptyInput",
    }
    assert not failed.status.is_ok
    assert attributes(raised)[fields.OUTCOME] == "error"
    assert attributes(raised)[fields.ERROR_CODE] == "StorageBusy"
    assert not raised.events  # no exception message copied into telemetry
    assert attributes(succeeded)[fields.OUTCOME] == "succeeded"
    records = {record.log_record.body: attributes(record) for record in capture.logs()}
    assert records["working"][fields.JOB_ID] == "job-1"
    assert records["working"][fields.INPUT_INDEX] == 0
    assert records["a record that names its own job"][fields.JOB_ID] == "job-other"


class Script:
    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(script: Script) -> ContentUnderstandingClient:
    async def no_sleep(seconds: float) -> None:
        return None

    return ContentUnderstandingClient(
        ENDPOINT, key=KEY, transport=httpx.MockTransport(script), sleep=no_sleep
    )


async def test_a_cu_call_is_one_span_with_its_attempts_and_429s(capture: TelemetryCapture) -> None:
    location = f"{ENDPOINT}/contentunderstanding/analyzerResults/op-42?api-version=2025-11-01"
    script = Script(
        httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"code": "TooManyRequests"}}),
        httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"code": "TooManyRequests"}}),
        httpx.Response(202, headers={"Operation-Location": location}, json={"id": "op-42"}),
    )
    inputs = [AnalyzeInput(url="https://st.blob.core.windows.net/c/a.pdf?sv=1&sig=SECRETSIG", name="a.pdf")]
    async with client(script) as cu:
        with job_scope(JobContext("job-1", 0)):
            started = await cu.begin_analyze("prebuilt-document", inputs)
            assert current_attributes()[fields.CU_OPERATION_ID] == "op-42"  # later records carry it
    assert started.operation_id == "op-42"

    (span,) = capture.spans()
    assert span.name == "ContentUnderstanding begin_analyze"
    assert span.kind is SpanKind.CLIENT
    recorded = attributes(span)
    assert recorded[fields.CU_ATTEMPTS] == 3
    assert recorded[fields.CU_THROTTLED] == 2
    assert recorded["http.response.status_code"] == 202
    assert recorded[fields.CU_OPERATION_ID] == "op-42"
    assert recorded[fields.CU_ANALYZER_ID] == "prebuilt-document"
    assert recorded[fields.JOB_ID] == "job-1"
    assert recorded["url.full"] == f"{ENDPOINT}/contentunderstanding/analyzers/prebuilt-document:analyze"
    assert span.status.is_ok
    text = everything_recorded(capture)
    assert KEY not in text
    assert "SECRETSIG" not in text
    assert "a.pdf" not in text  # the request body is never recorded


async def test_a_failed_cu_call_and_a_finished_analysis(capture: TelemetryCapture) -> None:
    location = f"{ENDPOINT}/contentunderstanding/analyzerResults/op-7"
    result: dict[str, Any] = {
        "id": "op-7",
        "status": "Succeeded",
        "result": {"contents": [{"kind": "document", "startPageNumber": 1, "endPageNumber": 3}]},
    }
    script = Script(
        httpx.ConnectError("refused"),
        httpx.Response(200, json=result),
        httpx.Response(404, json={"error": {"code": "NotFound", "message": "no such operation"}}),
    )
    tracer = trace.get_tracer("tests")
    async with client(script) as cu:
        with tracer.start_as_current_span("activity get_operation") as poll:
            status = await cu.get_operation(location)
        assert status.status == "Succeeded"
        with pytest.raises(Exception, match="404"):
            await cu.get_operation(location)

    call, activity, missing = capture.spans()
    assert attributes(call)[fields.CU_ATTEMPTS] == 2  # a connection error, then the answer
    assert attributes(call)[fields.CU_OPERATION] == "get_operation"
    assert attributes(call)[fields.CU_OPERATION_ID] == "op-7"
    assert attributes(activity)[fields.CU_OPERATION_STATUS] == "Succeeded"
    assert attributes(activity)[fields.CU_PAGES] == 3
    assert activity.context.span_id == poll.get_span_context().span_id
    assert attributes(missing)["http.response.status_code"] == 404
    assert attributes(missing)["error.type"] == "404"
    assert not missing.status.is_ok
