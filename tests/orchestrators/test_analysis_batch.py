"""analysis_batch driven directly: per-document pipelines, one poll per round honouring each
operation's Retry-After, the pacer's deferrals, poll errors and the deadline, continue-as-new,
prepare-only batches, the batch's record and its cancel. The fake context also checks that no yield would be
held back by the Durable extension (one live timer, cancelled before new work)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from core.cancellation import CANCEL_EVENT
from core.contracts import activities as steps
from core.contracts.activities import OperationRecord
from core.contracts.orchestrations import BatchDocument, BatchRequest
from core.contracts.wire import to_wire
from core.jobs import PollingPolicy, to_iso
from orchestrators.analysis_batch import (
    PREPARE_ATTEMPTS,
    PREPARE_RETRY_SECONDS,
    ROUNDS_PER_EXECUTION,
    run_analysis_batch,
)
from tests.orchestrators.fake_context import START, Call, FakeContext, Reply, host_failure, ok, permanent

POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}


def request(count: int = 3, **changes: Any) -> dict[str, Any]:
    documents = [
        BatchDocument(
            index=n,
            name=f"{n}.pdf",
            status="pending",
            source={"url": f"https://f.example/{n}.pdf", "name": f"{n}.pdf"},
        )
        for n in range(count)
    ]
    fields: dict[str, Any] = {
        "job_id": "job-1",
        "batch": 0,
        "analyzer_id": "prebuilt-document",
        "api_version": "2025-11-01",
        "model_deployments": {},
        "polling": POLICY,
        "documents": documents,
        **changes,
    }
    return to_wire(BatchRequest(**fields))


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


def started(key: str, attempts: int = 1) -> dict[str, Any]:
    return {
        "key": key,
        "operationLocation": f"https://cu.example/op/{key}",
        "operationId": f"op-{key}",
        "attempts": attempts,
    }


# What ``prepare_inputs`` answers for one document: (seconds it takes, its item in the result).
ItemAnswer = Callable[[int, bool], tuple[float, dict[str, Any]]]


def each_item(answer: ItemAnswer) -> Callable[[Call], Reply]:
    """``prepare_inputs`` answered document by document; the call ends with its slowest document."""

    def reply(call: Call) -> Reply:
        analyze = call.input.get("analyze") is not None
        answered = [answer(item["index"], analyze) for item in call.input["items"]]
        return ok(after=max(after for after, _ in answered), items=[item for _, item in answered])

    return reply


def ready(index: int, **extra: Any) -> dict[str, Any]:
    """A document ingested and granted (``extra``: what happened to its analysis)."""
    grant = {"grant": f"job-1/g{index}.json", "expiresAt": "x"}
    return {"index": index, "input": stored(index), "grant": grant, **extra}


def begun(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
    """Ingested, granted and started; document n takes (n + 1) * 0.1 s."""
    extra = {"started": started(str(index))} if analyze else {}
    return 0.1 * (index + 1), ready(index, **extra)


prepared_and_begun = each_item(begun)


def items_of(call: Call) -> list[int]:
    return [item["index"] for item in call.input["items"]]


class Operations:
    """CU as the polls see it: each operation succeeds on its ``polls_to_finish``-th poll."""

    def __init__(self, polls_to_finish: int = 2, retry_after: float | None = 1.0) -> None:
        self.polls_to_finish = polls_to_finish
        self.retry_after = retry_after
        self.polls: dict[str, int] = {}

    def __call__(self, call: Call) -> Reply:
        polled = []
        for item in call.input["items"]:
            count = self.polls[item["key"]] = self.polls.get(item["key"], 0) + 1
            if count >= self.polls_to_finish:
                polled.append(
                    {"key": item["key"], "status": "Succeeded", "resultBlob": f"r-{item['key']}", "pages": 3}
                )
            else:
                polled.append(
                    {"key": item["key"], "status": "Running", "retryAfterSeconds": self.retry_after}
                )
        return ok(after=0.05, polled=polled, deferred=[])


def answers(**overrides: Any) -> dict[str, Any]:
    default = {
        "prepare_inputs": prepared_and_begun,
        "poll_operations": Operations(),
        "save_batch": ok(recordBlob="job-1/batch-0.json"),
    }
    return {**default, **overrides}


def test_documents_are_prepared_and_begun_a_few_per_activity_all_in_the_first_wave() -> None:
    context = FakeContext(input=request(3), answers=answers())

    result = context.run(run_analysis_batch)

    first = context.waves[0]
    assert [call.name for call in first] == ["prepare_inputs"]
    assert items_of(first[0]) == [0, 1, 2]
    analyze = first[0].request(steps.PREPARE_INPUTS).analyze
    assert analyze is not None
    assert analyze.analyzer_id == "prebuilt-document"
    assert "begin_analyses" not in context.names()
    assert result["counts"] == {"total": 3, "ingested": 3, "failed": 0, "done": 3, "polls": 6, "started": 3}
    assert result["recordBlob"] == "job-1/batch-0.json"
    (save,) = context.calls_to("save_batch")
    record = save.request(steps.SAVE_BATCH)
    assert [line["status"] for line in record.inputs] == ["succeeded"] * 3
    assert [op.operation_id for op in record.operations] == ["op-0", "op-1", "op-2"]
    assert [op.result_blob for op in record.operations] == ["r-0", "r-1", "r-2"]


def test_a_full_batch_is_prepared_in_even_calls_of_at_most_ten_documents() -> None:
    context = FakeContext(input=request(23), answers=answers())

    result = context.run(run_analysis_batch)

    first = context.waves[0]
    assert [len(items_of(call)) for call in first] == [8, 8, 7]
    assert sorted(index for call in first for index in items_of(call)) == list(range(23))
    assert result["counts"]["done"] == 23


def test_one_poll_round_covers_every_operation_due_and_waits_for_retry_after() -> None:
    context = FakeContext(input=request(3), answers=answers())

    context.run(run_analysis_batch)

    polls = context.calls_to("poll_operations")
    # Begun in one call that ends at 0.3 s; the first polls are due 1 s after: one round.
    assert [[item["key"] for item in call.input["items"]] for call in polls] == [["0", "1", "2"]] * 2
    assert polls[0].at == START + timedelta(seconds=1.3)
    assert polls[1].at - polls[0].at >= timedelta(seconds=1)  # CU's Retry-After: 1
    assert all(call.with_retry is False for call in polls)  # the next round is the retry


def test_no_timer_wakes_the_batch_for_polls_while_a_poll_is_in_flight() -> None:
    def prepare(call: Call) -> Reply:
        reply = prepared_and_begun(call)
        return Reply(reply.value, after=0.1 if 0 in items_of(call) else 1.0)

    slow = Operations(polls_to_finish=1)
    context = FakeContext(
        input=request(12),
        answers=answers(prepare_inputs=prepare, poll_operations=lambda call: slow_reply(slow(call), 3.0)),
    )

    result = context.run(run_analysis_batch)

    # Documents 0-5 (due at 1.1 s) are polled at 1.0 s, when the second call answers, and that
    # poll takes until 4.0 s; 6-11 fell due at 2.0 s meanwhile and are polled when it answers,
    # with no timer set for them in between.
    polls = context.calls_to("poll_operations")
    assert [(call.at - START, len(call.input["items"])) for call in polls] == [
        (timedelta(seconds=1.0), 6),
        (timedelta(seconds=4.0), 6),
    ]
    assert START + timedelta(seconds=2) not in context.timers
    assert result["counts"]["done"] == 12


def slow_reply(reply: Reply, after: float) -> Reply:
    return Reply(reply.value, after=after)


def test_an_operation_polls_on_its_own_schedule() -> None:
    operations = Operations(polls_to_finish=3, retry_after=None)  # the backoff: 1 s, then 2 s
    context = FakeContext(input=request(1), answers=answers(poll_operations=operations))

    context.run(run_analysis_batch)

    times = [call.at - START for call in context.calls_to("poll_operations")]
    assert [round(t.total_seconds(), 2) for t in times] == [1.1, 2.15, 4.2]


def test_pages_counted_by_cu_are_passed_on_to_the_pacer() -> None:
    context = FakeContext(input=request(2), answers=answers(poll_operations=Operations(polls_to_finish=1)))

    context.run(run_analysis_batch)

    # Each analysis counted 3 pages; the pacer charged 1 at the start: the batch owes 4 more, but
    # no later call carries them (nothing else to do), so the next execution would.
    assert all(call.input["extraPages"] == 0 for call in context.calls_to("poll_operations"))


def test_begins_the_pacer_put_off_start_when_it_said() -> None:
    retry_at = to_iso(START + timedelta(seconds=5))

    def deferred(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        return 0.1, ready(index, retryAt=retry_at)

    begin = ok(after=0.1, started=[started("0"), started("1")], failed=[], deferred=[])
    context = FakeContext(
        input=request(2), answers=answers(prepare_inputs=each_item(deferred), begin_analyses=begin)
    )

    result = context.run(run_analysis_batch)

    (call,) = context.calls_to("begin_analyses")
    assert call.at == START + timedelta(seconds=5)
    assert [item["key"] for item in call.input["items"]] == ["0", "1"]
    assert [item["grant"] for item in call.input["items"]] == ["job-1/g0.json", "job-1/g1.json"]
    assert result["counts"]["done"] == 2


def test_polls_the_pacer_put_off_run_when_it_said() -> None:
    retry_at = to_iso(START + timedelta(seconds=4))
    replies = [
        ok(after=0.05, polled=[], deferred=["0"], retryAt=retry_at),
        ok(after=0.05, polled=[{"key": "0", "status": "Succeeded", "resultBlob": "r"}], deferred=[]),
    ]
    context = FakeContext(input=request(1), answers=answers(poll_operations=replies))

    context.run(run_analysis_batch)

    assert [call.at - START for call in context.calls_to("poll_operations")] == [
        timedelta(seconds=1.1),
        timedelta(seconds=4),
    ]


def test_failures_are_each_documents_own() -> None:
    def prepare(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        if index == 0:
            return 0.0, {"index": 0, "error": {"code": "NotFound", "message": "gone", "transient": False}}
        if index == 1:
            error = {"code": "AnalyzerNotFound", "message": "no analyzer", "transient": False}
            return 0.0, ready(1, beginError=error)
        return begun(index, analyze)

    failed = ok(
        after=0.05,
        polled=[
            {"key": "2", "status": "Failed", "error": {"code": "Bad", "message": "x", "transient": False}}
        ],
        deferred=[],
    )
    context = FakeContext(
        input=request(3), answers=answers(prepare_inputs=each_item(prepare), poll_operations=failed)
    )

    result = context.run(run_analysis_batch)

    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert [(line["status"], line["error"]["code"]) for line in record.inputs] == [
        ("failed", "NotFound"),
        ("failed", "AnalyzerNotFound"),
        ("failed", "Bad"),
    ]
    assert "blob" in record.inputs[1]
    assert "blob" not in record.inputs[0]
    assert [op.status for op in record.operations] == ["Failed", "Failed", "Failed"]
    assert result["counts"]["failed"] == 3


def test_a_document_whose_preparation_failed_for_now_is_prepared_again_alone() -> None:
    tries: list[int] = []

    def flaky(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        if index == 1:
            tries.append(index)
            if len(tries) < 3:
                error = {"code": "ServiceUnavailable", "message": "storage is busy", "transient": True}
                return 0.1, {"index": 1, "error": error}
        return begun(index, analyze)

    context = FakeContext(input=request(3), answers=answers(prepare_inputs=each_item(flaky)))

    result = context.run(run_analysis_batch)

    prepares = context.calls_to("prepare_inputs")
    assert [items_of(call) for call in prepares] == [[0, 1, 2], [1], [1]]
    step = timedelta(seconds=PREPARE_RETRY_SECONDS)
    assert prepares[1].at >= prepares[0].at + step
    assert prepares[2].at >= prepares[1].at + step
    assert result["counts"]["done"] == 3


def test_a_document_that_keeps_failing_for_now_fails_after_the_hosts_number_of_attempts() -> None:
    def down(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        return 0.0, {"index": index, "error": {"code": "Timeout", "message": "no", "transient": True}}

    context = FakeContext(input=request(1), answers=answers(prepare_inputs=each_item(down)))

    result = context.run(run_analysis_batch)

    assert len(context.calls_to("prepare_inputs")) == PREPARE_ATTEMPTS
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert [(line["status"], line["error"]["code"]) for line in record.inputs] == [("failed", "Timeout")]
    assert result["counts"]["failed"] == 1


def test_a_prepare_call_the_host_gave_up_on_fails_its_documents_only() -> None:
    def answer(call: Call) -> Reply:
        if 0 in items_of(call):
            return host_failure("worker crashed")
        return prepared_and_begun(call)

    context = FakeContext(input=request(12), answers=answers(prepare_inputs=answer))

    result = context.run(run_analysis_batch)

    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert [line["status"] for line in record.inputs] == ["failed"] * 6 + ["succeeded"] * 6
    assert result["counts"]["done"] == 6


def test_a_poll_that_failed_is_repeated_until_the_deadline() -> None:
    policy: PollingPolicy = {**POLICY, "deadlineSeconds": 5}
    context = FakeContext(
        input=request(1, polling=policy),
        answers=answers(poll_operations=host_failure("ConnectError: CU is down")),
    )

    context.run(run_analysis_batch)

    polls = context.calls_to("poll_operations")
    assert len(polls) >= 3
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    (line,) = record.inputs
    assert line["error"]["code"] == "DeadlineExceeded"
    assert "could not be polled until the deadline of 5 s" in line["error"]["message"]
    assert "CU is down" in line["error"]["message"]
    assert record.operations[0].status == "TimedOut"
    assert "pollError" in context.statuses[-2]


def test_a_long_wait_continues_as_new_with_every_documents_state() -> None:
    never = Operations(polls_to_finish=10**6, retry_after=1.0)
    policy: PollingPolicy = {**POLICY, "deadlineSeconds": 3600}
    context = FakeContext(input=request(2, polling=policy), answers=answers(poll_operations=never))

    assert context.run(run_analysis_batch) is None

    carried = context.continued_as_new
    assert carried["rounds"] == ROUNDS_PER_EXECUTION
    assert [(d["status"], d["operationId"], d["polls"]) for d in carried["documents"]] == [
        ("analyzing", "op-0", ROUNDS_PER_EXECUTION),
        ("analyzing", "op-1", ROUNDS_PER_EXECUTION),
    ]
    assert all("source" not in d for d in carried["documents"])  # history carries no more than needed


def test_a_prepare_only_batch_returns_its_prepared_documents() -> None:
    context = FakeContext(input=request(2, prepare_only=True), answers=answers())

    result = context.run(run_analysis_batch)

    assert all(call.input.get("analyze") is None for call in context.calls_to("prepare_inputs"))
    assert context.names() == ["prepare_inputs"]  # no record: the job goes on with them
    assert [(d["status"], d["grant"]) for d in result["documents"]] == [
        ("prepared", "job-1/g0.json"),
        ("prepared", "job-1/g1.json"),
    ]


def test_skipped_documents_are_only_recorded() -> None:
    documents = [BatchDocument(index=0, name="0.pdf", status="skipped")]
    context = FakeContext(input=request(0, documents=documents), answers=answers())

    result = context.run(run_analysis_batch)

    assert context.names() == ["save_batch"]
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert record.inputs == [{"index": 0, "name": "0.pdf", "status": "skipped"}]
    # Every input has its entry in the result index, this one as never analysed.
    assert record.operations == [
        OperationRecord(key="0", inputs=["0.pdf"], operation_id=None, status="Skipped")
    ]
    assert result["counts"]["total"] == 1


def test_the_custom_status_counts_and_shows_the_next_poll() -> None:
    context = FakeContext(input=request(3), answers=answers())

    context.run(run_analysis_batch)

    polling = [status for status in context.statuses if status.get("nextPollAt")]
    assert polling, context.statuses
    assert set(polling[0]) == {
        "stage",
        "total",
        "ingested",
        "failed",
        "analyzing",
        "done",
        "polls",
        "nextPollAt",
    }
    assert context.statuses[-1]["done"] == 3


# -- cancel ---------------------------------------------------------------------------------------


def cancel_at(seconds: float) -> dict[str, Any]:
    return {CANCEL_EVENT: (START + timedelta(seconds=seconds), {"reason": "test"})}


def refused(call: Call) -> Reply:
    return permanent("JobCanceled", "Job job-1 was canceled: prepare_inputs did not start")


def test_a_cancel_while_polling_stops_the_polls_and_records_running_operations_canceled() -> None:
    never = Operations(polls_to_finish=10**6, retry_after=5.0)
    context = FakeContext(input=request(3), answers=answers(poll_operations=never), events=cancel_at(7))

    result = context.run(run_analysis_batch)

    assert all(call.at <= START + timedelta(seconds=7) for call in context.calls_to("poll_operations"))
    assert context.names()[-1] == "save_batch"
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert {(line["status"], line["error"]["code"]) for line in record.inputs} == {("skipped", "JobCanceled")}
    assert [(op.status, op.operation_id) for op in record.operations] == [
        ("Canceled", "op-0"),
        ("Canceled", "op-1"),
        ("Canceled", "op-2"),
    ]
    assert result["counts"]["done"] == 0
    # The batch ended at the cancel, not at its next poll: its timer was cancelled.
    assert context.now < START + timedelta(seconds=8)


def test_a_cancel_keeps_what_succeeded_and_drains_what_is_in_flight() -> None:
    def prepare(call: Call) -> Reply:
        if 0 in items_of(call):  # documents 0-5: started by 0.6 s, polled to their end at 1.6 s
            return prepared_and_begun(call)
        return permanent("JobCanceled", "refused", after=2.0)  # queued until after the cancel

    quick = Operations(polls_to_finish=1)
    context = FakeContext(
        input=request(12),
        answers=answers(prepare_inputs=prepare, poll_operations=quick),
        events=cancel_at(1.65),
    )

    result = context.run(run_analysis_batch)

    assert context.names() == ["prepare_inputs"] * 2 + ["poll_operations", "save_batch"]
    (save,) = context.calls_to("save_batch")
    assert save.at == START + timedelta(seconds=2)  # after the in-flight steps drained
    record = save.request(steps.SAVE_BATCH)
    assert [line["status"] for line in record.inputs] == ["succeeded"] * 6 + ["skipped"] * 6
    assert [op.status for op in record.operations] == ["Succeeded"] * 6 + ["Skipped"] * 6
    assert result["counts"]["done"] == 6


def test_a_cancel_one_document_meets_stops_the_batch() -> None:
    def prepare(index: int, analyze: bool) -> tuple[float, dict[str, Any]]:
        if index == 0:
            return begun(index, analyze)
        error = {"code": "JobCanceled", "message": "the analysis did not start", "transient": False}
        return 0.2, {"index": index, "error": error}

    context = FakeContext(input=request(2), answers=answers(prepare_inputs=each_item(prepare)))

    context.run(run_analysis_batch)

    assert context.names() == ["prepare_inputs", "save_batch"]  # no poll: the job was canceled
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert [(op.status, op.operation_id) for op in record.operations] == [
        ("Canceled", "op-0"),
        ("Skipped", None),
    ]


def test_a_refused_step_stops_a_batch_that_missed_the_cancel_event() -> None:
    context = FakeContext(input=request(2), answers=answers(prepare_inputs=refused))

    context.run(run_analysis_batch)

    assert context.names() == ["prepare_inputs", "save_batch"]
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert {(line["status"], line["error"]["code"]) for line in record.inputs} == {("skipped", "JobCanceled")}


def test_a_refused_poll_stops_the_polling() -> None:
    context = FakeContext(
        input=request(2), answers=answers(poll_operations=permanent("JobCanceled", "refused"))
    )

    context.run(run_analysis_batch)

    assert len(context.calls_to("poll_operations")) == 1
    record = context.calls_to("save_batch")[0].request(steps.SAVE_BATCH)
    assert [op.status for op in record.operations] == ["Canceled", "Canceled"]


def test_the_cancel_event_is_first_yielded_beside_the_batch_timer() -> None:
    """The extension waits on a yield's new tasks: the event must never be the only one."""
    context = FakeContext(input=request(1), answers=answers())
    seen: list[Any] = []
    original = context.task_any

    def recording(tasks: list[Any]) -> Any:
        seen.append(tasks)
        return original(tasks)

    context.task_any = recording  # type: ignore[method-assign,assignment]

    context.run(run_analysis_batch)

    first = seen[0]
    kinds = [type(task).__name__ for task in first]
    assert {"EventTask", "TimerTask", "CallTask"} <= set(kinds)
