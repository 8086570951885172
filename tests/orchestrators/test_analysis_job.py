"""analysis_job driven directly for per-document jobs: batches, the one-wave stage 1 when the analyzer
or the ``fail`` policy needs every input first, the summary, bounded custom statuses, the cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from core.cancellation import CANCEL_EVENT
from core.contracts import activities as steps
from core.contracts.orchestrations import ANALYSIS_BATCH, ENSURE_ANALYZER
from core.jobs import AnalyzerSpec, InputSource, JobSpec, PollingPolicy
from orchestrators.analysis_job import run_analysis_job
from orchestrators.tasks import HostGaveUp
from tests.orchestrators.fake_context import (
    START,
    Call,
    FakeContext,
    Reply,
    host_failure,
    ok,
    permanent,
    returns,
)
from tests.orchestrators.test_analysis_batch import each_item

POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}
ANALYZER: AnalyzerSpec = {"analyzerId": "invoices", "apiVersion": "2025-11-01", "definition": {"x": 1}}


def inputs(count: int) -> list[InputSource]:
    return [{"url": f"https://files.example/{n}.pdf", "name": f"{n}.pdf"} for n in range(count)]


def job(count: int = 5, **changes: Any) -> JobSpec:
    spec: dict[str, Any] = {
        "jobId": "job-1",
        "analyzerId": "prebuilt-document",
        "mode": "per-document",
        "apiVersion": "2025-11-01",
        "inputs": inputs(count),
        "references": [],
        "partialFailure": "continue",
        "analyzer": None,
        "modelDeployments": {"gpt-4.1": "my-gpt"},
        "polling": POLICY,
        "origin": "http",
        "batchSize": 2,
    }
    return JobSpec(**{**spec, **changes})  # type: ignore[typeddict-item]


def stored(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "name": f"{index}.pdf",
        "blob": f"job-1/{index}-{index}.pdf",
        "size": 100,
        "contentType": "application/pdf",
        "etag": '"e"',
        "sha256": "s",
    }


def batch_done(call: Call, *, failed: int = 0) -> Reply:
    """An analysis batch that ran all its documents (the last ``failed`` of them failed)."""
    request = call.request(ANALYSIS_BATCH)
    total = len(request.documents)
    counts = {"total": total, "ingested": total, "failed": failed, "done": total - failed, "polls": total}
    counts["started"] = total
    return returns(
        {"batch": request.batch, "counts": counts, "recordBlob": f"job-1/batch-{request.batch}.json"}
    )


def prepared_batch(lost: frozenset[int] = frozenset()) -> Callable[[Call], Reply]:
    """A prepare-only batch: its documents prepared, but those in ``lost``."""

    def answer(call: Call) -> Reply:
        request = call.request(ANALYSIS_BATCH)
        documents = []
        for document in request.documents:
            if document.index in lost:
                error = {"code": "NotFound", "message": "gone", "transient": False}
                documents.append(
                    {"index": document.index, "name": document.name, "status": "failed", "error": error}
                )
            else:
                documents.append(
                    {
                        "index": document.index,
                        "name": document.name,
                        "status": "prepared",
                        "stored": stored(document.index),
                        "grant": f"job-1/g{document.index}.json",
                    }
                )
        failed = sum(1 for d in documents if d["status"] == "failed")
        counts = {"total": len(documents), "ingested": len(documents) - failed, "failed": failed}
        return returns({"batch": request.batch, "counts": counts, "documents": documents})

    return answer


def batches(call: Call) -> Reply:
    request = call.request(ANALYSIS_BATCH)
    return prepared_batch()(call) if request.prepare_only else batch_done(call)


def answers(**overrides: Any) -> dict[str, Any]:
    default = {
        "analysis_batch": batches,
        "ensure_analyzer": returns(
            {"ok": True, "analyzerId": "invoices", "definitionHash": "h", "created": False}
        ),
        "save_results": ok(resultBlob="job-1/result.json", summaryBlob="job-1/summary.json"),
        "cleanup_job": ok(deleted=4),
    }
    return {**default, **overrides}


def test_a_job_runs_its_documents_in_batches_all_started_at_once() -> None:
    context = FakeContext(input=job(5), answers=answers())

    summary = context.run(run_analysis_job)

    (wave, *rest) = context.waves
    assert [call.instance_id for call in wave] == [f"job-1:batch-{n}" for n in range(3)]
    sizes = [len(call.request(ANALYSIS_BATCH).documents) for call in wave]
    assert sizes == [2, 2, 1]
    first = wave[0].request(ANALYSIS_BATCH)
    assert [(d.index, d.name, d.status) for d in first.documents] == [
        (0, "0.pdf", "pending"),
        (1, "1.pdf", "pending"),
    ]
    assert first.documents[0].source == inputs(5)[0]
    assert first.prepare_only is False
    assert [[call.name for call in calls] for calls in rest] == [["save_results", "cleanup_job"]]
    save = context.calls_to("save_results")[0].request(steps.SAVE_RESULTS)
    assert save.batch_records == [f"job-1/batch-{n}.json" for n in range(3)]
    assert summary["status"] == "succeeded"
    assert summary["counts"] == {"total": 5, "succeeded": 5, "failed": 0, "skipped": 0}
    assert summary["summaryBlob"] == "job-1/summary.json"
    assert summary["resultBlob"] == "job-1/result.json"
    assert "inputs" not in summary  # in the summary blob: the output stays small whatever the size


def test_the_custom_status_stays_small_whatever_the_size() -> None:
    context = FakeContext(input=job(1000, batchSize=50), answers=answers())

    context.run(run_analysis_job)

    assert context.statuses[0] == {
        "stage": "analyzing",
        "mode": "per-document",
        "analyzerId": "prebuilt-document",
        "total": 1000,
        "batches": 20,
        "batchPhase": "batch",
    }
    assert context.statuses[-1]["done"] == 1000
    assert max(len(str(status)) for status in context.statuses) < 300


def test_stage_one_is_one_wave_when_an_analyzer_must_be_ensured() -> None:
    context = FakeContext(input=job(3, analyzer=ANALYZER), answers=answers())

    summary = context.run(run_analysis_job)

    (wave, analyse, *_) = context.waves
    assert [call.name for call in wave] == ["ensure_analyzer", "analysis_batch", "analysis_batch"]
    assert wave[0].request(ENSURE_ANALYZER).analyzer == ANALYZER
    assert [call.instance_id for call in wave[1:]] == ["job-1:prepare-0", "job-1:prepare-1"]
    assert all(call.request(ANALYSIS_BATCH).prepare_only for call in wave[1:])
    # Then the analyses, on the prepared documents.
    assert [call.instance_id for call in analyse] == ["job-1:batch-0", "job-1:batch-1"]
    documents = analyse[0].request(ANALYSIS_BATCH).documents
    assert [(d.status, d.grant) for d in documents] == [
        ("prepared", "job-1/g0.json"),
        ("prepared", "job-1/g1.json"),
    ]
    assert summary["status"] == "succeeded"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (returns({"ok": False, "analyzerId": "invoices", "error": {"code": "Bad", "message": "no"}}), "Bad"),
        (host_failure("boom"), "ActivityFailed"),
    ],
)
def test_an_analyzer_that_is_not_ready_skips_every_analysis(reply: Reply, code: str) -> None:
    context = FakeContext(input=job(3, analyzer=ANALYZER), answers=answers(ensure_analyzer=reply))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"]["code"] == code
    assert summary["error"]["message"].startswith("Analyzer not ready: ")
    analyse = [c for c in context.calls_to("analysis_batch") if not c.request(ANALYSIS_BATCH).prepare_only]
    statuses = [d.status for call in analyse for d in call.request(ANALYSIS_BATCH).documents]
    assert statuses == ["skipped"] * 3  # the batches only record every input's fate


def test_fail_policy_skips_every_analysis_when_an_input_is_lost() -> None:
    context = FakeContext(
        input=job(3, partialFailure="fail"), answers=answers(analysis_batch=_prepare_or_done(lost={1}))
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"] == {
        "code": "InputFailed",
        "message": "1 of 3 inputs could not be prepared and partialFailure is 'fail'",
        "transient": False,
    }
    analyse = [c for c in context.calls_to("analysis_batch") if not c.request(ANALYSIS_BATCH).prepare_only]
    statuses = [d.status for call in analyse for d in call.request(ANALYSIS_BATCH).documents]
    assert statuses == ["skipped", "failed", "skipped"]


def test_fail_policy_fails_a_job_whose_analyses_partly_failed() -> None:
    def answer(call: Call) -> Reply:
        if call.request(ANALYSIS_BATCH).prepare_only:
            return prepared_batch()(call)
        return batch_done(call, failed=1)

    context = FakeContext(input=job(3, partialFailure="fail"), answers=answers(analysis_batch=answer))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert "error" not in summary


def test_continue_reports_a_partial_success() -> None:
    context = FakeContext(
        input=job(3), answers=answers(analysis_batch=lambda call: batch_done(call, failed=1))
    )

    summary = context.run(run_analysis_job)

    assert summary["status"] == "partially_succeeded"
    assert summary["counts"] == {"total": 3, "succeeded": 1, "failed": 2, "skipped": 0}


def test_no_input_that_could_be_prepared_ends_the_job_with_a_reason() -> None:
    def nothing_started(call: Call) -> Reply:
        request = call.request(ANALYSIS_BATCH)
        total = len(request.documents)
        counts = {"total": total, "ingested": 0, "failed": total, "done": 0, "started": 0}
        return returns({"batch": request.batch, "counts": counts, "recordBlob": "job-1/b.json"})

    context = FakeContext(input=job(3), answers=answers(analysis_batch=nothing_started))

    summary = context.run(run_analysis_job)

    assert summary["status"] == "failed"
    assert summary["error"]["code"] == "NoUsableInputs"


def test_a_batch_that_failed_fails_the_job() -> None:
    context = FakeContext(input=job(3), answers=answers(analysis_batch=host_failure("storage down")))

    with pytest.raises(HostGaveUp, match="storage down"):
        context.run(run_analysis_job)


def test_a_result_document_that_cannot_be_written_leaves_no_result_blob() -> None:
    context = FakeContext(input=job(3), answers=answers(save_results=permanent("Broken", "no")))

    summary = context.run(run_analysis_job)

    assert summary["resultBlob"] is None
    assert summary["summaryBlob"] is None
    assert context.names()[-1] == "cleanup_job"


def _prepare_or_done(lost: set[int]) -> Any:
    def answer(call: Call) -> Reply:
        if call.request(ANALYSIS_BATCH).prepare_only:
            return prepared_batch(frozenset(lost))(call)
        return batch_done(call)

    return answer


def test_a_job_of_one_batch_runs_it_itself() -> None:
    def prepared(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        started = {
            "key": str(index),
            "operationLocation": f"https://cu/op/{index}",
            "operationId": f"op-{index}",
        }
        grant = {"grant": f"job-1/g{index}.json", "expiresAt": "x"}
        return 0.1, {"index": index, "input": stored(index), "grant": grant, "started": started}

    done = ok(
        polled=[{"key": k, "status": "Succeeded", "resultBlob": f"r{k}"} for k in ("0", "1")], deferred=[]
    )
    context = FakeContext(
        input=job(2),
        answers=answers(
            prepare_inputs=each_item(prepared),
            poll_operations=done,
        ),
    )

    summary = context.run(run_analysis_job)

    assert "analysis_batch" not in context.names()
    # No save_batch: the job hands the batch's record to save_results itself.
    assert context.names() == ["prepare_inputs", "poll_operations", "save_results", "cleanup_job"]
    saved = context.calls_to("save_results")[0].request(steps.SAVE_RESULTS)
    assert [(line["index"], line["status"]) for line in saved.inputs] == [(0, "succeeded"), (1, "succeeded")]
    assert [(op.operation_id, op.result_blob) for op in saved.operations] == [("op-0", "r0"), ("op-1", "r1")]
    assert saved.batch_records == []
    assert summary["status"] == "succeeded"
    polling = next(status for status in context.statuses if "nextPollAt" in status)
    assert polling["mode"] == "per-document"  # the job's fields stay in its custom status
    assert polling["total"] == 2


# -- cancel ---------------------------------------------------------------------------------------


def cancel_at(seconds: float) -> dict[str, Any]:
    return {CANCEL_EVENT: (START + timedelta(seconds=seconds), {"reason": "test"})}


def canceled_batch(call: Call) -> Reply:
    """A batch that heard the cancel: one document had succeeded, the rest skipped (after 2 s)."""
    request = call.request(ANALYSIS_BATCH)
    total = len(request.documents)
    counts = {"total": total, "ingested": total, "failed": 0, "done": 1, "polls": total, "started": total}
    record = {"batch": request.batch, "counts": counts, "recordBlob": f"job-1/batch-{request.batch}.json"}
    return returns(record, after=2.0)


def test_a_canceled_job_waits_for_its_batches_writes_no_result_and_cleans_up() -> None:
    context = FakeContext(
        input=job(5),
        answers=answers(analysis_batch=canceled_batch, save_results=ok(resultBlob=None, summaryBlob="s")),
        events=cancel_at(1),
    )

    summary = context.run(run_analysis_job)

    assert [call.instance_id for call in context.calls_to("analysis_batch")] == [
        f"job-1:batch-{n}" for n in range(3)
    ]
    save = context.calls_to("save_results")[0]
    assert save.at == START + timedelta(seconds=2)  # the batches drained first
    assert save.request(steps.SAVE_RESULTS).index is False
    assert save.request(steps.SAVE_RESULTS).batch_records == [f"job-1/batch-{n}.json" for n in range(3)]
    assert context.names()[-1] == "cleanup_job"
    assert summary["status"] == "canceled"
    assert summary["error"]["code"] == "JobCanceled"
    assert summary["counts"] == {"total": 5, "succeeded": 3, "failed": 0, "skipped": 2}
    assert summary["resultBlob"] is None
    assert context.statuses[-1]["stage"] == "canceled"


def test_a_cancel_during_stage_one_starts_no_analysis() -> None:
    def prepare_canceled(call: Call) -> Reply:
        request = call.request(ANALYSIS_BATCH)
        if not request.prepare_only:
            return batch_done(call)
        error = {"code": "JobCanceled", "message": "The job was canceled by the user", "transient": False}
        documents = [
            {"index": d.index, "name": d.name, "status": "skipped", "error": error} for d in request.documents
        ]
        counts = {"total": len(documents)}
        return returns({"batch": request.batch, "counts": counts, "documents": documents}, after=2.0)

    context = FakeContext(
        input=job(3, analyzer=ANALYZER),
        answers=answers(analysis_batch=prepare_canceled, save_results=ok(resultBlob=None, summaryBlob="s")),
        events=cancel_at(1),
    )

    summary = context.run(run_analysis_job)

    analyse = [c for c in context.calls_to("analysis_batch") if not c.request(ANALYSIS_BATCH).prepare_only]
    # The batches after the cancel only record every input's fate: nothing is analysed.
    statuses = [d.status for call in analyse for d in call.request(ANALYSIS_BATCH).documents]
    assert statuses == ["skipped"] * 3
    assert [
        d.error["code"] for call in analyse for d in call.request(ANALYSIS_BATCH).documents if d.error
    ] == ["JobCanceled"] * 3
    assert context.calls_to("save_results")[0].request(steps.SAVE_RESULTS).index is False
    assert summary["status"] == "canceled"
    assert summary["error"]["code"] == "JobCanceled"


def test_a_job_of_one_batch_shares_its_cancel_with_the_batch() -> None:
    never = ok(after=0.05, polled=[{"key": "0", "status": "Running", "retryAfterSeconds": 5.0}], deferred=[])

    def prepared(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        started = {"key": "0", "operationLocation": "https://cu/op/0", "operationId": "op-0"}
        grant = {"grant": "job-1/g0.json", "expiresAt": "x"}
        return 0.1, {"index": 0, "input": stored(0), "grant": grant, "started": started}

    context = FakeContext(
        input=job(1),
        answers=answers(
            prepare_inputs=each_item(prepared),
            poll_operations=never,
            save_batch=ok(recordBlob="job-1/batch-0.json"),
            save_results=ok(resultBlob=None, summaryBlob="s"),
        ),
        events=cancel_at(3),
    )

    summary = context.run(run_analysis_job)

    assert "analysis_batch" not in context.names()
    assert all(call.at <= START + timedelta(seconds=3) for call in context.calls_to("poll_operations"))
    saved = context.calls_to("save_results")[0].request(steps.SAVE_RESULTS)
    assert [op.status for op in saved.operations] == ["Canceled"]  # the batch's record, handed over
    assert saved.inputs[0]["status"] == "skipped"
    assert saved.index is False
    assert not context.calls_to("save_batch")
    assert summary["status"] == "canceled"


def test_a_batch_stopped_by_a_refused_step_cancels_the_job_before_its_event_arrives() -> None:
    def stopped(call: Call) -> Reply:
        reply = batch_done(call)
        return returns({**reply.value, "canceled": True})

    context = FakeContext(
        input=job(3),
        answers=answers(analysis_batch=stopped, save_results=ok(resultBlob=None, summaryBlob="s")),
    )

    summary = context.run(run_analysis_job)

    assert context.calls_to("save_results")[0].request(steps.SAVE_RESULTS).index is False
    assert summary["status"] == "canceled"
