"""monitor_operation driven directly: polls, Retry-After and backoff timers, the deadline, polls that
fail without ending the wait, and continue_as_new every POLLS_PER_EXECUTION polls."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from core.contracts import activities as steps
from core.contracts.activities import GetOperationRequest
from core.contracts.orchestrations import MonitorRequest
from core.contracts.wire import to_wire
from core.jobs import PollingPolicy, to_iso
from orchestrators.monitor_operation import POLLS_PER_EXECUTION, run_monitor
from tests.orchestrators.fake_context import START, FakeContext, Reply, host_failure, ok, permanent

POLICY: PollingPolicy = {"initialIntervalSeconds": 1, "maxIntervalSeconds": 8, "deadlineSeconds": 60}


def request(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "job_id": "job-1",
        "key": "0",
        "kind": "analysis",
        "operation_location": "https://cu.example/operations/op-0",
        "polling": POLICY,
    }
    return to_wire(MonitorRequest(**{**fields, **changes}))


def running(retry_after: float | None = None) -> Reply:
    return ok(status="Running", retryAfterSeconds=retry_after)


def waits(context: FakeContext) -> list[float]:
    """Seconds between consecutive timers (the first from the start)."""
    moments = [START, *context.timers]
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(moments)]


def test_polls_until_the_operation_succeeds_honouring_retry_after() -> None:
    polls = [
        running(3),
        running(3),
        ok(status="Succeeded", retryAfterSeconds=None, resultBlob="job-1/op.json"),
    ]
    context = FakeContext(input=request(), answers={"get_operation": polls})

    output = context.run(run_monitor)

    assert output == {"key": "0", "status": "Succeeded", "polls": 3, "resultBlob": "job-1/op.json"}
    assert waits(context) == [3, 3]
    calls = context.calls_to("get_operation")
    assert [call.request(steps.GET_OPERATION) for call in calls] == 3 * [
        GetOperationRequest(
            job_id="job-1", key="0", kind="analysis", operation_location="https://cu.example/operations/op-0"
        )
    ]
    assert not any(call.with_retry for call in calls)  # the next round is the retry
    assert context.statuses[0] == {
        "stage": "polling",
        "operationStatus": "Running",
        "polls": 1,
        "nextPollAt": to_iso(START + timedelta(seconds=3)),
    }


def test_without_retry_after_the_wait_doubles_up_to_the_maximum() -> None:
    polls = [running() for _ in range(6)] + [ok(status="Failed", retryAfterSeconds=None)]
    context = FakeContext(input=request(), answers={"get_operation": polls})

    output = context.run(run_monitor)

    assert output == {"key": "0", "status": "Failed", "polls": 7}
    assert waits(context) == [1, 2, 4, 8, 8, 8]


def test_an_operation_that_fails_at_cu_reports_its_error() -> None:
    error = {"code": "InvalidContent", "message": "The file is corrupt", "transient": False}
    context = FakeContext(
        input=request(), answers={"get_operation": ok(status="Failed", retryAfterSeconds=None, error=error)}
    )

    assert context.run(run_monitor) == {"key": "0", "status": "Failed", "polls": 1, "error": error}


def test_a_permanent_error_reading_the_operation_ends_the_wait() -> None:
    context = FakeContext(input=request(), answers={"get_operation": permanent("GrantNotFound", "no grant")})

    assert context.run(run_monitor) == {
        "key": "0",
        "status": "Failed",
        "polls": 1,
        "error": {"code": "GrantNotFound", "message": "no grant", "transient": False},
    }


def test_a_poll_that_fails_does_not_end_the_wait() -> None:
    polls = [
        running(2),
        host_failure("TransientError: storage did not answer"),
        ok(status="Succeeded", retryAfterSeconds=None),
    ]
    context = FakeContext(input=request(), answers={"get_operation": polls})

    output = context.run(run_monitor)

    assert output == {"key": "0", "status": "Succeeded", "polls": 3}
    assert context.statuses[1]["operationStatus"] == "Unknown"
    assert context.statuses[1]["pollError"] == (
        "Activity function 'get_operation' failed: TransientError: storage did not answer"
    )
    assert waits(context) == [2, 2]  # the failed poll backs off (second poll: 2 s)


def test_the_deadline_ends_the_wait_and_caps_the_last_timer() -> None:
    policy: PollingPolicy = {**POLICY, "deadlineSeconds": 10}
    context = FakeContext(input=request(polling=policy), answers={"get_operation": running(4)})

    output = context.run(run_monitor)

    assert output["status"] == "TimedOut"
    assert output["polls"] == 4
    assert output["error"] == {
        "code": "DeadlineExceeded",
        "message": "The analysis operation was still Running after 10 s (ANALYSIS_DEADLINE_SECONDS); "
        "it was abandoned.",
        "transient": False,
    }
    assert waits(context) == [4, 4, 2]  # the last timer fires at the deadline, not after it
    assert context.now == START + timedelta(seconds=10)


def test_polls_failing_until_the_deadline_say_why() -> None:
    policy: PollingPolicy = {**POLICY, "deadlineSeconds": 3}
    context = FakeContext(
        input=request(polling=policy), answers={"get_operation": host_failure("TransientError: CU is down")}
    )

    output = context.run(run_monitor)

    assert output["status"] == "TimedOut"
    assert output["error"]["message"] == (
        "The analysis operation could not be polled until the deadline of 3 s (ANALYSIS_DEADLINE_SECONDS); "
        "the last poll failed: Activity function 'get_operation' failed: TransientError: CU is down"
    )


def test_continues_as_new_every_polls_per_execution_polls() -> None:
    policy: PollingPolicy = {**POLICY, "deadlineSeconds": 3600}
    context = FakeContext(input=request(polling=policy), answers={"get_operation": running(1)})

    output = context.run(run_monitor)

    assert output is None
    assert len(context.calls) == POLLS_PER_EXECUTION
    assert context.continued_as_new == {
        **request(polling=policy),
        "deadlineAt": to_iso(START + timedelta(seconds=3600)),
        "polls": POLLS_PER_EXECUTION,
    }


def test_a_continued_execution_keeps_the_first_deadline_and_count() -> None:
    deadline = START + timedelta(seconds=5)
    carried = request(deadline_at=to_iso(deadline), polls=POLLS_PER_EXECUTION)
    context = FakeContext(input=carried, answers={"get_operation": running()})

    output = context.run(run_monitor)

    assert output["status"] == "TimedOut"
    assert output["polls"] == POLLS_PER_EXECUTION + 2  # one now, one at the deadline
    assert context.timers == [deadline]  # backoff at the maximum (8 s), capped by the carried deadline


def test_a_failed_operation_keeps_cu_s_inner_error() -> None:
    error = {
        "code": "InvalidRequest",
        "message": "Invalid Request. (ContentSourceNotAccessible: The URL cannot be read)",
        "transient": False,
        "innerError": {"code": "ContentSourceNotAccessible", "message": "The URL cannot be read"},
    }
    context = FakeContext(
        input=request(), answers={"get_operation": ok(status="Failed", retryAfterSeconds=None, error=error)}
    )

    output = context.run(run_monitor)

    assert (output["status"], output["error"]) == ("Failed", error)
