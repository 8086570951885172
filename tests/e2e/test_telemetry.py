"""A job's telemetry on the local stack: one trace from the HTTP request to every CU and storage call.

The app runs unchanged on devhost (which plays the host's part of distributed tracing, as the
Functions host and the Python worker do in Azure), with Azurite and the CU emulator. Its spans and
log records are captured in memory with the app's own processors; nothing is exported anywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from core import telemetry_fields as fields
from scripts.azurite import ACCOUNT_KEY
from tests.e2e.conftest import AppStack, sample
from tests.support import kql
from tests.support.azurite import Azurite
from tests.support.telemetry import TelemetryCapture, attributes, everything_recorded

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def telemetry() -> Iterator[TelemetryCapture]:
    with TelemetryCapture.installed().capturing() as capture:
        yield capture


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def of_job(items: list[Any], job_id: str) -> list[Any]:
    return [item for item in items if attributes(item).get(fields.JOB_ID) == job_id]


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """Names of the span's ancestors, nearest first (as far as they were captured)."""
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


async def test_a_jobs_whole_path_is_one_trace_with_its_ids_and_no_secret(
    start_stack: Callable[..., Any], telemetry: TelemetryCapture, azurite: Azurite
) -> None:
    document = sample("invoice-contoso.txt")
    async with start_stack() as stack:
        stack: AppStack  # type: ignore[no-redef]
        job_id = await stack.submit([("files", "invoice.txt", document)])
        status = await stack.wait(job_id)
    assert status["status"] == "succeeded", status
    operation_id = status["summary"]["inputs"][0]["operationId"]

    spans = telemetry.spans()
    by_id = {span.context.span_id: span for span in spans}
    (request,) = [s for s in named(spans, "start_analysis") if s.kind is SpanKind.SERVER]
    trace_id = request.context.trace_id

    # The orchestration continues the request's trace, as Durable distributed tracing does.
    (orchestration,) = named(spans, "orchestration:analysis_job")
    assert orchestration.context.trace_id == trace_id
    assert "start_analysis" in ancestors(orchestration, by_id)

    # Activities: the host's span, and inside it the app's own with the job's ids (the job's one
    # batch runs inside the job's own orchestration).
    for name in ("prepare_inputs", "poll_operations", "save_results"):
        (app_span, *_) = named(spans, f"activity {name}")
        assert app_span.context.trace_id == trace_id, name
        assert ancestors(app_span, by_id)[:2] == [f"activity:{name}", "orchestration:analysis_job"], name
        assert attributes(app_span)[fields.JOB_ID] == job_id
        assert attributes(app_span)[fields.OUTCOME] == "succeeded"
    # prepare_inputs runs a prepare_input step per document, each in its own span with its index.
    (prepare,) = named(spans, "activity prepare_input")
    assert ancestors(prepare, by_id)[0] == "activity prepare_inputs"
    assert attributes(prepare)[fields.INPUT_INDEX] == 0
    # poll_operations runs a get_operation step per operation, each in its own span with its ids.
    polls = named(spans, "activity get_operation")
    assert {ancestors(p, by_id)[0] for p in polls} == {"activity poll_operations"}
    assert {attributes(p)[fields.CU_OPERATION_ID] for p in polls} == {operation_id}
    assert {attributes(p)[fields.INPUT_INDEX] for p in polls} == {0}
    assert attributes(polls[-1])[fields.CU_OPERATION_STATUS] == "Succeeded"
    assert attributes(polls[-1])[fields.CU_PAGES] >= 1

    # Content Understanding calls: one span per call, under the activity that made it.
    (begin,) = named(spans, "ContentUnderstanding begin_analyze")
    assert begin.kind is SpanKind.CLIENT
    assert ancestors(begin, by_id)[0] == "activity prepare_input"
    begun = attributes(begin)
    assert begun[fields.CU_OPERATION_ID] == operation_id
    assert begun["http.response.status_code"] == 202
    assert begun[fields.CU_ATTEMPTS] == 1
    assert begun[fields.DEPENDENCY] == fields.DEPENDENCY_CONTENT_UNDERSTANDING
    assert "?" not in begun["url.full"]
    assert named(spans, "ContentUnderstanding get_operation")

    # Storage calls: the Azure SDK's spans, under the activities, with the job's id stamped on.
    storage_calls = [
        s
        for s in spans
        if s.kind is SpanKind.CLIENT and attributes(s).get("server.port") == azurite.blob_port
    ]
    assert storage_calls
    in_activities = [s for s in storage_calls if any(a.startswith("activity ") for a in ancestors(s, by_id))]
    assert in_activities
    assert all(attributes(s).get(fields.JOB_ID) == job_id for s in in_activities)

    # Everything that names the job is in the request's trace.
    assert {s.context.trace_id for s in of_job(spans, job_id)} == {trace_id}
    job_logs = of_job(telemetry.logs(), job_id)
    assert {record.log_record.trace_id for record in job_logs} == {trace_id}
    events = {attributes(record).get(fields.EVENT): attributes(record) for record in job_logs}
    assert events[fields.JOB_STARTED][fields.JOB_TRIGGER] == "http"
    finished = events[fields.JOB_FINISHED]
    assert finished[fields.JOB_STATUS] == "succeeded"
    assert finished[fields.JOB_INPUTS] == finished[fields.JOB_INPUTS_SUCCEEDED] == 1
    assert finished[fields.JOB_DURATION_SECONDS] >= 0
    ingested = [r for r in job_logs if "ingested" in str(r.log_record.body).lower()]
    assert ingested
    assert all(attributes(r)[fields.INPUT_INDEX] == 0 for r in ingested)

    # No secret and no document content in any span, event or log record.
    recorded = everything_recorded(telemetry)
    for secret in (stack.settings["CONTENT_UNDERSTANDING_KEY"], ACCOUNT_KEY):
        assert secret not in recorded
    for marker in ("sig=", "AccountKey", "SharedAccessSignature", "Ocp-Apim-Subscription-Key"):
        assert marker not in recorded
    line = next(text for text in document.decode().splitlines() if len(text.strip()) > 20)
    assert line.strip() not in recorded


def served_429s(stack: AppStack) -> int:
    return int(stack.emulator.stats()["faultsServed"].get("429", 0))


async def test_throttling_and_an_input_past_the_deadline_are_recorded(
    start_stack: Callable[..., Any], telemetry: TelemetryCapture
) -> None:
    async with start_stack(ANALYSIS_DEADLINE_SECONDS="1.5") as stack:
        stack.emulator.set_faults(hang_input_names={"invoice-litware.md"})
        files = [("files", name, sample(name)) for name in ("invoice-contoso.txt", "invoice-litware.md")]
        job_id = await stack.submit(files)
        # Content Understanding throttles every call for a moment, then recovers.
        stack.emulator.set_faults(rate_429=1.0, retry_after=0.01)
        for _ in range(1000):  # at most 10 s
            if served_429s(stack) >= 2:
                break
            await asyncio.sleep(0.01)
        stack.emulator.set_faults(rate_429=0.0)
        status = await stack.wait(job_id)
    assert status["status"] == "partially_succeeded", status

    cu_calls = [attributes(s) for s in telemetry.spans() if s.name.startswith("ContentUnderstanding ")]
    throttled = [call for call in cu_calls if call.get(fields.CU_THROTTLED)]
    assert throttled
    assert all(call[fields.CU_ATTEMPTS] >= call[fields.CU_THROTTLED] for call in throttled)
    assert sum(call[fields.CU_THROTTLED] for call in throttled) == served_429s(stack)

    records = [attributes(r) for r in of_job(telemetry.logs(), job_id)]
    failed = [r for r in records if r.get(fields.EVENT) == fields.INPUT_FAILED]
    assert [(r[fields.INPUT_INDEX], r[fields.ERROR_CODE]) for r in failed] == [(1, "DeadlineExceeded")]
    finished = next(r for r in records if r.get(fields.EVENT) == fields.JOB_FINISHED)
    assert finished[fields.JOB_STATUS] == "partially_succeeded"
    assert (finished[fields.JOB_INPUTS_SUCCEEDED], finished[fields.JOB_INPUTS_FAILED]) == (1, 1)

    polls = [attributes(s) for s in named(telemetry.spans(), "activity get_operation")]
    stuck = {p[fields.CU_OPERATION_ID] for p in polls if p.get(fields.CU_OPERATION_STATUS) == "Running"}
    done = {p[fields.CU_OPERATION_ID] for p in polls if p.get(fields.CU_OPERATION_STATUS) == "Succeeded"}
    assert len(stuck - done) == 1
    assert len(done) == 1

    # Every attribute a monitoring query (infra/monitoring/*.kql) reads was written by this job.
    recorded: list[Any] = [*telemetry.spans(), *telemetry.logs()]
    written = {key for item in recorded for key in attributes(item)}
    read = set().union(*(query.dimensions for query in kql.all_queries()))
    assert read <= written, read - written
