"""orchestrators.tasks: one Outcome for every way a call can end, and the drain pattern of settle."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest

from core.contracts import activities as steps
from core.contracts.activities import CleanupJobRequest, CleanupJobResult
from orchestrators.tasks import (
    Failed,
    HostGaveUp,
    Outcome,
    Succeeded,
    call_activity,
    raise_if_host_gave_up,
    settle,
    wait,
)
from tests.orchestrators.fake_context import START, FakeContext, host_failure, ok, permanent, returns


def cleanup_calls(context: FakeContext, count: int) -> list[Any]:
    return [call_activity(context, steps.CLEANUP_JOB, CleanupJobRequest(f"job-{i}")) for i in range(count)]


def test_every_way_a_call_ends_is_one_outcome() -> None:
    replies = [ok(deleted=2), permanent("InvalidJobId", "bad id"), host_failure("TransientError: busy"), ok()]
    context = FakeContext(input=None, answers={"cleanup_job": replies})

    def orchestrator(ctx: Any) -> Generator[Any, Any, list[Outcome[CleanupJobResult]]]:
        outcomes = []
        for pending in cleanup_calls(ctx, 4):
            outcomes.append((yield from wait(ctx, pending)))
        return outcomes

    assert context.run(orchestrator, as_json=False) == [
        Succeeded(CleanupJobResult(deleted=2)),
        Failed({"code": "InvalidJobId", "message": "bad id", "transient": False}),
        Failed(
            {
                "code": "ActivityFailed",
                "message": "Activity function 'cleanup_job' failed: TransientError: busy",
                "transient": True,
            }
        ),
        Failed(
            {
                "code": "InvalidResult",
                "message": "CleanupJobResult does not match its contract: 'deleted' is missing",
                "transient": False,
            }
        ),
    ]
    assert [call.input for call in context.calls] == [{"jobId": f"job-{i}"} for i in range(4)]
    assert all(call.with_retry for call in context.calls)


def test_settle_waits_for_every_task_after_task_all_fails_fast() -> None:
    # The second fails first (at 1 s); the others finish at 2 and 3 s and must still be reported.
    replies = [ok(deleted=1, after=2), host_failure("boom", after=1), ok(deleted=3, after=3)]
    context = FakeContext(input=None, answers={"cleanup_job": replies})

    def orchestrator(ctx: Any) -> Generator[Any, Any, list[Outcome[CleanupJobResult]]]:
        return (yield from settle(ctx, cleanup_calls(ctx, 3)))

    outcomes = context.run(orchestrator, as_json=False)

    assert outcomes[0] == Succeeded(CleanupJobResult(deleted=1))
    assert isinstance(outcomes[1], Failed)
    assert outcomes[1].error["message"] == "Activity function 'cleanup_job' failed: boom"
    assert outcomes[2] == Succeeded(CleanupJobResult(deleted=3))
    assert len(context.waves) == 1  # draining scheduled nothing new
    assert (context.now - context.calls[0].at).total_seconds() == 3


def test_settle_of_nothing_is_an_empty_list() -> None:
    context = FakeContext(input=None)

    def orchestrator(ctx: Any) -> Generator[Any, Any, int]:
        return len((yield from settle(ctx, [])))

    assert context.run(orchestrator) == 0
    assert context.calls == []


def test_a_failure_the_host_gave_up_on_can_fail_the_orchestration() -> None:
    reported: Failed = Failed({"code": "X", "message": "permanent", "transient": False})
    assert raise_if_host_gave_up(reported) is reported
    with pytest.raises(HostGaveUp, match="storage down"):
        raise_if_host_gave_up(
            Failed({"code": "ActivityFailed", "message": "storage down", "transient": True})
        )


def test_the_fake_keeps_the_sdk_semantics() -> None:
    """task_all([]) is None, task_any returns the first to complete even if it failed, a yielded
    task is scheduled once, timers move the clock."""
    context = FakeContext(input=None, answers={"a": returns(1, after=5), "b": host_failure("no", after=2)})

    def orchestrator(ctx: Any) -> Generator[Any, Any, dict[str, Any]]:
        nothing = yield ctx.task_all([])
        a, b = ctx.call_activity("a"), ctx.call_activity("b")
        first = yield ctx.task_any([a, b])
        first_failed = isinstance(first.result, Exception)
        value = yield a  # already scheduled: nothing new
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=10))
        return {"nothing": nothing, "firstIsB": first is b, "failed": first_failed, "a": value}

    assert context.run(orchestrator) == {"nothing": None, "firstIsB": True, "failed": True, "a": 1}
    assert [len(wave) for wave in context.waves] == [2]
    assert context.timers == [START + timedelta(seconds=15)]  # a waited 5 s, then the 10 s timer
    assert context.now == START + timedelta(seconds=15)
